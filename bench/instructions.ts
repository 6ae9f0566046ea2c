import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import path from "node:path";
import { Pool } from "undici";
import { buildGateway } from "../scripts/build-gateway";
import { freePort } from "../test/gateway/support/gateway";
import {
  benchChatBody,
  benchGatewayEnv,
  benchKey,
  firstLine,
  portkeyHeaders,
  root,
  runBench,
  stopAll,
  waitUntilAlive,
  withUpstreamAndPostgres,
  writeBenchConfig,
} from "./parts";

/**
 * `npm run bench:instructions`: user-space CPU instructions per request, counted by valgrind's
 * callgrind over a fixed number of requests after a warm-up, for the gateway, the bare Node proxy
 * (the floor) and the Portkey gateway (the comparison), each alone under valgrind against
 * the same upstream. Wall-clock figures on a shared VM move by half between runs; an instruction
 * count repeats to within a few per cent, so two versions of the hot path, or the gateway and
 * Portkey, can be compared on any machine. Kernel time (the socket writes) is not counted.
 * BENCH_TARGETS=gateway,bare,portkey picks targets; BENCH_CONNECTIONS (1, as the latency target)
 * and BENCH_REQUESTS (3,000) the load. Needs valgrind (Debian: `apt-get install valgrind`); prints
 * figures, asserts nothing.
 */

const requests = Number(process.env.BENCH_REQUESTS ?? 3_000);
const warmup = 3_000;
const connections = Number(process.env.BENCH_CONNECTIONS ?? 1);

interface Target {
  /** Node's arguments after the valgrind ones: the script and its flags. */
  args: string[];
  env: Record<string, string>;
  /** Resolves to the port once the process answers. */
  ready: (child: ChildProcess) => Promise<number>;
  /** The request headers: a key for the gateway, the upstream's address for Portkey. */
  headers: () => Record<string, string> | Promise<Record<string, string>>;
}

async function send(pool: Pool, headers: Record<string, string>, count: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next += 1;
      const res = await pool.request({ method: "POST", path: "/v1/chat/completions", headers, body: benchChatBody });
      await res.body.arrayBuffer();
      if (res.statusCode !== 200) throw new Error(`answered ${res.statusCode}`);
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
}

/** Runs `target` under callgrind, counts the instructions of `requests` requests, stops it. */
async function count(children: ChildProcess[], target: Target): Promise<number> {
  let report = "";
  const child = spawn(
    "valgrind",
    [
      "--tool=callgrind",
      "--instr-atstart=no",
      // V8 writes the code it runs: valgrind must notice it changing.
      "--smc-check=all-non-file",
      "--callgrind-out-file=/dev/null",
      process.execPath,
      ...target.args,
    ],
    { cwd: root, env: { ...process.env, ...target.env }, stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stderr?.on("data", (chunk: Buffer) => (report += chunk.toString("utf8")));
  children.push(child);
  const port = await target.ready(child);
  // Read and dropped: a full pipe would stop a process that logs.
  child.stdout?.resume();
  const headers = await target.headers();
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections });
  await send(pool, headers, warmup);
  const control = (...args: string[]) => execFileSync("callgrind_control", [...args, String(child.pid)], { stdio: "ignore" });
  control("--instr=on");
  await send(pool, headers, requests);
  control("--instr=off");
  await pool.close();
  await stopAll([child]);
  const collected = Number(/Collected : (\d+)/.exec(report)?.[1]);
  if (!Number.isFinite(collected)) throw new Error(`no instruction count in valgrind's report:\n${report.slice(-2_000)}`);
  return collected / requests;
}

const alive = async (child: ChildProcess, port: number, route: string) => {
  // Startup under valgrind takes a minute or more.
  await waitUntilAlive(`http://127.0.0.1:${port}${route}`, child, 300_000);
  return port;
};

async function main(): Promise<void> {
  if (spawnSync("valgrind", ["--version"]).status !== 0) {
    console.error("bench:instructions needs valgrind (Debian: apt-get install valgrind)");
    process.exit(1);
  }
  const wanted = (process.env.BENCH_TARGETS ?? "gateway,bare,portkey").split(",");
  await withUpstreamAndPostgres(async (children, { upstreamPort, databaseUrl }) => {
    const upstreamOrigin = `http://127.0.0.1:${upstreamPort}`;
    const configPath = await writeBenchConfig(upstreamPort);
    const gatewayPort = await freePort();
    const adminPort = await freePort();
    const portkeyPort = await freePort();
    const targets: Record<string, Target> = {
      gateway: {
        args: ["--max-semi-space-size=8", "--max-old-space-size=512", await buildGateway()],
        env: benchGatewayEnv(databaseUrl, configPath, gatewayPort, adminPort),
        ready: (child) => alive(child, gatewayPort, "/health/liveliness"),
        headers: async () => ({ "content-type": "application/json", authorization: `Bearer ${await benchKey(adminPort)}` }),
      },
      bare: {
        args: ["--import", "tsx", "bench/bare-proxy.ts"],
        env: { BENCH_UPSTREAM_ORIGIN: upstreamOrigin },
        ready: async (child) => (await firstLine<{ port: number }>(child)).port,
        headers: () => ({ "content-type": "application/json" }),
      },
      portkey: {
        args: [path.join(root, "node_modules/@portkey-ai/gateway/build/start-server.js"), `--port=${portkeyPort}`, "--headless"],
        env: { NODE_ENV: "production" },
        ready: (child) => alive(child, portkeyPort, "/"),
        headers: () => portkeyHeaders(upstreamOrigin),
      },
    };
    console.log(`each target alone under valgrind: ${warmup} requests of warm-up, then ${requests} counted, at ${connections} connection(s)…`);
    const figures = new Map<string, number>();
    for (const name of wanted) {
      const target = targets[name];
      if (!target) throw new Error(`BENCH_TARGETS: no target ${name} (gateway, bare, portkey)`);
      const perRequest = await count(children, target);
      figures.set(name, perRequest);
      console.log(`${name}: ${Math.round(perRequest).toLocaleString("en")} instructions per request (user space)`);
    }
    const gateway = figures.get("gateway");
    const bare = figures.get("bare");
    const portkey = figures.get("portkey");
    if (gateway !== undefined && portkey !== undefined) {
      // The one-connection target (0.25 ms added where Portkey added 0.55) is 45% of Portkey's.
      console.log(`gateway's instructions as a share of Portkey's: ${Math.round((100 * gateway) / portkey)}% (the one-connection target is 45% of Portkey's added latency)`);
      if (bare !== undefined) {
        console.log(
          `above the bare proxy: gateway ${Math.round(gateway - bare).toLocaleString("en")}, Portkey ${Math.round(portkey - bare).toLocaleString("en")} instructions per request`,
        );
      }
    }
  });
}

runBench(main);
