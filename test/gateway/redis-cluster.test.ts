import { Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "./support/gateway";
import { redisCliInstalled, redisServerInstalled, startInstances, startOwnCluster, waitForSharing, type Instances, type OwnCluster } from "./support/instances";

/**
 * Two gateways on a Redis Cluster of three masters (REDIS_CLUSTER_NODES, naming one of them):
 * limits are shared through it, and every key of theirs carries one hash tag, so each script's
 * keys are in one slot.
 */

const installed = (await redisServerInstalled()) && (await redisCliInstalled());
if (!installed) console.warn("[gateway] redis-server or redis-cli is not installed: the Redis Cluster tests are skipped");

describe.skipIf(!installed)("Redis Cluster", () => {
  let cluster: OwnCluster;
  let instances: Instances;

  beforeAll(async () => {
    cluster = await startOwnCluster();
    instances = await startInstances({
      redisUrl: `redis://127.0.0.1:${cluster.ports[0]}`,
      redisEnv: { REDIS_CLUSTER_NODES: `127.0.0.1:${cluster.ports[0]}` },
    });
  }, 60_000);
  afterAll(async () => {
    await instances?.stop();
    await cluster?.stop();
  });

  it("limits are shared through the cluster, under one hash tag", async () => {
    await waitForSharing(instances.gateways, "connected");
    for (const gateway of instances.gateways) {
      await waitFor(() => (gateway.output().includes(`cluster of 127.0.0.1:${cluster.ports[0]}`) ? true : undefined), 5_000, "the sharing line");
    }
    // A key with a budget and a user: each admission script touches several keys (key and user accounts and windows).
    const { key } = await instances.newKey({ rpm_limit: 3, max_budget: 10, user_id: "cluster-user" });
    let ok = 0;
    for (let call = 0; call < 8; call += 1) {
      const gateway = instances.gateways[call % instances.gateways.length];
      if (!gateway) throw new Error("no gateway");
      const { status } = await instances.chat(gateway, key);
      expect([200, 429]).toContain(status);
      if (status === 200) ok += 1;
    }
    // rpm 3 for both instances together, not 3 each.
    expect(ok).toBe(3);

    const client = new Cluster([{ host: "127.0.0.1", port: cluster.ports[0] ?? 0 }]);
    try {
      await new Promise((resolve) => client.once("ready", resolve));
      const keys = (await Promise.all(client.nodes("master").map((node) => node.keys("*")))).flat();
      const ours = keys.filter((name) => name.includes(instances.prefix));
      expect(ours.length).toBeGreaterThan(0);
      expect(ours.every((name) => name.startsWith(`{${instances.prefix}}`))).toBe(true);
    } finally {
      client.disconnect();
    }
  }, 60_000);
});
