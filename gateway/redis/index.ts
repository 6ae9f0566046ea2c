import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { z } from "zod";
import type { Admitter, LocalAdmitter } from "../admission";
import type { Directory } from "../directory";
import type { GatewayEnv } from "../env";
import { windowMs, type RateLimiter } from "../limits";
import type { Logger } from "../log";
import type { Router } from "../router";
import { RedisAdmitter } from "./admitter";
import { RedisConnection, clusterPrefix, describeRedisTarget, type RedisTarget } from "./connection";

const changeMessage = z.object({
  from: z.string(),
  kind: z.enum(["key", "user", "team", "member"]),
  id: z.string(),
});

const cooldownMessage = z.object({
  from: z.string(),
  id: z.string(),
  ms: z.number(),
});

/** Where the environment says Redis is: REDIS_URL, a Cluster (REDIS_CLUSTER_NODES), or the master behind REDIS_SENTINEL_NODES. */
export function redisTargetOf(env: GatewayEnv): RedisTarget | undefined {
  if (env.REDIS_URL) return { kind: "url", url: env.REDIS_URL };
  if (env.REDIS_CLUSTER_NODES) return { kind: "cluster", nodes: env.REDIS_CLUSTER_NODES, username: env.REDIS_USERNAME, password: env.REDIS_PASSWORD };
  if (!env.REDIS_SENTINEL_NODES) return undefined;
  return {
    kind: "sentinel",
    sentinels: env.REDIS_SENTINEL_NODES,
    name: env.REDIS_SERVICE_NAME,
    username: env.REDIS_USERNAME,
    password: env.REDIS_PASSWORD,
    sentinelPassword: env.REDIS_SENTINEL_PASSWORD,
  };
}

export interface SharingOptions {
  /** From REDIS_URL, REDIS_SENTINEL_NODES or REDIS_CLUSTER_NODES; none counts in this process. */
  redis: RedisTarget | undefined;
  prefix: string;
  directory: Directory;
  local: LocalAdmitter;
  limiter: RateLimiter;
  /** Its cooldowns are told to the other instances, and theirs to it. */
  router: Router;
  log: Logger;
}

/**
 * Chooses where limits and budgets are counted: in this process without Redis, in Redis (one
 * server, behind Sentinel, or a Cluster; shared by every instance) with it. With Redis, admin
 * writes are also broadcast, so another instance drops its cached key, user or team and reads the
 * new row on its next request; so is a deployment leaving the router's rotation, so the others
 * stop sending to it too, and (under usage- or cost-based routing) the deployments' minute usage,
 * so their rpm/tpm hold for all, and (under least-busy and latency-based routing) their load.
 */
export async function startSharing(options: SharingOptions): Promise<Admitter> {
  const { redis, directory, local, log } = options;
  if (!redis) {
    log.info("No REDIS_URL, REDIS_SENTINEL_NODES or REDIS_CLUSTER_NODES: rate limits and budgets are counted per gateway instance");
    return local;
  }
  const instanceId = randomBytes(6).toString("hex");
  // Loaded only with Redis configured: ioredis is ~1 MB of heap a single instance would carry for nothing.
  const ioredis = await import("ioredis");
  const connection = new RedisConnection(ioredis, redis, log);
  // On a Cluster every key of the gateway carries one hash tag, so each script's keys share a slot.
  const prefix = redis.kind === "cluster" ? clusterPrefix(options.prefix) : options.prefix;
  const admitter = new RedisAdmitter({ ...options, prefix, connection, instanceId, windowMs });
  const channel = `${prefix}invalidate`;
  let missedChanges = false;

  directory.listen({
    changed(change) {
      if (!connection.up) return;
      connection.client.publish(channel, JSON.stringify({ from: instanceId, ...change })).catch(() => undefined);
    },
    spendSet(account) {
      admitter.setSpend(account);
    },
  });
  connection.subscriber.on("message", (channelName: string, text: string) => {
    if (channelName !== channel) return;
    const message = parsed(changeMessage, text);
    if (message && message.from !== instanceId) directory.evict(message);
  });
  // Changes published while this instance was disconnected never arrive: forget everything.
  connection.subscriber.on("close", () => {
    missedChanges = true;
  });
  connection.subscriber.on("ready", () => {
    if (missedChanges) directory.evictAll();
    missedChanges = false;
  });
  connection.subscriber.subscribe(channel).catch(() => undefined);
  shareCooldowns(connection, options.router, prefix, instanceId, log);
  const stopSharingUsage = shareUsage(connection, options.router, prefix, log);
  const stopSharingLoad = shareLoad(connection, options.router, prefix, instanceId, log);
  log.info({ redis: describeRedisTarget(redis), prefix }, "rate limits and budgets are shared through Redis");

  return {
    get sharing() {
      return admitter.sharing;
    },
    admit: (request) => admitter.admit(request),
    settle: (admission, settlement) => admitter.settle(admission, settlement),
    async close() {
      stopSharingUsage();
      stopSharingLoad();
      await admitter.close();
      await connection.close();
    },
  };
}

