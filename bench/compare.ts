import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import path from "node:path";
import { autocannonRun, fixedRate, oneConnection, type LoadResult, type Target } from "./load";
import {
  benchChatBody,
  benchGatewayEnv,
  benchKey,
  firstLine,
  processStats,
  root,
  runOnly,
  runBench,
  spawnPart,
  waitUntilAlive,
  withUpstreamAndPostgres,
  writeBenchConfig,
} from "./parts";
import { buildGateway, gatewayNodeFlags } from "../scripts/build-gateway";
import { freePort } from "../test/gateway/support/gateway";

/**
 * `npm run bench:compare`: two or more gateway variants side by side, in interleaved rounds
 * against one upstream, each with a database of its own, beside the upstream reached directly and
 * the bare Node proxy. On this VM a whole run can be a third slower than the one before it;
 * variants measured round by round in turn see the same machine, so their medians can be compared
 * where two runs of `npm run bench:gateway` cannot. Prints figures; asserts nothing.
 *
 * BENCH_COMPARE lists the variants, separated by spaces, each `label=bundle?options`:
 * - bundle: a build of the gateway in gateway/dist/ (it finds its migrations beside it), e.g. a
 *   copy of gateway/dist/main.mjs made before a change; empty for the current source, built now;
 * - options, URL-encoded: `setting.NAME=VALUE` adds `NAME: VALUE` to general_settings,
 *   `node=FLAGS` adds node flags, any UPPER_CASE name is an environment variable.
 * For example `BENCH_COMPARE="before=gateway/dist/before.mjs after= quiet=?LOG_LEVEL=warn
 * nolog=?setting.disable_spend_logs=true"`.
 *
 * BENCH_MODE: `1c` (one connection, the default), `50c` (autocannon, 50 connections) or `rate`
 * (500 req/s); BENCH_ROUNDS (default 8) rounds of BENCH_SECONDS (default 3) per target.
 */

interface Variant {
  label: string;
  bundle: string;
  env: Record<string, string>;
  nodeArgs: string[];
  settings: string[];
}

/** The variants of BENCH_COMPARE; an empty bundle ("") stands for the current source. */
function parseVariants(spec: string): Variant[] {
  return spec
    .split(/\s+/)
    .filter((item) => item !== "")
    .map((item) => {
      const equals = item.indexOf("=");
      if (equals <= 0) throw new Error(`BENCH_COMPARE: "${item}" is not label=bundle?options`);
      const label = item.slice(0, equals);
      const [bundle = "", query = ""] = item.slice(equals + 1).split("?", 2);
      const variant: Variant = { label, bundle: bundle === "" ? "" : path.resolve(root, bundle), env: {}, nodeArgs: [], settings: [] };
      for (const [name, value] of new URLSearchParams(query)) {
        if (name === "node") variant.nodeArgs.push(...value.split(" ").filter((flag) => flag !== ""));
        else if (name.startsWith("setting.")) variant.settings.push(`  ${name.slice("setting.".length)}: ${value}`);
        else if (/^[A-Z][A-Z0-9_]*$/.test(name)) variant.env[name] = value;
        else throw new Error(`BENCH_COMPARE: unknown option "${name}" in ${label} (setting.NAME, node or an UPPER_CASE variable)`);
      }
      return variant;
    });
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN;
}

