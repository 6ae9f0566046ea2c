import { execFileSync, spawn, spawnSync } from "node:child_process";
import { Pool } from "undici";
import { buildGateway } from "../scripts/build-gateway";
import { freePort } from "../test/gateway/support/gateway";
import { benchChatBody, benchGatewayEnv, benchKey, root, runBench, stopAll, waitUntilAlive, withUpstreamAndPostgres, writeBenchConfig } from "./parts";

/**
 * `npm run bench:instructions`: the gateway's user-space CPU instructions per request, counted by
 * valgrind's callgrind over a fixed number of requests after a warm-up. Wall-clock figures on a
 * shared VM move by half between runs; an instruction count repeats to within a few per cent, so
 * two versions of the hot path can be compared on any machine. Kernel time (the socket writes) is
 * not counted. Needs valgrind (Debian: `apt-get install valgrind`); prints figures, asserts nothing.
 */

const requests = Number(process.env.BENCH_REQUESTS ?? 3_000);
const warmup = 3_000;
const connections = 4;

async function send(pool: Pool, key: string, count: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next += 1;
      const res = await pool.request({
        method: "POST",
        path: "/v1/chat/completions",
        headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
        body: benchChatBody,
      });
      await res.body.arrayBuffer();
      if (res.statusCode !== 200) throw new Error(`gateway answered ${res.statusCode}`);
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
}

async function main(): Promise<void> {
  if (spawnSync("valgrind", ["--version"]).status !== 0) {
    console.error("bench:instructions needs valgrind (Debian: apt-get install valgrind)");
    process.exit(1);
  }
  await withUpstreamAndPostgres(async (children, { upstreamPort, databaseUrl }) => {
    const configPath = await writeBenchConfig(upstreamPort);
    const gatewayPort = await freePort();
    const adminPort = await freePort();
    let report = "";
    const gateway = spawn(
      "valgrind",
      [
        "--tool=callgrind",
        "--instr-atstart=no",
        // V8 writes the code it runs: valgrind must notice it changing.
        "--smc-check=all-non-file",
        "--callgrind-out-file=/dev/null",
        process.execPath,
        "--max-semi-space-size=8",
        "--max-old-space-size=512",
        await buildGateway(),
      ],
      { cwd: root, env: { ...process.env, ...benchGatewayEnv(databaseUrl, configPath, gatewayPort, adminPort) }, stdio: ["ignore", "ignore", "pipe"] },
    );
    gateway.stderr?.on("data", (chunk: Buffer) => (report += chunk.toString("utf8")));
    children.push(gateway);
    await waitUntilAlive(`http://127.0.0.1:${gatewayPort}/health/liveliness`, gateway, 300_000);
    const key = await benchKey(adminPort);
    const pool = new Pool(`http://127.0.0.1:${gatewayPort}`, { connections });
    console.log(`warming up with ${warmup} requests under valgrind, then counting ${requests}…`);
    await send(pool, key, warmup);
    const control = (...args: string[]) => execFileSync("callgrind_control", [...args, String(gateway.pid)], { stdio: "ignore" });
    control("--instr=on");
    await send(pool, key, requests);
    control("--instr=off");
    await pool.close();
    await stopAll(children);
    const collected = Number(/Collected : (\d+)/.exec(report)?.[1]);
    if (!Number.isFinite(collected)) throw new Error(`no instruction count in valgrind's report:\n${report.slice(-2_000)}`);
    console.log(`gateway instructions per request (user space, ${connections} connections): ${Math.round(collected / requests).toLocaleString("en")}`);
  });
}

runBench(main);
