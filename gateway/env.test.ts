import { describe, expect, it } from "vitest";
import { EnvError } from "../lib/env";
import { gatewayEnv } from "./env";
import { redisTargetOf } from "./redis";

const base = {
  DATABASE_URL: "postgres://postgres@127.0.0.1:5432/app",
  LITELLM_MASTER_KEY: "sk-test-master-key",
};

function problems(extra: Record<string, string>): string[] {
  try {
    gatewayEnv({ ...base, ...extra });
    return [];
  } catch (err) {
    if (err instanceof EnvError) return err.problems;
    throw err;
  }
}

describe("the gateway's Redis settings", () => {
  it("REDIS_SENTINEL_NODES and REDIS_CLUSTER_NODES take host:port lists and LiteLLM's JSON forms, with the default ports", () => {
    const listed = redisTargetOf(gatewayEnv({ ...base, REDIS_SENTINEL_NODES: "10.0.0.1:26380, sentinel-b", REDIS_SERVICE_NAME: "cache", REDIS_PASSWORD: "p" }));
    expect(listed).toEqual({
      kind: "sentinel",
      sentinels: [
        { host: "10.0.0.1", port: 26380 },
        { host: "sentinel-b", port: 26379 },
      ],
      name: "cache",
      password: "p",
      username: undefined,
      sentinelPassword: undefined,
    });
    const json = redisTargetOf(gatewayEnv({ ...base, REDIS_SENTINEL_NODES: '[["10.0.0.2", 26381]]' }));
    expect(json).toMatchObject({ kind: "sentinel", sentinels: [{ host: "10.0.0.2", port: 26381 }], name: "mymaster" });
    expect(redisTargetOf(gatewayEnv({ ...base, REDIS_URL: "redis://127.0.0.1:6379" }))).toEqual({ kind: "url", url: "redis://127.0.0.1:6379" });
    expect(redisTargetOf(gatewayEnv(base))).toBeUndefined();
    expect(redisTargetOf(gatewayEnv({ ...base, REDIS_CLUSTER_NODES: '[{"host": "10.0.0.3", "port": 7000}, {"host": "10.0.0.4"}]' }))).toMatchObject({
      kind: "cluster",
      nodes: [
        { host: "10.0.0.3", port: 7000 },
        { host: "10.0.0.4", port: 6379 },
      ],
    });
  });

  it("a node list that names no usable node, or two ways to Redis at once, stops start-up naming the variable", () => {
    expect(problems({ REDIS_SENTINEL_NODES: "host:port" })).toEqual([expect.stringMatching(/^REDIS_SENTINEL_NODES: /)]);
    expect(problems({ REDIS_SENTINEL_NODES: "[not json" })).toEqual([expect.stringMatching(/^REDIS_SENTINEL_NODES: /)]);
    expect(problems({ REDIS_CLUSTER_NODES: "a:1", REDIS_URL: "redis://127.0.0.1:6379" })).toEqual([
      expect.stringMatching(/^REDIS_CLUSTER_NODES: set one of .*, not REDIS_URL and REDIS_CLUSTER_NODES$/),
    ]);
    expect(problems({ REDIS_SENTINEL_NODES: "a:1", REDIS_URL: "redis://127.0.0.1:6379" })).toEqual([
      expect.stringMatching(/^REDIS_SENTINEL_NODES: set one of REDIS_URL/),
    ]);
  });
});