function parsed<T>(schema: z.ZodType<T>, text: string): T | null {
  try {
    const result = schema.safeParse(JSON.parse(text));
    return result.success ? result.data : null;
  } catch {
    return null;
  }
}

/**
 * Router cooldowns, shared: a deployment leaving one instance's rotation is announced on
 * `<prefix>cooldown` and kept as `<prefix>cooling:<id>` for as long as it lasts, so the other
 * instances take it out at once and one that starts or reconnects meanwhile reads it there.
 */
function shareCooldowns(connection: RedisConnection, router: Router, prefix: string, instanceId: string, log: Logger): void {
  const channel = `${prefix}cooldown`;
  const keyPrefix = `${prefix}cooling:`;
  router.onCooldown((id, ms) => {
    if (!connection.up) return;
    connection.client
      .multi()
      .set(`${keyPrefix}${id}`, "1", "PX", ms)
      .publish(channel, JSON.stringify({ from: instanceId, id, ms }))
      .exec()
      .catch(() => undefined);
  });
  connection.subscriber.on("message", (channelName: string, text: string) => {
    if (channelName !== channel) return;
    const message = parsed(cooldownMessage, text);
    if (message && message.from !== instanceId) router.coolDown(message.id, message.ms);
  });
  connection.subscriber.subscribe(channel).catch(() => undefined);
  connection.onUp(() => {
    void catchUp().catch((err: unknown) => log.debug({ err }, "could not read the shared cooldowns"));
  });

  async function catchUp(): Promise<void> {
    const keys: string[] = [];
    // A Cluster's keys are spread over its masters; SCAN reads one node's.
    const client = connection.client;
    const nodes = "nodes" in client && typeof client.nodes === "function" ? client.nodes("master") : [client as Redis];
    for (const node of nodes) {
      let cursor = "0";
      do {
        const [next, found] = await node.scan(cursor, "MATCH", `${keyPrefix}*`, "COUNT", 100);
        cursor = next;
        keys.push(...found);
      } while (cursor !== "0");
    }
    for (const key of keys) {
      const ms = await connection.client.pttl(key);
      if (ms > 0) router.coolDown(key.slice(keyPrefix.length), ms);
    }
  }
}

// How often an instance shares the deployments' minute usage and load it counted.
const usageSyncMs = 200;

/**
 * Runs `sync` every `usageSyncMs` while Redis is up, never two at once, and `whileDown` on the
 * ticks when it is not. Returns a function that stops it.
 */
