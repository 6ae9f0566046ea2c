import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import path from "node:path";
import { autocannonRun, fixedRate, oneConnection, stallMs, type LoadResult, type Target } from "./load";
import {
  benchChatBody,
  benchGatewayEnv,
  benchKey,
  firstLine,
  nodeArgs,
  root,
  runBench,
  portkeyHeaders,
  processStats,
  runOnly,
  spawnPart,
  startPortkey,
  waitUntilAlive,
  watchExit,
  withUpstreamAndPostgres,
  writeBenchConfig,
} from "./parts";
import { buildGateway, gatewayNodeFlags } from "../scripts/build-gateway";
import { freePort } from "../test/gateway/support/gateway";

/**
 * `npm run bench`: requests per second and latency straight to a local mock upstream and
 * through the gateway, at one connection, at 50 connections and at a fixed 500 req/s, plus the
 * gateway's added latency, CPU and memory; with the `anthropic` scenario also through the
 * anthropic provider's translation (OpenAI in, Anthropic's Messages API out) and /v1/messages
 * passed through to it; with the `portkey` scenario also through the Portkey gateway, the
 * comparison the throughput target is set against. The one-connection, 50-connection and
 * fixed-rate comparisons run in interleaved rounds and keep each target's median (of throughput;
 * of the p99 at the fixed rate). Everything runs on loopback, each part in its
 * own process (upstream, Postgres, gateway, Portkey; the load generator is this one). Prints
 * figures; asserts nothing.
 */

const warmupSeconds = 2;
const measureSeconds = 8;
const fixedRatePerSecond = 500;
// Portkey on the machine the issue's targets were set on: it added ~0.55 ms at one connection
// and made ~1,700 req/s at 50 connections.
const portkeyReference = { addedP50Ms: 0.55, requestsPerSecond: 1_700 };
// BENCH_ROUNDS: interleaved rounds of the 1- and 50-connection comparisons (the median is kept).
const rounds = Math.max(1, Number.parseInt(process.env.BENCH_ROUNDS ?? "", 10) || 3);

// BENCH_GATEWAY_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the gateway under load.
const gatewayNodeArgs = nodeArgs(process.env.BENCH_GATEWAY_NODE_ARGS);

// The gateway logs at its default level, one line per request, to /dev/null: it serializes and
// writes every line as it would to a file or a log collector, without filling the disk with
// ~100 MB a run (a pipe nobody read would stall it).

function spawnBundle(file: string, env: Record<string, string>, nodeArgs: string[], stdout: number): ChildProcess {
  return spawn(process.execPath, [...nodeArgs, file], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", stdout, "inherit"],
  });
}

interface Row {
  scenario: string;
  target: string;
  result: LoadResult;
  cpuPercent: number | null;
  peakRssMb: number | null;
  /** The embedded Postgres's CPU over the run (the gateway writes its spend logs there). */
  postgresCpuPercent: number | null;
}

// The benchmark's Postgres, whose CPU every row reports beside the proxy's own.
let postgresPid: number | null = null;

/** One measurement; `proxyPid` is the process (gateway or Portkey) whose CPU and memory are read. */
async function measure(
  scenario: string,
  target: string,
  proxyPid: number | null,
  run: () => Promise<LoadResult>,
): Promise<Row> {
  const before = proxyPid === null ? null : processStats(proxyPid);
  const postgresBefore = postgresPid === null ? null : processStats(postgresPid);
  let peakRssMb = before?.rssMb ?? null;
  const sampler = setInterval(() => {
    const now = proxyPid === null ? null : processStats(proxyPid);
    if (now && (peakRssMb === null || now.rssMb > peakRssMb)) peakRssMb = now.rssMb;
  }, 200);
  const started = performance.now();
  const result = await run();
  const elapsed = (performance.now() - started) / 1000;
  clearInterval(sampler);
  const after = proxyPid === null ? null : processStats(proxyPid);
  const postgresAfter = postgresBefore && postgresPid !== null ? processStats(postgresPid) : null;
  const cpuPercent = before && after ? ((after.cpuSeconds - before.cpuSeconds) / elapsed) * 100 : null;
  const postgresCpuPercent =
    postgresBefore && postgresAfter ? ((postgresAfter.cpuSeconds - postgresBefore.cpuSeconds) / elapsed) * 100 : null;
  return { scenario, target, result, cpuPercent, peakRssMb: proxyPid === null ? null : peakRssMb, postgresCpuPercent };
}

