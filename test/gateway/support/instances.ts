import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { createDb, type Sql } from "../../../lib/db/client";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "../../../lib/db/embedded";
import { freePort, masterKey, startGateway, waitFor, type RunningGateway } from "./gateway";
import { chatBody } from "./harness";
import { startUpstream, testConfig, upstreamKey, type FakeUpstream } from "./upstream";

/**
 * Several real gateway processes sharing one Postgres (one embedded PGlite, served on a local
 * port) and one Redis, for the tests of limits and budgets that must hold across instances.
 */

export const defaultTestRedisUrl = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/** True when a Redis answers PING at the URL within a second. */
export async function redisAnswers(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 1_000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on("error", () => {});
  try {
    await client.connect();
    return (await client.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** A key prefix no other test run uses, so parallel runs on one Redis never collide. */
export function testPrefix(): string {
  return `creditgate-test-${randomBytes(4).toString("hex")}:`;
}

export interface Instances {
  gateways: RunningGateway[];
  postgres: EmbeddedPostgres;
  upstream: FakeUpstream;
  sql: Sql;
  redis: Redis;
  prefix: string;
  admin(gateway: RunningGateway, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  newKey(fields: Record<string, unknown>): Promise<{ key: string; token: string }>;
  chat(gateway: RunningGateway, key: string, model?: string): Promise<{ status: number; body: unknown }>;
  /** The caller's own /key/info on the public listener: loads the key into that instance. */
  keyInfo(gateway: RunningGateway, key: string): Promise<{ status: number; body: unknown }>;
  /** Starts one more instance with the same config, Postgres and Redis (stopped by `stop`). */
  addGateway(): Promise<RunningGateway>;
  stop(): Promise<void>;
}

async function answer(res: Response) {
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as unknown };
  } catch {
    return { status: res.status, body: text as unknown };
  }
}

export async function startInstances(options: {
  redisUrl: string;
  count?: number;
  /** More model_list entries and top-level sections for every instance's config (testConfig). */
  models?: (upstreamUrl: string) => string;
  extra?: string;
}): Promise<Instances> {
  const prefix = testPrefix();
  const postgres = await startEmbeddedPostgres();
  const upstream = await startUpstream();
  const gateways: RunningGateway[] = [];
  const start = () =>
    startGateway({
      config: testConfig(upstream.url, options.extra ?? "", options.models?.(upstream.url) ?? ""),
      databaseUrl: postgres.url,
      env: { TEST_UPSTREAM_KEY: upstreamKey, REDIS_URL: options.redisUrl, REDIS_KEY_PREFIX: prefix, LOG_LEVEL: "info" },
    });
  // One after the other: the first applies the gateway's migrations to the shared database.
  for (let index = 0; index < (options.count ?? 2); index += 1) gateways.push(await start());
  const sql = createDb(postgres.url, { max: 1 });
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 1 });
  redis.on("error", () => {});
  const instances: Instances = {
    gateways,
    postgres,
    upstream,
    sql,
    redis,
    prefix,
    async admin(gateway, path, body) {
      const res = await fetch(`${gateway.adminUrl}${path}`, {
        method: body === undefined ? "GET" : "POST",
        headers: { authorization: `Bearer ${masterKey}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return answer(res);
    },
    async newKey(fields) {
      const first = gateways[0];
      if (!first) throw new Error("no gateway");
      const res = await instances.admin(first, "/key/generate", fields);
      if (res.status !== 200) throw new Error(`key/generate failed: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body as { key: string; token: string };
    },
    async chat(gateway, key, model = "gpt-test") {
      const res = await fetch(`${gateway.publicUrl}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify(chatBody(model, { max_tokens: 20 })),
      });
      return answer(res);
    },
    async keyInfo(gateway, key) {
      return answer(await fetch(`${gateway.publicUrl}/key/info`, { headers: { authorization: `Bearer ${key}` } }));
    },
    async addGateway() {
      const gateway = await start();
      gateways.push(gateway);
      return gateway;
    },
    async stop() {
      for (const gateway of gateways) await gateway.stop();
      const keys = await redis.keys(`${prefix}*`).catch(() => []);
      if (keys.length > 0) await redis.del(...keys).catch(() => 0);
      redis.disconnect();
      await sql.end({ timeout: 1 });
      await upstream.close();
      await postgres.stop();
    },
  };
  return instances;
}

/** What /health/readiness says about sharing: "connected", "unavailable" or "off". */
export async function sharingOf(gateway: RunningGateway): Promise<string> {
  const res = await fetch(`${gateway.publicUrl}/health/readiness`);
  return ((await res.json()) as { shared_limits: string }).shared_limits;
}

export async function waitForSharing(gateways: RunningGateway[], state: string): Promise<void> {
  for (const gateway of gateways) {
    await waitFor(async () => ((await sharingOf(gateway)) === state ? true : undefined), 20_000, `sharing ${state}`);
  }
}

/** A throwaway redis-server of our own (no persistence), to stop and start during a test. */
export interface OwnRedis {
  url: string;
  port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function startOwnRedis(options: { password?: string } = {}): Promise<OwnRedis> {
  const port = await freePort();
  const auth = options.password ? `:${options.password}@` : "";
  const url = `redis://${auth}127.0.0.1:${port}`;
  const passwordArgs = options.password ? ["--requirepass", options.password] : [];
  let child: ChildProcess | undefined;
  const own: OwnRedis = {
    url,
    port,
    async start() {
      child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", ...passwordArgs], {
        stdio: "ignore",
      });
      await waitFor(async () => ((await redisAnswers(url)) ? true : undefined), 10_000, "redis-server to answer");
    },
    async stop() {
      if (!child || child.exitCode !== null) return;
      const exited = once(child, "exit");
      child.kill("SIGKILL");
      await exited;
    },
  };
  await own.start();
  return own;
}

/** True when the redis-server binary can be run. */
export async function redisServerInstalled(): Promise<boolean> {
  const child = spawn("redis-server", ["--version"], { stdio: "ignore" });
  return new Promise((resolve) => {
    child.once("error", () => resolve(false));
    child.once("exit", (code) => resolve(code === 0));
  });
}
