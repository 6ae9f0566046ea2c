import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
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
  /** A chat completion through `gateway`; `signal` ends the call from the caller's side. */
  chat(gateway: RunningGateway, key: string, model?: string, signal?: AbortSignal): Promise<{ status: number; body: unknown }>;
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
  /** The Redis the test itself reads (and cleans); the gateways use it too unless `redisEnv` says otherwise. */
  redisUrl: string;
  /** The gateways' Redis variables instead of REDIS_URL, e.g. REDIS_SENTINEL_NODES. */
  redisEnv?: Record<string, string>;
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
      env: { TEST_UPSTREAM_KEY: upstreamKey, ...(options.redisEnv ?? { REDIS_URL: options.redisUrl }), REDIS_KEY_PREFIX: prefix, LOG_LEVEL: "info" },
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
    async chat(gateway, key, model = "gpt-test", signal) {
      const res = await fetch(`${gateway.publicUrl}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify(chatBody(model, { max_tokens: 20 })),
        signal,
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

/**
 * A master, its replica and one Sentinel watching them under `name` (quorum 1, a master is down
 * after 500 ms), all our own redis-server children without persistence: a failover in seconds.
 */
export interface SentinelTopology {
  name: string;
  masterPort: number;
  replicaPort: number;
  sentinelPort: number;
  /** The port of the server the Sentinel names as master now. */
  currentMasterPort(): Promise<number | null>;
  /** Waits until the replica has everything the master wrote, then kills the master. */
  killMaster(): Promise<void>;
  stop(): Promise<void>;
}

export async function startSentinelTopology(name = "creditgate-test"): Promise<SentinelTopology> {
  const children: ChildProcess[] = [];
  const [masterPort, replicaPort, sentinelPort] = [await freePort(), await freePort(), await freePort()];
  const dir = await mkdtemp(path.join(tmpdir(), "creditgate-sentinel-"));
  const run = (args: string[]) => {
    const child = spawn("redis-server", args, { stdio: "ignore" });
    children.push(child);
    return child;
  };
  // In the temporary folder: a replica writes the snapshot its master sends it to its folder.
  const server = (port: number) => ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir];
  const client = (port: number) => {
    const redis = new Redis({ port, host: "127.0.0.1", maxRetriesPerRequest: 1, retryStrategy: () => null });
    redis.on("error", () => {});
    return redis;
  };
  const answering = (port: number, what: string) =>
    waitFor(async () => ((await redisAnswers(`redis://127.0.0.1:${port}`)) ? true : undefined), 10_000, `${what} to answer`);
  const master = run(server(masterPort));
  await answering(masterPort, "the master");
  run([...server(replicaPort), "--replicaof", "127.0.0.1", String(masterPort)]);
  await answering(replicaPort, "the replica");
  const replica = client(replicaPort);
  await waitFor(async () => ((await replica.info("replication")).includes("master_link_status:up") ? true : undefined), 10_000, "the replica to sync");
  replica.disconnect();
  // Sentinel rewrites its config file, so it gets one of its own.
  const config = path.join(dir, "sentinel.conf");
  await writeFile(
    config,
    [
      `port ${sentinelPort}`,
      "bind 127.0.0.1",
      `dir ${dir}`,
      `sentinel monitor ${name} 127.0.0.1 ${masterPort} 1`,
      `sentinel down-after-milliseconds ${name} 500`,
      `sentinel failover-timeout ${name} 2000`,
      "",
    ].join("\n"),
  );
  run([config, "--sentinel"]);
  await answering(sentinelPort, "the sentinel");
  const sentinel = client(sentinelPort);
  const currentMasterPort = async () => {
    const address = (await sentinel.call("SENTINEL", "get-master-addr-by-name", name).catch(() => null)) as string[] | null;
    return address?.[1] ? Number(address[1]) : null;
  };
  await waitFor(async () => ((await currentMasterPort()) === masterPort ? true : undefined), 10_000, "the sentinel to watch the master");
  // A failover needs the sentinel to know the replica, which it learns from the master's INFO.
  await waitFor(
    async () => (((await sentinel.call("SENTINEL", "replicas", name)) as unknown[]).length > 0 ? true : undefined),
    20_000,
    "the sentinel to find the replica",
  );
  return {
    name,
    masterPort,
    replicaPort,
    sentinelPort,
    currentMasterPort,
    async killMaster() {
      const primary = client(masterPort);
      await primary.call("WAIT", "1", "2000");
      primary.disconnect();
      const exited = once(master, "exit");
      master.kill("SIGKILL");
      await exited;
    },
    async stop() {
      sentinel.disconnect();
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A Redis Cluster of three masters (no replicas, no persistence), our own redis-server children. */
export interface OwnCluster {
  ports: number[];
  stop(): Promise<void>;
}

export async function startOwnCluster(): Promise<OwnCluster> {
  const children: ChildProcess[] = [];
  const ports = [await freePort(), await freePort(), await freePort()];
  const dir = await mkdtemp(path.join(tmpdir(), "creditgate-cluster-"));
  const stop = async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) {
      const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir];
      children.push(spawn("redis-server", [...args, "--cluster-enabled", "yes", "--cluster-config-file", `nodes-${port}.conf`], { stdio: "ignore" }));
    }
    for (const port of ports) {
      await waitFor(async () => ((await redisAnswers(`redis://127.0.0.1:${port}`)) ? true : undefined), 10_000, "a cluster node to answer");
    }
    const create = spawn("redis-cli", ["--cluster", "create", ...ports.map((port) => `127.0.0.1:${port}`), "--cluster-replicas", "0", "--cluster-yes"], { stdio: "ignore" });
    const [code] = (await once(create, "exit")) as [number | null];
    if (code !== 0) throw new Error(`redis-cli --cluster create exited with ${code}`);
    const node = new Redis({ port: ports[0], host: "127.0.0.1", maxRetriesPerRequest: 1 });
    node.on("error", () => {});
    try {
      await waitFor(async () => ((await node.cluster("INFO")).includes("cluster_state:ok") ? true : undefined), 20_000, "the cluster to be ok");
    } finally {
      node.disconnect();
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { ports, stop };
}

/** True when redis-cli can be run (it creates the test cluster). */
export async function redisCliInstalled(): Promise<boolean> {
  const child = spawn("redis-cli", ["--version"], { stdio: "ignore" });
  return new Promise((resolve) => {
    child.once("error", () => resolve(false));
    child.once("exit", (code) => resolve(code === 0));
  });
}
