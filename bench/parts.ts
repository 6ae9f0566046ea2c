import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { createDb } from "../lib/db/client";
import { freePort } from "../test/gateway/support/gateway";

/** What the gateway benchmarks share: their processes, the gateway's config and a key. */

export const root = path.resolve(import.meta.dirname, "..");
export const masterKey = "sk-bench-master-key-0000";

export function spawnPart(file: string, env: Record<string, string> = {}, nodeArgs: string[] = []): ChildProcess {
  return spawn(process.execPath, [...nodeArgs, "--import", "tsx", file], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
}

export async function firstLine<T>(child: ChildProcess): Promise<T> {
  if (!child.stdout) throw new Error("no stdout");
  const lines = createInterface({ input: child.stdout });
  for await (const line of lines) {
    if (line.trim().startsWith("{")) return JSON.parse(line) as T;
  }
  throw new Error("process ended before printing its address");
}

export async function waitUntilAlive(url: string, child: ChildProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${url} exited with ${child.exitCode}`);
    const alive = await fetch(url).then(
      (res) => res.ok,
      () => false,
    );
    if (alive) return;
    if (Date.now() > deadline) throw new Error(`${url} did not come up`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Starts the benchmark's upstream and its Postgres (added to `children`); returns where they are.
 * The Postgres is the embedded one `npm run dev` uses, in its own process, unless
 * BENCH_POSTGRES_URL names a Postgres server (a production gateway's kind of database): the
 * gateway then gets a new database there, which `dropDatabase` removes.
 */
export async function startUpstreamAndPostgres(children: ChildProcess[]): Promise<{
  upstreamPort: number;
  databaseUrl: string;
  postgresPid: number | null;
  dropDatabase: () => Promise<void>;
}> {
  const upstream = spawnPart("bench/upstream.ts");
  children.push(upstream);
  watchExit(upstream, "mock upstream");
  const database = startPostgres(children);
  const { port: upstreamPort } = await firstLine<{ port: number }>(upstream);
  const { url, pid, drop } = await database;
  return { upstreamPort, databaseUrl: url, postgresPid: pid, dropDatabase: drop };
}

/**
 * A database of its own: an embedded Postgres in its own process (added to `children`), or a new
 * database on the Postgres server BENCH_POSTGRES_URL names, which `drop` removes.
 */
export async function startPostgres(children: ChildProcess[]): Promise<{ url: string; pid: number | null; drop: () => Promise<void> }> {
  const serverUrl = process.env.BENCH_POSTGRES_URL;
  if (serverUrl) return { ...(await serverDatabase(serverUrl)), pid: null };
  // BENCH_POSTGRES_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the embedded Postgres.
  const embedded = spawnPart("bench/postgres.ts", {}, nodeArgs(process.env.BENCH_POSTGRES_NODE_ARGS));
  children.push(embedded);
  watchExit(embedded, "embedded Postgres");
  const { url } = await firstLine<{ url: string }>(embedded);
  return { url, pid: embedded.pid ?? null, drop: async () => {} };
}

/** A new database on the Postgres server at `serverUrl`, and a function that drops it again. */
export async function serverDatabase(serverUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const admin = createDb(serverUrl, { max: 1 });
  const name = `creditgate_bench_${Date.now()}`;
  await admin.unsafe(`create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}

/** Node flags from an environment variable of space-separated flags. */
export function nodeArgs(value: string | undefined): string[] {
  return (value ?? "").split(" ").filter((arg) => arg !== "");
}

/**
 * The Portkey gateway (npm `@portkey-ai/gateway`, the comparison the gateway's throughput target
 * is set against), measured in the same run so that the comparison holds however fast the
 * machine is that day. Returns its port once it answers.
 */
export async function startPortkey(children: ChildProcess[]): Promise<{ port: number; pid: number | null }> {
  const port = await freePort();
  const portkey = spawn(process.execPath, [path.join(root, "node_modules/@portkey-ai/gateway/build/start-server.js"), `--port=${port}`, "--headless"], {
    cwd: root,
    env: { ...process.env, NODE_ENV: "production" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  children.push(portkey);
  watchExit(portkey, "Portkey gateway");
  await waitUntilAlive(`http://127.0.0.1:${port}/`, portkey);
  return { port, pid: portkey.pid ?? null };
}

/** Portkey's headers for an OpenAI-compatible upstream at `upstreamOrigin`. */
export function portkeyHeaders(upstreamOrigin: string): Record<string, string> {
  return {
    "content-type": "application/json",
    authorization: "Bearer upstream-bench-key",
    "x-portkey-provider": "openai",
    "x-portkey-custom-host": `${upstreamOrigin}/v1`,
  };
}

/** The gateway's config for the benchmark's upstream: an OpenAI-compatible and an Anthropic model. */
export async function writeBenchConfig(upstreamPort: number, extraSettings = ""): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "gateway-bench-"));
  const configPath = path.join(dir, "config.yaml");
  await writeFile(
    configPath,
    `model_list:
  - model_name: bench-model
    litellm_params:
      model: openai/bench-model
      api_base: http://127.0.0.1:${upstreamPort}/v1
      api_key: upstream-bench-key
    model_info:
      base_model: gpt-4o-mini
  - model_name: bench-claude
    litellm_params:
      model: anthropic/claude-sonnet-4-5-20250929
      api_base: http://127.0.0.1:${upstreamPort}
      api_key: upstream-bench-key
general_settings:
  proxy_batch_write_at: 10
${extraSettings}
`,
  );
  return configPath;
}

/** The gateway's environment; BENCH_REDIS_URL shares limits and budgets through that Redis. */
export function benchGatewayEnv(databaseUrl: string, configPath: string, gatewayPort: number, adminPort: number): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    LITELLM_MASTER_KEY: masterKey,
    GATEWAY_CONFIG: configPath,
    GATEWAY_PORT: String(gatewayPort),
    GATEWAY_ADMIN_PORT: String(adminPort),
    GATEWAY_HOST: "127.0.0.1",
    // The default level (one line per request), so the figures are what `npm run gateway` gives.
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "info",
    // Under a prefix of this run, so runs never share counters.
    ...(process.env.BENCH_REDIS_URL ? { REDIS_URL: process.env.BENCH_REDIS_URL, REDIS_KEY_PREFIX: `creditgate-bench-${process.pid}:` } : {}),
  };
}

