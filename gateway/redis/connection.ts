import type { Cluster, Redis, RedisOptions, Result } from "ioredis";
import type { Logger } from "../log";
import { admitScript, loadScript, reconcileScript, setSpendScript, settleScript } from "./scripts";

declare module "ioredis" {
  interface RedisCommander<Context> {
    creditgateAdmit(numKeys: number, ...args: (string | number)[]): Result<unknown, Context>;
    creditgateSettle(numKeys: number, ...args: (string | number)[]): Result<unknown, Context>;
    creditgateReconcile(numKeys: number, ...args: (string | number)[]): Result<unknown, Context>;
    creditgateSetSpend(numKeys: number, ...args: (string | number)[]): Result<unknown, Context>;
    creditgateLoad(numKeys: number, ...args: (string | number)[]): Result<unknown, Context>;
  }
}

/** Where Redis is: one server by URL, the master a set of Sentinels watches under `name`, or a Cluster. */
export type RedisTarget =
  | { kind: "url"; url: string }
  | { kind: "cluster"; nodes: { host: string; port: number }[]; username?: string; password?: string }
  | {
      kind: "sentinel";
      sentinels: { host: string; port: number }[];
      name: string;
      username?: string;
      password?: string;
      sentinelPassword?: string;
    };

/** The target as it may be logged: no password, no user name. */
export function describeRedisTarget(target: RedisTarget): string {
  if (target.kind === "url") return redactRedisUrl(target.url);
  if (target.kind === "cluster") return `cluster of ${target.nodes.map(({ host, port }) => `${host}:${port}`).join(", ")}`;
  return `master "${target.name}" of sentinels ${target.sentinels.map(({ host, port }) => `${host}:${port}`).join(", ")}`;
}

/** REDIS_URL as it may be logged: without its password or user name. */
export function redactRedisUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.password) url.password = "***";
    if (url.username) url.username = "***";
    return url.toString();
  } catch {
    return "(unparseable REDIS_URL)";
  }
}

/**
 * The key prefix on a Cluster: with a hash tag (`{…}`), so that every key of the gateway is in
 * one slot, as its scripts and transactions need; a prefix without one becomes its own tag.
 */
export function clusterPrefix(prefix: string): string {
  return /\{[^}]+\}/.test(prefix) ? prefix : `{${prefix}}`;
}

// A request must not wait on a Redis that stopped answering: past this it is admitted in memory.
const commandTimeoutMs = 1_000;

/**
 * The gateway's two connections to Redis: one for commands (scripts run with EVALSHA, loaded on
 * first use) and one subscribed to invalidations. Both reconnect forever with a capped backoff.
 * Commands fail at once while disconnected (no offline queue), so the caller falls back to its
 * in-memory counters instead of queueing behind an outage. The outage and the recovery are each
 * logged once. Behind Sentinel, every reconnection asks the sentinels for the current master
 * (and checks its role), and a failover the sentinels announce drops the old connection at once.
 * On a Cluster, ioredis follows the slots' owners; all of the gateway's keys share one hash tag
 * (`clusterPrefix`), so every script's keys are in one slot.
 */
export class RedisConnection {
  readonly client: Redis | Cluster;
  readonly subscriber: Redis | Cluster;
  private down = false;
  private readonly upListeners: (() => void)[] = [];

  /** `ioredis` is the module, which the gateway imports only when Redis is configured. */
  constructor(
    ioredis: { Redis: typeof Redis; Cluster: typeof Cluster },
    target: RedisTarget,
    private readonly log: Logger,
  ) {
    const Client = ioredis.Redis;
    const retryStrategy = (attempt: number) => Math.min(100 * attempt, 1_000);
    const connect = (options: RedisOptions): Redis | Cluster => {
      if (target.kind === "url") return new Client(target.url, options);
      if (target.kind === "cluster") {
        const { enableOfflineQueue, ...nodeOptions } = options;
        return new ioredis.Cluster(target.nodes, {
          enableOfflineQueue,
          clusterRetryStrategy: retryStrategy,
          redisOptions: { ...nodeOptions, username: target.username, password: target.password },
        });
      }
      const { sentinels, name, username, password, sentinelPassword } = target;
      return new Client({ ...options, sentinels, name, username, password, sentinelPassword, failoverDetector: true, sentinelRetryStrategy: retryStrategy });
    };
    this.client = connect({
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: commandTimeoutMs,
      connectTimeout: 2_000,
      retryStrategy,
    });
    this.client.defineCommand("creditgateAdmit", { lua: admitScript });
    this.client.defineCommand("creditgateSettle", { lua: settleScript });
    this.client.defineCommand("creditgateReconcile", { lua: reconcileScript });
    this.client.defineCommand("creditgateSetSpend", { lua: setSpendScript });
    this.client.defineCommand("creditgateLoad", { lua: loadScript });
    // The subscriber resubscribes by itself after a reconnect (ioredis' autoResubscribe).
    this.subscriber = connect({ connectTimeout: 2_000, retryStrategy, maxRetriesPerRequest: null });
    this.client.on("ready", () => this.becameUp());
    this.client.on("error", (err: Error) => this.becameDown(err.message));
    this.client.on("close", () => this.becameDown("connection closed"));
    // Errors of the subscriber are the same outage; its listener only keeps them from being thrown.
    this.subscriber.on("error", () => {});
  }

  get up(): boolean {
    return this.client.status === "ready";
  }

  /** Called on every (re)connection, including the first. */
  onUp(listener: () => void): void {
    this.upListeners.push(listener);
  }

  private becameUp(): void {
    if (this.down) this.log.info("Redis reachable again: rate limits and budgets are shared across instances again");
    this.down = false;
    for (const listener of this.upListeners) listener();
  }

  private becameDown(reason: string): void {
    if (this.down) return;
    this.down = true;
    this.log.warn(
      { reason },
      "Redis unreachable: rate limits and budgets are counted per instance until it returns",
    );
  }

  async close(): Promise<void> {
    this.subscriber.disconnect();
    await this.client.quit().catch(() => this.client.disconnect());
  }
}
