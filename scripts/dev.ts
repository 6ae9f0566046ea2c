/**
 * `npm run dev`: the whole product on one machine with no environment variables and no Docker.
 *
 * Starts the embedded Postgres (PGlite on a local port, data in .data/pglite) unless
 * DATABASE_URL names another, applies the migrations, then starts the gateway and the Next.js
 * app as child processes with the secrets generated once into .data/secrets.json. Ctrl-C stops
 * the children first, then the database, so nothing is cut off mid-write.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { createServer } from "node:http";
import { createInterface } from "node:readline";
import { z } from "zod";
import { createDb } from "../lib/db/client";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "../lib/db/embedded";
import { appMigrations, migrate } from "../lib/db/migrate";
import { buildGateway, gatewayNodeFlags } from "./build-gateway";

const root = path.resolve(import.meta.dirname, "..");
// --ephemeral: in-memory database and throwaway secrets, nothing written (used by the browser tests).
// --app=start: serve the production build (`npm run build` first) instead of `next dev`.
const ephemeral = process.argv.includes("--ephemeral");
const appMode = process.argv.includes("--app=start") ? "start" : "dev";
const dataDir = path.join(root, ".data");
const secretsFile = path.join(dataDir, "secrets.json");

const localSecretsSchema = z.object({
  AUTH_JWT_SECRET: z.string().min(32),
  KEY_ENCRYPTION_SECRET: z.string().min(32),
  LITELLM_MASTER_KEY: z.string().startsWith("sk-"),
});
type LocalSecrets = z.infer<typeof localSecretsSchema>;

const colors = { db: 35, gateway: 36, worker: 34, app: 32, dev: 33 } as const;
type Part = keyof typeof colors;

function say(part: Part, line: string) {
  const tag = process.stdout.isTTY ? `\x1b[${colors[part]}m${part.padEnd(7)}\x1b[0m` : part.padEnd(7);
  process.stdout.write(`${tag} │ ${line}\n`);
}

/** Secrets for local use: generated on the first run, then reused so sessions survive restarts. */
async function localSecrets(): Promise<LocalSecrets> {
  if (ephemeral) {
    return {
      AUTH_JWT_SECRET: randomBytes(32).toString("hex"),
      KEY_ENCRYPTION_SECRET: randomBytes(32).toString("hex"),
      LITELLM_MASTER_KEY: `sk-${randomBytes(24).toString("base64url")}`,
    };
  }
  if (existsSync(secretsFile)) {
    const parsed = localSecretsSchema.safeParse(JSON.parse(await readFile(secretsFile, "utf8")));
    if (parsed.success) return parsed.data;
    say("dev", `${path.relative(root, secretsFile)} is incomplete; generating what is missing`);
  }
  const existing = existsSync(secretsFile) ? (JSON.parse(await readFile(secretsFile, "utf8")) as Partial<LocalSecrets>) : {};
  const secrets: LocalSecrets = {
    AUTH_JWT_SECRET: existing.AUTH_JWT_SECRET ?? randomBytes(32).toString("hex"),
    KEY_ENCRYPTION_SECRET: existing.KEY_ENCRYPTION_SECRET ?? randomBytes(32).toString("hex"),
    LITELLM_MASTER_KEY: existing.LITELLM_MASTER_KEY ?? `sk-${randomBytes(24).toString("base64url")}`,
  };
  await writeFile(secretsFile, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  await chmod(secretsFile, 0o600);
  say("dev", `generated local secrets in ${path.relative(root, secretsFile)}`);
  return secrets;
}

async function startDatabase(): Promise<{ url: string; embedded?: EmbeddedPostgres }> {
  if (process.env.DATABASE_URL) {
    say("db", `using DATABASE_URL (${new URL(process.env.DATABASE_URL).host})`);
    return { url: process.env.DATABASE_URL };
  }
  const preferredPort = Number(process.env.PGLITE_PORT ?? 54329);
  const dataPath = ephemeral ? undefined : path.join(dataDir, "pglite");
  const embedded = await startEmbeddedPostgres({ dataDir: dataPath, port: preferredPort }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== "EADDRINUSE") throw err;
    say("db", `port ${preferredPort} is taken; using a free one`);
    return startEmbeddedPostgres({ dataDir: dataPath, port: 0 });
  });
  say("db", `embedded Postgres (PGlite) on ${embedded.url.replace(/:[^:@/]+@/, ":***@")}, data ${dataPath ? "in .data/pglite" : "in memory"}`);
  return { url: embedded.url, embedded };
}