/** A key with every check the hot path does: a budget, rpm and tpm limits, a model list. */
export async function benchKey(adminPort: number): Promise<string> {
  const generated = await fetch(`http://127.0.0.1:${adminPort}/key/generate`, {
    method: "POST",
    headers: { authorization: `Bearer ${masterKey}`, "content-type": "application/json" },
    body: JSON.stringify({ max_budget: 1_000_000, rpm_limit: 100_000_000, tpm_limit: 1_000_000_000, models: ["bench-model", "bench-claude"] }),
  });
  const { key } = (await generated.json()) as { key: string };
  return key;
}

export const benchChatBody = JSON.stringify({ model: "bench-model", max_tokens: 16, messages: [{ role: "user", content: "Say hello." }] });

/**
 * Lets only `running` of the proxies under test (process ids) have the CPU and stops the others
 * (SIGSTOP) until their turn. An idle proxy is not idle on two shared cores: a gateway's timer
 * writes the spend of its last round to Postgres, and a Node process whose load stopped runs
 * memory-reducing collections seconds later (Portkey's took 10–26 ms, on both cores, in the rounds
 * of the other targets). Stopped, each does that work in its own rounds. `null` runs none.
 */
export function runOnly(proxies: readonly (number | null)[], running: number | null): void {
  for (const pid of proxies) {
    if (pid === null) continue;
    try {
      process.kill(pid, pid === running ? "SIGCONT" : "SIGSTOP");
    } catch (err) {
      // The process is gone: `watchExit` has said which part it was and how it ended.
      throw new Error(`process ${pid} under test is no longer running`, { cause: err });
    }
  }
}

let stopping = false;

/** Says on stderr when a part of the benchmark ends before the benchmark stops it, and how. */
export function watchExit(child: ChildProcess, part: string): void {
  child.once("exit", (code, signal) => {
    if (!stopping) console.error(`bench: the ${part} (pid ${child.pid ?? "?"}) exited early: code ${code ?? "-"}, signal ${signal ?? "-"}`);
  });
}

/** Stops the processes, last started first (the gateway flushes spend to Postgres on SIGTERM). */
export async function stopAll(children: readonly ChildProcess[]): Promise<void> {
  stopping = true;
  const running = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;
  // All continued first: a process runOnly stopped would not see SIGTERM.
  for (const child of children) if (running(child)) child.kill("SIGCONT");
  for (const child of [...children].reverse()) {
    if (!running(child)) continue;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  }
}

/** Runs a benchmark's main function; a failure is printed and ends the process with 1. */
export function runBench(main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    console.error("bench failed:", err);
    process.exit(1);
  });
}

/**
 * Starts the upstream and Postgres, runs `body` with them (processes it starts go in `children`;
 * `anotherDatabase` makes a further database, as `startPostgres`), then stops every process and
 * drops the run's databases, also on Ctrl-C.
 */
export async function withUpstreamAndPostgres(
  body: (
    children: ChildProcess[],
    started: { upstreamPort: number; databaseUrl: string; postgresPid: number | null; anotherDatabase: () => Promise<string> },
  ) => Promise<void>,
): Promise<void> {
  const children: ChildProcess[] = [];
  const drops: (() => Promise<void>)[] = [];
  const anotherDatabase = async () => {
    const database = await startPostgres(children);
    drops.push(database.drop);
    return database.url;
  };
  const interrupted = () => {
    void stopAll(children).then(() => process.exit(130));
  };
  process.once("SIGINT", interrupted);
  try {
    const started = await startUpstreamAndPostgres(children);
    drops.push(started.dropDatabase);
    await body(children, { ...started, anotherDatabase });
  } finally {
    process.removeListener("SIGINT", interrupted);
    // The gateways write their last spend before their databases go.
    await stopAll(children);
    for (const drop of drops) await drop();
  }
}

/** CPU seconds and resident memory of a process, from /proc (Linux). */
export function processStats(pid: number): { cpuSeconds: number; rssMb: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? "0");
    return { cpuSeconds: ticks / 100, rssMb: rssKb / 1024 };
  } catch {
    return null;
  }
}