function syncEvery(connection: RedisConnection, sync: () => Promise<void>, whileDown: () => void = () => {}): () => void {
  let syncing = false;
  const timer = setInterval(() => {
    if (syncing) return;
    if (!connection.up) {
      whileDown();
      return;
    }
    syncing = true;
    void sync().finally(() => {
      syncing = false;
    });
  }, usageSyncMs);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * Deployments' minute usage, shared (usage- and cost-based routing; Router.usageSharedDeployments):
 * every 200 ms each instance adds what it counted to `<prefix>usage:<id>:<minute>` and reads back
 * every instance's total in the same transaction, so together the instances choose by the same
 * counts and keep a deployment under its limits, passing them by at most what they send it
 * between two syncs. Counts that could not be added are kept for the next sync. Returns a
 * function that stops it.
 */
function shareUsage(connection: RedisConnection, router: Router, prefix: string, log: Logger): () => void {
  const ids = router.usageSharedDeployments;
  if (ids.length === 0) return () => {};
  const keyOf = (id: string, minute: number) => `${prefix}usage:${id}:${minute}`;
  const stop = syncEvery(connection, sync);

  async function sync(): Promise<void> {
    const minute = Math.floor(Date.now() / 60_000);
    const counts = router.takeUsage();
    const transaction = connection.client.multi();
    for (const count of counts) {
      const key = keyOf(count.deploymentId, count.minute);
      // Two minutes: long enough for every instance to read the minute's total, then gone.
      transaction.hincrby(key, "requests", count.requests).hincrby(key, "tokens", count.tokens).pexpire(key, 120_000);
    }
    for (const id of ids) transaction.hmget(keyOf(id, minute), "requests", "tokens");
    let results: [Error | null, unknown][] | null;
    try {
      results = await transaction.exec();
    } catch (err) {
      results = null;
      log.debug({ err }, "deployment usage not shared; will retry");
    }
    if (!results) {
      router.giveBackUsage(counts);
      return;
    }
    results.slice(counts.length * 3).forEach(([err, value], index) => {
      const id = ids[index];
      if (err || !id || !Array.isArray(value)) return;
      const [requests, tokens] = value as (string | null)[];
      router.adoptUsage({ deploymentId: id, minute, requests: Number(requests ?? 0), tokens: Number(tokens ?? 0) });
    });
  }

  return stop;
}

// How long an instance's load figures count after it last wrote them: five syncs.
const loadStaleMs = 1_000;

/**
 * Deployments' load, shared (least-busy and latency-based routing; Router.loadSharedDeployments):
 * every 200 ms each instance writes its calls in flight and its moving average of answer times
 * per deployment and reads back the other instances' in the same script (`loadScript`), so
 * least-busy counts every instance's calls and latency-based routing every instance's answers.
 * An instance that stops writing drops out after a second. Returns a function that stops it.
 */
function shareLoad(connection: RedisConnection, router: Router, prefix: string, instanceId: string, log: Logger): () => void {
  const ids = router.loadSharedDeployments;
  if (ids.length === 0) return () => {};
  // While Redis is away the others' last figures would go stale: this instance judges by its own.
  const forgetOthers = () => {
    for (const id of ids) router.adoptLoad({ deploymentId: id, inFlight: 0, latenciesMs: [] });
  };
  const stop = syncEvery(connection, sync, forgetOthers);

  async function sync(): Promise<void> {
    const args: (string | number)[] = [instanceId, loadStaleMs, 60_000];
    for (const id of ids) {
      const own = router.ownLoad(id);
      args.push(own.inFlight, own.latencyMs === undefined ? "" : own.latencyMs.toFixed(3));
    }
    let reply: unknown;
    try {
      reply = await connection.client.creditgateLoad(ids.length, ...ids.map((id) => `${prefix}load:${id}`), ...args);
    } catch (err) {
      forgetOthers();
      log.debug({ err }, "deployment load not shared; will retry");
      return;
    }
    if (!Array.isArray(reply)) return;
    reply.forEach((entry: unknown, index) => {
      const id = ids[index];
      if (!id || !Array.isArray(entry)) return;
      const [busy, latencies] = entry as [unknown, unknown];
      router.adoptLoad({
        deploymentId: id,
        inFlight: Number(busy),
        latenciesMs: Array.isArray(latencies) ? latencies.map(Number) : [],
      });
    });
  }

  return stop;
}