function run(part: Part, command: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(command, args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) createInterface({ input: stream }).on("line", (line) => say(part, line));
  }
  return child;
}

async function waitForHttp(url: string, timeoutMs: number, child: ChildProcess): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(30_000) });
      if (response.status < 500) return true;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  return false;
}

async function main() {
  await mkdir(dataDir, { recursive: true });
  const secrets = await localSecrets();
  const database = await startDatabase();

  const sql = createDb(database.url, { max: 1 });
  const migrated = await migrate(sql, appMigrations, { bootstrapAuth: true });
  await sql.end();
  say("db", `migrations: ${migrated.applied.length} applied, ${migrated.skipped.length} already applied`);

  const appPort = Number(process.env.PORT ?? 3000);
  const gatewayPort = Number(process.env.GATEWAY_PORT ?? 4000);
  const gatewayAdminPort = Number(process.env.GATEWAY_ADMIN_PORT ?? 4001);
  const env: NodeJS.ProcessEnv = {
    // REDIS_URL, when set, reaches the gateway with the rest: its instances then share limits.
    ...process.env,
    ...secrets,
    ...pick(process.env, ["AUTH_JWT_SECRET", "KEY_ENCRYPTION_SECRET", "LITELLM_MASTER_KEY"]),
    DATABASE_URL: database.url,
    PORT: String(appPort),
    GATEWAY_PORT: String(gatewayPort),
    GATEWAY_ADMIN_PORT: String(gatewayAdminPort),
    LITELLM_BASE_URL: process.env.LITELLM_BASE_URL ?? `http://127.0.0.1:${gatewayAdminPort}`,
    GATEWAY_PUBLIC_URL: process.env.GATEWAY_PUBLIC_URL ?? `http://localhost:${gatewayPort}`,
    APP_URL: process.env.APP_URL ?? `http://localhost:${appPort}`,
    // The machine may have no route to the internet; Next.js would try to send telemetry.
    NEXT_TELEMETRY_DISABLED: "1",
    // Browser tests wait for usage to be imported; they should not wait the production 30 s.
    ...(ephemeral ? { USAGE_IMPORT_INTERVAL_MS: process.env.USAGE_IMPORT_INTERVAL_MS ?? "1000", PAYSTACK_SIMULATOR: process.env.PAYSTACK_SIMULATOR ?? "on" } : {}),
  };

  const children = new Map<Part, ChildProcess>();
  let stopping = false;

  async function stop(code: number) {
    if (stopping) return;
    stopping = true;
    say("dev", "stopping…");
    await Promise.all(
      [...children].map(
        ([part, child]) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
            child.once("exit", () => {
              clearTimeout(timer);
              say(part, "stopped");
              resolve();
            });
            child.kill("SIGTERM");
          }),
      ),
    );
    if (database.embedded) {
      await database.embedded.stop();
      say("db", "stopped");
    }
    process.exit(code);
  }
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));

  // Parts stopped on purpose through the test control below; their exit is not a crash.
  const paused = new Set<Part>();
  function supervise(part: Part, child: ChildProcess) {
    children.set(part, child);
    child.once("exit", (code, signal) => {
      if (stopping || paused.has(part)) return;
      say(part, `exited (${signal ?? `code ${code}`}); stopping everything`);
      void stop(code || 1);
    });
  }

  const gatewayEntry = path.join(root, "gateway/main.ts");
  if (existsSync(gatewayEntry)) {
    // The same bundle `npm run gateway` runs, rebuilt at every start so it is never stale.
    const gatewayArgs = [...gatewayNodeFlags, await buildGateway()];
    const gateway = run("gateway", process.execPath, gatewayArgs, { ...env, CREDITGATE_SERVICE: "gateway" });
    supervise("gateway", gateway);
    const ready = await waitForHttp(`http://127.0.0.1:${gatewayPort}/health/liveliness`, 60_000, gateway);
    if (!ready) return stop(1);
    if (ephemeral) startTestControl(gatewayAdminPort + 1, paused, children, () => run("gateway", process.execPath, gatewayArgs, { ...env, CREDITGATE_SERVICE: "gateway" }), gatewayPort, supervise);
  }

  const workerEntry = path.join(root, "scripts/worker.ts");
  supervise("worker", run("worker", process.execPath, ["--import", "tsx", workerEntry], { ...env, CREDITGATE_SERVICE: "worker" }));

  const nextBin = path.join(root, "node_modules/next/dist/bin/next");
  const app = run("app", process.execPath, [nextBin, appMode, "--port", String(appPort)], { ...env, CREDITGATE_SERVICE: "app" });
  supervise("app", app);
  const appReady = await waitForHttp(`http://127.0.0.1:${appPort}/signup`, 120_000, app);
  if (!appReady) return stop(1);

  const lines = [
    `dashboard      ${env.APP_URL}  (sign up at ${env.APP_URL}/signup)`,
    existsSync(gatewayEntry) ? `gateway        ${env.GATEWAY_PUBLIC_URL}/v1  (OpenAI-compatible)` : null,
    existsSync(gatewayEntry) ? `gateway admin  ${env.LITELLM_BASE_URL}  (master key in .data/secrets.json)` : null,
    `sync worker    pushing key and budget changes to ${env.LITELLM_BASE_URL}`,
    `database       ${database.embedded ? (ephemeral ? "embedded PGlite, in memory" : "embedded PGlite, .data/pglite") : "DATABASE_URL"}`,
    "Ctrl-C stops everything.",
  ].filter((line): line is string => line !== null);
  say("dev", "ready");
  for (const line of lines) say("dev", `  ${line}`);
}

