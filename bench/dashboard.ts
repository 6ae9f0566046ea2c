/**
 * `npx tsx bench/dashboard.ts`: the dashboard at scale. Seeds 10,000 users, 50,000 keys and
 * 1,000,000 daily usage rows into a fresh database on the Postgres server named by
 * BENCH_POSTGRES_URL (default TEST_POSTGRES_URL, then postgres://postgres@127.0.0.1:5432/postgres),
 * starts the production build (`npm run build` first when NEXT_DIST_DIR has none), signs in
 * sample users and prints p50/p95 of GET /api/keys/manage, GET /api/analytics/usage (30 days) and
 * the server render of /analytics, and the gzipped JavaScript /analytics ships. Prints figures;
 * asserts nothing. The database is dropped afterwards.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import bcrypt from "bcryptjs";
import { createDb } from "../lib/db/client";
import { appMigrations, migrate } from "../lib/db/migrate";
import { freePort } from "../test/gateway/support/gateway";

const root = path.resolve(import.meta.dirname, "..");
const users = Number(process.env.BENCH_USERS ?? 10_000);
const keysPerUser = 5;
const usageRowsPerUser = 100; // 50 days × 2 models
const samples = Number(process.env.BENCH_SAMPLES ?? 300);
const password = "bench password 0000";
const distDir = process.env.NEXT_DIST_DIR ?? ".next";

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function seed(url: string) {
  const sql = createDb(url, { max: 4 });
  await migrate(sql, appMigrations, { bootstrapAuth: true });
  const hash = bcrypt.hashSync(password, 4);
  const started = performance.now();
  // The signup trigger makes each user's profile, 500-credit grant and placeholder key.
  for (let from = 0; from < users; from += 1000) {
    await sql`
      insert into auth.users (email, encrypted_password, email_confirmed_at)
      select 'bench-' || i || '@example.test', ${hash}, now()
      from generate_series(${from}::int, ${Math.min(users, from + 1000) - 1}::int) as i`;
  }
  await sql`
    update public.virtual_keys set is_placeholder = false, secret_hint = substr(md5(id::text), 1, 4),
      litellm_key_id = md5(id::text), sync_status = 'synced', synced_version = desired_version, last_synced_at = now()
    where is_placeholder`;
  await sql`
    insert into public.virtual_keys (user_id, alias, secret_hint, litellm_key_id, sync_status, synced_version, last_synced_at, created_at)
    select p.id, 'key-' || n, substr(md5(p.id::text || n), 1, 4), md5(p.id::text || n), 'synced', 1, now(), now() - make_interval(days => n)
    from public.profiles p cross join generate_series(1, ${keysPerUser - 1}::int) as n`;
  await sql`
    insert into public.usage_daily (user_id, day, key_id, model, requests, prompt_tokens, completion_tokens, spend_micros)
    select k.user_id, current_date - d, k.id, m.model, 1 + (d * 7) % 40, 500 + d * 13, 200 + d * 11, 1000 + d * 97
    from (select distinct on (user_id) user_id, id from public.virtual_keys order by user_id, created_at) k
    cross join generate_series(0, ${usageRowsPerUser / 2 - 1}::int) as d
    cross join (values ('gpt-4o-mini'), ('claude-3-5-sonnet')) as m(model)`;
  await sql`insert into public.usage_imports (user_id, imported_from, last_imported_at, last_attempt_at) select id, current_date, now(), now() from public.profiles`;
  await sql`analyze`;
  const [counts] = await sql<{ users: number; keys: number; usage: number }[]>`
    select (select count(*)::int from public.profiles) as users, (select count(*)::int from public.virtual_keys) as keys,
           (select count(*)::int from public.usage_daily) as usage`;
  await sql.end();
  return { ...counts, seconds: (performance.now() - started) / 1000 };
}

async function startApp(databaseUrl: string, port: number): Promise<ChildProcess> {
  if (!existsSync(path.join(root, distDir, "BUILD_ID"))) {
    console.log(`building the app into ${distDir}…`);
    const build = spawnSync("npm", ["run", "build"], { cwd: root, stdio: "inherit", env: { ...process.env, NEXT_DIST_DIR: distDir } });
    if (build.status !== 0) throw new Error("npm run build failed");
  }
  const child = spawn(process.execPath, [path.join(root, "node_modules/next/dist/bin/next"), "start", "--port", String(port)], {
    cwd: root,
    stdio: ["ignore", "ignore", "inherit"],
    env: {
      ...process.env,
      NEXT_DIST_DIR: distDir,
      DATABASE_URL: databaseUrl,
      AUTH_MODE: "local",
      AUTH_JWT_SECRET: randomBytes(32).toString("hex"),
      KEY_ENCRYPTION_SECRET: randomBytes(32).toString("hex"),
      APP_URL: `http://localhost:${port}`,
      LOG_LEVEL: "warn",
      NEXT_TELEMETRY_DISABLED: "1",
      // No gateway: the page renders from the database alone, as it does when the gateway is down.
      LITELLM_MASTER_KEY: "",
    },
  });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`next start exited with ${child.exitCode}`);
    const up = await fetch(`http://127.0.0.1:${port}/login`).then((res) => res.ok, () => false);
    if (up) return child;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error("the app did not come up");
}

async function measure(name: string, cookies: string[], url: string): Promise<void> {
  const times: number[] = [];
  for (let i = 0; i < samples + 20; i++) {
    const cookie = cookies[i % cookies.length] ?? "";
    const started = performance.now();
    const response = await fetch(url, { headers: { cookie } });
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`${name}: ${response.status}`);
    if (i >= 20) times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  console.log(`${name.padEnd(34)} p50 ${percentile(times, 50).toFixed(1).padStart(6)} ms   p95 ${percentile(times, 95).toFixed(1).padStart(6)} ms   (${samples} sequential requests, ${cookies.length} users)`);
}

async function shippedJavaScript(base: string, cookie: string): Promise<{ files: number; gzipBytes: number; rawBytes: number }> {
  const html = await (await fetch(`${base}/analytics`, { headers: { cookie } })).text();
  const sources = [...new Set([...html.matchAll(/<script[^>]+src="([^"]+\.js)"/g)].map((match) => match[1] ?? ""))].filter(Boolean);
  let gzipBytes = 0;
  let rawBytes = 0;
  for (const source of sources) {
    const body = Buffer.from(await (await fetch(new URL(source, base))).arrayBuffer());
    rawBytes += body.length;
    gzipBytes += gzipSync(body, { level: 9 }).length;
  }
  return { files: sources.length, gzipBytes, rawBytes };
}

async function main() {
  const server = process.env.BENCH_POSTGRES_URL ?? process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  const name = `bench_dashboard_${randomBytes(4).toString("hex")}`;
  const admin = createDb(server, { max: 1 });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(server);
  url.pathname = `/${name}`;
  let app: ChildProcess | undefined;
  try {
    const seeded = await seed(url.toString());
    console.log(`seeded ${seeded.users} users, ${seeded.keys} keys, ${seeded.usage} usage rows in ${seeded.seconds.toFixed(0)} s`);
    if (process.env.BENCH_SEED_ONLY === "1") return;
    const port = await freePort();
    app = await startApp(url.toString(), port);
    const base = `http://127.0.0.1:${port}`;
    const cookies: string[] = [];
    for (let i = 0; i < 50; i++) {
      const login = await fetch(`${base}/api/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: `bench-${Math.floor((i * users) / 50)}@example.test`, password }),
      });
      if (!login.ok) throw new Error(`login answered ${login.status}`);
      cookies.push((login.headers.getSetCookie()[0] ?? "").split(";")[0] ?? "");
    }
    await measure("GET /api/keys/manage", cookies, `${base}/api/keys/manage`);
    await measure("GET /api/analytics/usage (30 days)", cookies, `${base}/api/analytics/usage`);
    await measure("GET /analytics (server render)", cookies, `${base}/analytics`);
    const js = await shippedJavaScript(base, cookies[0] ?? "");
    console.log(`JavaScript shipped to /analytics: ${(js.gzipBytes / 1024).toFixed(1)} kB gzipped (${(js.rawBytes / 1024).toFixed(0)} kB raw, ${js.files} files; the charts chunk loads after)`);
  } finally {
    app?.kill("SIGTERM");
    if (process.env.BENCH_KEEP_DB === "1") console.log(`kept the database: ${url.toString()}`);
    else await admin.unsafe(`drop database if exists ${name} with (force)`).catch(() => undefined);
    await admin.end();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