async function main(): Promise<void> {
  const mode = process.env.BENCH_MODE ?? "1c";
  const load: Record<string, (target: Target, seconds: number) => Promise<LoadResult>> = {
    "1c": oneConnection,
    "50c": (target, seconds) => autocannonRun(target, 50, seconds),
    rate: (target, seconds) => fixedRate(target, 500, seconds),
  };
  const run = load[mode];
  if (!run) throw new Error(`BENCH_MODE must be 1c, 50c or rate, not ${mode}`);
  const rounds = Math.max(1, Number.parseInt(process.env.BENCH_ROUNDS ?? "", 10) || 8);
  const seconds = Math.max(1, Number.parseInt(process.env.BENCH_SECONDS ?? "", 10) || 3);
  const variants = parseVariants(process.env.BENCH_COMPARE || "current=");
  if (variants.some((variant) => variant.bundle === "")) {
    const current = await buildGateway();
    for (const variant of variants) if (variant.bundle === "") variant.bundle = current;
  }

  await withUpstreamAndPostgres(async (children, { upstreamPort, databaseUrl, anotherDatabase }) => {
    const bare = spawnPart("bench/bare-proxy.ts", { BENCH_UPSTREAM_ORIGIN: `http://127.0.0.1:${upstreamPort}` });
    children.push(bare);
    const { port: barePort } = await firstLine<{ port: number }>(bare);
    const direct: Target = {
      url: `http://127.0.0.1:${upstreamPort}`,
      path: "/v1/chat/completions",
      headers: { "content-type": "application/json", authorization: "Bearer upstream-bench-key" },
      body: benchChatBody,
    };
    const targets: { label: string; target: Target; pid: number | null }[] = [
      { label: "upstream", target: direct, pid: null },
      { label: "bare proxy", target: { ...direct, url: `http://127.0.0.1:${barePort}` }, pid: bare.pid ?? null },
    ];
    // Each variant has a database of its own: a gateway stopped outside its turn (runOnly) in the
    // middle of a query would hold a shared embedded Postgres from the others, and each variant's
    // spend writes cost its own rounds only.
    for (const [index, variant] of variants.entries()) {
      const variantDatabase = index === 0 ? databaseUrl : await anotherDatabase();
      const configPath = await writeBenchConfig(upstreamPort, variant.settings.join("\n"));
      const port = await freePort();
      const adminPort = await freePort();
      const output = openSync("/dev/null", "w");
      const child = spawn(process.execPath, [...gatewayNodeFlags, ...variant.nodeArgs, variant.bundle], {
        cwd: root,
        env: { ...process.env, ...benchGatewayEnv(variantDatabase, configPath, port, adminPort), ...variant.env },
        stdio: ["ignore", output, "inherit"],
      });
      closeSync(output);
      children.push(child);
      await waitUntilAlive(`http://127.0.0.1:${port}/health/liveliness`, child);
      const key = await benchKey(adminPort);
      targets.push({
        label: variant.label,
        target: { url: `http://127.0.0.1:${port}`, path: "/v1/chat/completions", headers: { "content-type": "application/json", authorization: `Bearer ${key}` }, body: benchChatBody },
        pid: child.pid ?? null,
      });
    }

    console.log(`${mode}: ${rounds} interleaved rounds of ${seconds}s per target, after a 3s warm-up of each…`);
    // Each measurement runs with only its own proxy (none for the upstream reached directly).
    const proxies = targets.map(({ pid }) => pid);
    for (const { target, pid } of targets) {
      runOnly(proxies, pid);
      await run(target, 3);
    }
    const samples = new Map<string, { p50: number[]; p99: number[]; rps: number[]; cpu: number[]; rss: number[]; stalls: number[] }>();
    for (let round = 0; round < rounds; round += 1) {
      for (const { label, target, pid } of targets) {
        runOnly(proxies, pid);
        const before = pid === null ? null : processStats(pid);
        const result = await run(target, seconds);
        const after = pid === null ? null : processStats(pid);
        const sample = samples.get(label) ?? { p50: [], p99: [], rps: [], cpu: [], rss: [], stalls: [] };
        sample.p50.push(result.p50Ms * 1000);
        sample.p99.push(result.p99Ms * 1000);
        sample.rps.push(result.requestsPerSecond);
        if (before && after && result.requests > 0) sample.cpu.push(((after.cpuSeconds - before.cpuSeconds) * 1e6) / result.requests);
        if (after) sample.rss.push(after.rssMb);
        if (result.stalls) sample.stalls.push(result.stalls.count);
        samples.set(label, sample);
      }
    }

    const upstreamP50 = median(samples.get("upstream")?.p50 ?? []);
    const width = Math.max(12, ...targets.map(({ label }) => label.length + 2));
    console.log("");
    console.log(["target".padEnd(width), "req/s".padEnd(8), "p50 µs".padEnd(9), "added µs".padEnd(9), "p99 µs".padEnd(9), "CPU µs/req".padEnd(11), "RSS MB".padEnd(7), "p50 of each round"].join(" "));
    for (const { label, pid } of targets) {
      const sample = samples.get(label);
      if (!sample) continue;
      const p50 = median(sample.p50);
      console.log(
        [
          label.padEnd(width),
          median(sample.rps).toFixed(0).padEnd(8),
          p50.toFixed(1).padEnd(9),
          (label === "upstream" ? "" : (p50 - upstreamP50).toFixed(1)).padEnd(9),
          median(sample.p99).toFixed(0).padEnd(9),
          (pid === null ? "" : median(sample.cpu).toFixed(0)).padEnd(11),
          (sample.rss.length === 0 ? "" : Math.max(...sample.rss).toFixed(0)).padEnd(7),
          sample.p50.map((value) => value.toFixed(0)).join(" "),
        ].join(" "),
      );
    }
    if (mode === "rate") {
      // At a fixed rate the p99 is the figure that moves: a collection or a stall in one round sets
      // it. The client's stalls (its 1 ms tick over `stallMs` late) are the machine's share.
      for (const { label } of targets) {
        const sample = samples.get(label);
        console.log(
          `${label.padEnd(width)} p99 of each round: ${(sample?.p99 ?? []).map((value) => value.toFixed(0)).join(" ")}; stalls of the client: ${(sample?.stalls ?? []).join(" ")}`,
        );
      }
    }
    console.log("(medians over the rounds; RSS: the most after any round; 50c latencies are autocannon's whole milliseconds)");
  });
}

runBench(main);
