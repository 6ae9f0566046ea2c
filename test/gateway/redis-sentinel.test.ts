import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "./support/gateway";
import { redisServerInstalled, startInstances, startSentinelTopology, waitForSharing, type Instances, type SentinelTopology } from "./support/instances";

/**
 * Two gateways that find Redis through Sentinel (REDIS_SENTINEL_NODES) instead of REDIS_URL:
 * limits are shared through the master the Sentinel names, and when that master dies and the
 * Sentinel promotes its replica, the gateways follow it and the counts so far are still there.
 */

const installed = await redisServerInstalled();
if (!installed) console.warn("[gateway] redis-server is not installed: the Sentinel tests are skipped");

describe.skipIf(!installed)("Redis behind Sentinel", () => {
  let topology: SentinelTopology;
  let cluster: Instances;
  const successes = async (key: string, calls: number) => {
    let ok = 0;
    for (let call = 0; call < calls; call += 1) {
      const gateway = cluster.gateways[call % cluster.gateways.length];
      if (!gateway) throw new Error("no gateway");
      const { status } = await cluster.chat(gateway, key);
      expect([200, 429]).toContain(status);
      if (status === 200) ok += 1;
    }
    return ok;
  };

  beforeAll(async () => {
    topology = await startSentinelTopology();
    cluster = await startInstances({
      redisUrl: `redis://127.0.0.1:${topology.masterPort}`,
      redisEnv: { REDIS_SENTINEL_NODES: `127.0.0.1:${topology.sentinelPort}`, REDIS_SERVICE_NAME: topology.name },
    });
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
    await topology?.stop();
  });

  it("limits are shared through the master Sentinel names, and through the promoted replica after a failover, counts kept", async () => {
    await waitForSharing(cluster.gateways, "connected");
    // The log names where Redis was found (lines reach stdout within the logger's flush interval).
    const found = `master \\"${topology.name}\\" of sentinels 127.0.0.1:${topology.sentinelPort}`;
    for (const gateway of cluster.gateways) await waitFor(() => (gateway.output().includes(found) ? true : undefined), 5_000, "the sharing line");
    const { key } = await cluster.newKey({ rpm_limit: 4 });
    // Two of the key's four requests, across both instances, counted on the master.
    expect(await successes(key, 2)).toBe(2);

    await topology.killMaster();
    await waitFor(async () => ((await topology.currentMasterPort()) === topology.replicaPort ? true : undefined), 30_000, "the sentinel to promote the replica");
    for (const gateway of cluster.gateways) {
      await waitFor(() => (gateway.output().includes("Redis reachable again") ? true : undefined), 30_000, "the gateway to reconnect");
    }
    await waitForSharing(cluster.gateways, "connected");

    // The promoted replica had the two requests: two more pass, across both instances, and no more.
    expect(await successes(key, 6)).toBe(2);
    const promoted = new Redis({ port: topology.replicaPort, host: "127.0.0.1", maxRetriesPerRequest: 1 });
    try {
      expect((await promoted.keys(`${cluster.prefix}*`)).length).toBeGreaterThan(0);
      expect(await promoted.call("ROLE")).toEqual(expect.arrayContaining(["master"]));
    } finally {
      promoted.disconnect();
    }
  }, 90_000);
});