/**
 * --ephemeral only: a loopback-only control for browser tests that must see the gateway go down
 * and come back (POST /gateway/stop, POST /gateway/start on GATEWAY_ADMIN_PORT + 1). A stack
 * with real data never opens it.
 */
function startTestControl(
  port: number,
  paused: Set<Part>,
  children: Map<Part, ChildProcess>,
  startGatewayProcess: () => ChildProcess,
  gatewayPort: number,
  supervise: (part: Part, child: ChildProcess) => void,
) {
  const server = createServer((req, res) => {
    const answer = (status: number, text: string) => {
      res.writeHead(status, { "content-type": "text/plain" });
      res.end(text);
    };
    void (async () => {
      if (req.method === "POST" && req.url === "/gateway/stop") {
        const child = children.get("gateway");
        if (!child || child.exitCode !== null || child.signalCode !== null) return answer(200, "already stopped");
        paused.add("gateway");
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
        say("dev", "gateway stopped by the test control");
        return answer(200, "stopped");
      }
      if (req.method === "POST" && req.url === "/gateway/start") {
        const current = children.get("gateway");
        if (current && current.exitCode === null && current.signalCode === null) return answer(200, "already running");
        const child = startGatewayProcess();
        supervise("gateway", child);
        paused.delete("gateway");
        const ready = await waitForHttp(`http://127.0.0.1:${gatewayPort}/health/liveliness`, 60_000, child);
        say("dev", `gateway ${ready ? "started" : "failed to start"} by the test control`);
        return answer(ready ? 200 : 500, ready ? "started" : "failed");
      }
      answer(404, "POST /gateway/stop or /gateway/start");
    })();
  });
  server.listen(port, "127.0.0.1").unref();
}

function pick(source: NodeJS.ProcessEnv, names: string[]): Record<string, string> {
  return Object.fromEntries(names.flatMap((name) => (source[name] ? [[name, source[name]]] : [])));
}

main().catch((err: unknown) => {
  console.error(`npm run dev failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