/**
 * The sample with the median of the figure the target rests on: throughput, or at a fixed rate,
 * where every sample makes the same throughput, the p99. Of an even count, the worse of the two
 * middle ones (the lower throughput, the higher p99).
 */
function medianRow(samples: Row[], by: "throughput" | "p99"): Row {
  const figure = (row: Row) => (by === "p99" ? -row.result.p99Ms : row.result.requestsPerSecond);
  const sorted = [...samples].sort((a, b) => figure(a) - figure(b));
  const median = sorted[Math.floor((sorted.length - 1) / 2)];
  if (!median) throw new Error("no samples");
  return median;
}

function pad(value: string, width: number): string {
  return value.length >= width ? value : value + " ".repeat(width - value.length);
}

function fmt(value: number | null, digits: number): string {
  return value === null || Number.isNaN(value) ? "-" : value.toFixed(digits);
}

async function main(): Promise<void> {
  await withUpstreamAndPostgres(async (children, started) => {
    const { upstreamPort, databaseUrl } = started;
    const bareProcess = spawnPart("bench/bare-proxy.ts", { BENCH_UPSTREAM_ORIGIN: `http://127.0.0.1:${upstreamPort}` });
    children.push(bareProcess);
    watchExit(bareProcess, "bare proxy");
    const { port: barePort } = await firstLine<{ port: number }>(bareProcess);

    const configPath = await writeBenchConfig(upstreamPort, process.env.BENCH_EXTRA_SETTINGS);
    const gatewayPort = await freePort();
    const adminPort = await freePort();
    // The bundle, as `npm run gateway` runs it; BENCH_GATEWAY_SOURCE=1 runs the TypeScript under tsx.
    const gatewayEnvironment = benchGatewayEnv(databaseUrl, configPath, gatewayPort, adminPort);
    const gatewayLog = openSync("/dev/null", "w");
    const gatewayProcess =
      process.env.BENCH_GATEWAY_SOURCE === "1"
        ? spawnBundle(path.join(root, "gateway/main.ts"), gatewayEnvironment, ["--import", "tsx", ...gatewayNodeArgs], gatewayLog)
        : spawnBundle(await buildGateway(), gatewayEnvironment, [...gatewayNodeFlags, ...gatewayNodeArgs], gatewayLog);
    closeSync(gatewayLog);
    children.push(gatewayProcess);
    watchExit(gatewayProcess, "gateway");
    const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
    await waitUntilAlive(`${gatewayUrl}/health/liveliness`, gatewayProcess);
    const gatewayPid = gatewayProcess.pid ?? null;
    postgresPid = started.postgresPid;

    const key = await benchKey(adminPort);

    const body = benchChatBody;
    const direct: Target = {
      url: `http://127.0.0.1:${upstreamPort}`,
      path: "/v1/chat/completions",
      headers: { "content-type": "application/json", authorization: "Bearer upstream-bench-key" },
      body,
    };
    const viaBare: Target = { ...direct, url: `http://127.0.0.1:${barePort}` };
    const viaGateway: Target = {
      url: gatewayUrl,
      path: "/v1/chat/completions",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      body,
    };

    // BENCH_SCENARIOS=1c,50c,rate,portkey,anthropic picks a subset (all by default). The fixed
    // rate runs before the 50-connection burst, so its tail measures the gateway and not the heap
    // the burst left behind.
    const wanted = new Set((process.env.BENCH_SCENARIOS ?? "1c,50c,rate,portkey,anthropic").split(","));

    const portkey = wanted.has("portkey") ? await startPortkey(children) : null;
    // Each measurement runs with only its own proxy (none for the upstream reached directly).
    const barePid = bareProcess.pid ?? null;
    const portkeyPid = portkey?.pid ?? null;
    const focus = (pid: number | null) => runOnly([barePid, gatewayPid, portkeyPid], pid);
    const viaPortkey: Target | null = portkey && {
      ...direct,
      url: `http://127.0.0.1:${portkey.port}`,
      headers: portkeyHeaders(`http://127.0.0.1:${upstreamPort}`),
    };

    console.log(`limits and budgets: ${process.env.BENCH_REDIS_URL ? "shared through Redis (BENCH_REDIS_URL)" : "in the gateway's memory"}`);
    console.log(`gateway log level: ${gatewayEnvironment.LOG_LEVEL ?? ""} (BENCH_LOG_LEVEL), its output to /dev/null`);

    // The anthropic paths: the same request translated to Anthropic's Messages API, the same
    // upstream reached directly in Anthropic's format, and /v1/messages passed through.
    const anthropicBody = JSON.stringify({ model: "claude-sonnet-4-5-20250929", max_tokens: 16, messages: [{ role: "user", content: "Say hello." }] });
    const directAnthropic: Target = {
      url: `http://127.0.0.1:${upstreamPort}`,
      path: "/v1/messages",
      headers: { "content-type": "application/json", "x-api-key": "upstream-bench-key", "anthropic-version": "2023-06-01" },
      body: anthropicBody,
    };
    const viaGatewayAnthropic: Target = { ...viaGateway, body: body.replace('"bench-model"', '"bench-claude"') };
    const viaMessages: Target = {
      url: gatewayUrl,
      path: "/v1/messages",
      headers: { "content-type": "application/json", "x-api-key": key, "anthropic-version": "2023-06-01" },
      body: anthropicBody.replace('"claude-sonnet-4-5-20250929"', '"bench-claude"'),
    };

    console.log(
      `warming up (${warmupSeconds}s each), then ${measureSeconds}s per measurement, each comparison the median of ${rounds} interleaved rounds…`,
    );
    focus(null);
    await oneConnection(direct, warmupSeconds);
    focus(barePid);
    await autocannonRun(viaBare, 50, warmupSeconds);
    focus(gatewayPid);
    await autocannonRun(viaGateway, 50, warmupSeconds);
    if (wanted.has("anthropic")) {
      await autocannonRun(viaGatewayAnthropic, 50, warmupSeconds);
      await autocannonRun(viaMessages, 50, warmupSeconds);
    }
    if (viaPortkey) {
      focus(portkeyPid);
      await autocannonRun(viaPortkey, 50, warmupSeconds);
    }
    const rows: Row[] = [];
    // The comparisons the targets rest on run in interleaved rounds, each target once per round,
    // and keep each target's median round: on a shared VM one 8 s sample can be off by a third.
    // Every round at the fixed rate (its p99 and the client's stalls), printed beside the median the table keeps.
    const rateRounds = new Map<string, LoadResult[]>();
    const compared = async (
      scenario: string,
      run: (target: Target) => Promise<LoadResult>,
      { by = "throughput", withPortkey = true }: { by?: "throughput" | "p99"; withPortkey?: boolean } = {},
    ) => {
      // target, how it is reached, the process whose CPU and memory its row reports, the proxy it runs
      const entries: [string, Target, number | null, number | null][] = [
        ["upstream", direct, null, null],
        ["bare", viaBare, null, barePid],
        ["gateway", viaGateway, gatewayPid, gatewayPid],
        ...(viaPortkey && withPortkey ? [["portkey", viaPortkey, portkeyPid, portkeyPid] as [string, Target, number | null, number | null]] : []),
      ];
      const samples = new Map<string, Row[]>();
      for (let round = 0; round < rounds; round += 1) {
        for (const [target, via, pid, proxy] of entries) {
          focus(proxy);
          const row = await measure(scenario, target, pid, () => run(via));
          samples.set(target, [...(samples.get(target) ?? []), row]);
        }
      }
      for (const [target] of entries) {
        const taken = samples.get(target) ?? [];
        rows.push(medianRow(taken, by));
        if (by === "p99") rateRounds.set(target, taken.map((row) => row.result));
      }
    };
    if (wanted.has("1c")) await compared("1 connection", (target) => oneConnection(target, measureSeconds));
    // At the fixed rate one 8 s sample's p99 turns on whether a collection or a stall of the VM
    // fell inside it, so it runs in interleaved rounds too and keeps each target's median p99.
    if (wanted.has("rate")) {
      // Warmed at the rate first (the warm-up above is at 50 connections): without it, the first
      // round at the fixed rate had the highest p99 of the three for the bare proxy, and the
      // highest or a tied one for the upstream reached directly, on every run of a day.
      for (const [via, proxy] of [[direct, null], [viaBare, barePid], [viaGateway, gatewayPid]] as const) {
        focus(proxy);
        await fixedRate(via, fixedRatePerSecond, warmupSeconds);
      }
      await compared(`fixed ${fixedRatePerSecond} req/s`, (target) => fixedRate(target, fixedRatePerSecond, measureSeconds), {
        by: "p99",
        withPortkey: false,
      });
    }
    if (wanted.has("50c")) await compared("50 connections", (target) => autocannonRun(target, 50, measureSeconds));

    if (wanted.has("anthropic")) {
      const runs: [string, (target: Target) => Promise<LoadResult>][] = [
        ["1 connection", (target) => oneConnection(target, measureSeconds)],
        ["50 connections", (target) => autocannonRun(target, 50, measureSeconds)],
      ];
      for (const [scenario, run] of runs) {
        // The OpenAI pass-through rows to compare with, unless the scenarios above measured them.
        if (!rows.some((row) => row.scenario === scenario && row.target === "upstream")) {
          focus(null);
          rows.push(await measure(scenario, "upstream", null, () => run(direct)));
          focus(gatewayPid);
          rows.push(await measure(scenario, "gateway", gatewayPid, () => run(viaGateway)));
        }
        focus(null);
        rows.push(await measure(scenario, "anth-up", null, () => run(directAnthropic)));
        focus(gatewayPid);
        rows.push(await measure(scenario, "gw→anth", gatewayPid, () => run(viaGatewayAnthropic)));
        rows.push(await measure(scenario, "gw msgs", gatewayPid, () => run(viaMessages)));
      }
    }

    console.log("");
    console.log(
      [pad("scenario", 18), pad("target", 9), pad("req/s", 9), pad("p50 ms", 8), pad("p99 ms", 8), pad("errors", 7), pad("CPU %", 9), pad("CPU µs/req", 11), pad("RSS MB", 7), "pg CPU µs/req"].join(" "),
    );
    for (const row of rows) {
      console.log(
        [
          pad(row.scenario, 18),
          pad(row.target, 9),
          pad(fmt(row.result.requestsPerSecond, 0), 9),
          pad(fmt(row.result.p50Ms, 3), 8),
          pad(fmt(row.result.p99Ms, 3), 8),
          pad(String(row.result.errors), 7),
          pad(fmt(row.cpuPercent, 0), 9),
          pad(fmt(row.cpuPercent === null ? null : (row.cpuPercent * 10_000) / row.result.requestsPerSecond, 0), 11),
          pad(fmt(row.peakRssMb, 0), 7),
          fmt(row.postgresCpuPercent === null ? null : (row.postgresCpuPercent * 10_000) / row.result.requestsPerSecond, 0),
        ].join(" "),
      );
    }
    const find = (scenario: string, target: string) => rows.find((row) => row.scenario === scenario && row.target === target)?.result;
    const added = (scenario: string, upstreamTarget = "upstream", gatewayTarget = "gateway") => {
      const upstream = find(scenario, upstreamTarget);
      const gateway = find(scenario, gatewayTarget);
      return upstream && gateway ? { p50: gateway.p50Ms - upstream.p50Ms, p99: gateway.p99Ms - upstream.p99Ms } : null;
    };
    const oneConn = added("1 connection");
    const fixed = added(`fixed ${fixedRatePerSecond} req/s`);
    console.log("");
    console.log(`gateway added latency at 1 connection: p50 ${fmt(oneConn?.p50 ?? null, 3)} ms, p99 ${fmt(oneConn?.p99 ?? null, 3)} ms`);
    const bareOneConn = added("1 connection", "upstream", "bare");
    const bare50 = find("50 connections", "bare");
    if (bareOneConn || bare50) {
      console.log(
        `bare Node proxy (the floor here): added p50 at 1 connection ${fmt(bareOneConn?.p50 ?? null, 3)} ms; ${fmt(bare50?.requestsPerSecond ?? null, 0)} req/s at 50 connections`,
      );
    }
    const portkey50 = find("50 connections", "portkey");
    const gateway50 = find("50 connections", "gateway");
    if (portkey50 || find("1 connection", "portkey")) {
      const portkeyOneConn = added("1 connection", "upstream", "portkey");
      console.log(
        `Portkey gateway, same run: added p50 at 1 connection ${fmt(portkeyOneConn?.p50 ?? null, 3)} ms; ${fmt(portkey50?.requestsPerSecond ?? null, 0)} req/s at 50 connections`,
      );
      if (portkey50 && gateway50) {
        console.log(`gateway throughput at 50 connections: ${fmt(gateway50.requestsPerSecond / portkey50.requestsPerSecond, 1)}× Portkey's (target: at least 5×)`);
      }
      // The latency targets are absolute, set on a machine where Portkey measured
      // `portkeyReference`; Portkey measured in this run tells how fast this machine ran.
      if (portkey50 && portkeyOneConn) {
        console.log(
          `this machine against the targets' reference (Portkey ~${portkeyReference.addedP50Ms} ms added at 1 connection, ~${portkeyReference.requestsPerSecond} req/s at 50): Portkey here ${fmt(portkeyOneConn.p50 / portkeyReference.addedP50Ms, 1)}× slower at 1 connection, ${fmt(portkeyReference.requestsPerSecond / portkey50.requestsPerSecond, 1)}× at 50`,
        );
        if (oneConn) {
          console.log(
            `gateway added p50 at 1 connection: ${fmt((oneConn.p50 / portkeyOneConn.p50) * 100, 0)}% of Portkey's (the target, 0.25 against ${portkeyReference.addedP50Ms} ms: ${fmt((0.25 / portkeyReference.addedP50Ms) * 100, 0)}%)`,
          );
        }
      }
    }
    console.log(`gateway added latency at ${fixedRatePerSecond} req/s: p50 ${fmt(fixed?.p50 ?? null, 3)} ms, p99 ${fmt(fixed?.p99 ?? null, 3)} ms`);
    if (rateRounds.size > 0) {
      const each = [...rateRounds].map(([target, results]) => `${target} ${results.map((result) => fmt(result.p99Ms, 1)).join(" / ")}`);
      console.log(`p99 of each round at ${fixedRatePerSecond} req/s (ms): ${each.join("; ")}`);
      const stalls = [...rateRounds].map(
        ([target, results]) =>
          `${target} ${results.map(({ stalls: s }) => (s ? `${s.count}${s.count > 0 ? ` (≤${fmt(s.longestMs, 0)} ms)` : ""}` : "-")).join(" / ")}`,
      );
      console.log(`stalls of the client in each round (its 1 ms tick over ${stallMs} ms late): ${stalls.join("; ")}`);
    }
    if (wanted.has("anthropic")) {
      for (const scenario of ["1 connection", "50 connections"]) {
        const passThrough = added(scenario);
        const translated = added(scenario, "anth-up", "gw→anth");
        const messages = added(scenario, "anth-up", "gw msgs");
        const rate = (target: string) => fmt(find(scenario, target)?.requestsPerSecond ?? null, 0);
        console.log(
          `${scenario}: added p50 ${fmt(passThrough?.p50 ?? null, 3)} ms pass-through (openai), ${fmt(translated?.p50 ?? null, 3)} ms anthropic translation, ${fmt(messages?.p50 ?? null, 3)} ms /v1/messages; req/s ${rate("gateway")} / ${rate("gw→anth")} / ${rate("gw msgs")}`,
        );
      }
      console.log("(gw→anth: OpenAI request → Anthropic Messages API and back; gw msgs: /v1/messages passed through; anth-up: the same upstream direct)");
    }
    const final = gatewayPid === null ? null : processStats(gatewayPid);
    console.log(`gateway resident memory at the end: ${fmt(final?.rssMb ?? null, 0)} MB`);
    console.log("(1 connection and fixed rate: own µs-resolution client; 50 connections: autocannon, whole-ms latencies;");
    console.log(" CPU and RSS: of the gateway, or of Portkey on its rows; pg: the embedded Postgres the gateway logs spend to)");
  });
}

runBench(main);
