/**
 * The sync benchmark: 10,000 pending key updates pushed through the worker to the real gateway
 * process on loopback, with an embedded Postgres. Prints keys per second and push latency
 * percentiles; asserts nothing. Run alone with `npx tsx bench/sync.ts` (BENCH_SYNC_KEYS to
 * change the count), or as part of `npm run bench`.
 */
import { randomUUID } from "node:crypto";
import pino from "pino";
import { createDb } from "../lib/db/client";
import { startEmbeddedPostgres } from "../lib/db/embedded";
import { serverDatabase } from "./parts";
import { appMigrations, migrate } from "../lib/db/migrate";
import { encryptKeySecret, generateKeySecret, keyToken } from "../lib/keys/secret";
import type { LiteLLMClient } from "../lib/litellm/client";
import { createSyncContext } from "../lib/sync/context";
import type { SyncContext } from "../lib/sync/push";
import { startSyncWorker } from "../lib/sync/worker";
import { mockGatewayConfig } from "../test/support/gateway-config";
import { masterKey, startGateway } from "../test/gateway/support/gateway";

const keyCount = Number(process.env.BENCH_SYNC_KEYS ?? 10_000);
const kek = "bench-key-encryption-secret-0123456789abcdef";

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** A context whose key pushes are timed one by one. */
function timedContext(ctx: SyncContext, durations: number[]): SyncContext {
  const real = ctx.client;
  const timed = <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const started = performance.now();
      try {
        return await call(...args);
      } finally {
        durations.push(performance.now() - started);
      }
    };
  const client: LiteLLMClient = { ...real, updateKey: timed(real.updateKey), generateKey: timed(real.generateKey) };
  return { ...ctx, client };
}

async function drain(sql: ReturnType<typeof createDb>, ctx: SyncContext, table: "virtual_keys"): Promise<number> {
  const started = performance.now();
  const workers = [startSyncWorker(ctx, { idleMs: 20, batchSize: 200 }), startSyncWorker(ctx, { idleMs: 20, batchSize: 200 })];
  for (;;) {
    const [row] = await sql.unsafe<{ n: number }[]>(`select count(*)::int as n from public.${table} where sync_status <> 'synced' and not is_placeholder`);
    if ((row?.n ?? 0) === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(workers.map((worker) => worker.stop()));
  return seconds;
}

/** The embedded PGlite, or a fresh database on the server BENCH_POSTGRES_URL names. */
async function database(): Promise<{ url: string; label: string; stop: () => Promise<void> }> {
  const server = process.env.BENCH_POSTGRES_URL;
  if (!server) {
    const postgres = await startEmbeddedPostgres();
    return { url: postgres.url, label: "embedded PGlite", stop: () => postgres.stop() };
  }
  const created = await serverDatabase(server);
  return { url: created.url, label: "Postgres server", stop: created.drop };
}

async function main() {
  const postgres = await database();
  const sql = createDb(postgres.url, { max: 8 });
  await migrate(sql, appMigrations, { bootstrapAuth: true });
  const gateway = await startGateway({ config: mockGatewayConfig, databaseUrl: postgres.url });
  const base = createSyncContext({ sql, log: pino({ level: "silent" }), litellmBaseUrl: gateway.adminUrl, litellmMasterKey: masterKey, keyEncryptionSecret: kek });

  const [user] = await sql<{ id: string }[]>`insert into auth.users (email) values ('bench@example.test') returning id`;
  const userId = user?.id ?? "";
  const rows = Array.from({ length: keyCount }, (_, i) => {
    const id = randomUUID();
    const secret = generateKeySecret();
    return {
      id,
      user_id: userId,
      alias: `bench-${i}`,
      secret_hint: secret.slice(-4),
      secret_ciphertext: encryptKeySecret(secret, id, kek),
      litellm_key_id: keyToken(secret),
    };
  });
  for (let i = 0; i < rows.length; i += 1000) await sql`insert into public.virtual_keys ${sql(rows.slice(i, i + 1000))}`;

  const createDurations: number[] = [];
  const createSeconds = await drain(sql, timedContext(base, createDurations), "virtual_keys");

  await sql`update public.virtual_keys set rpm_limit = 77, desired_version = desired_version + 1, sync_status = 'pending', next_sync_at = now() where user_id = ${userId} and not is_placeholder`;
  const updateDurations: number[] = [];
  const updateSeconds = await drain(sql, timedContext(base, updateDurations), "virtual_keys");

  const print = (label: string, seconds: number, durations: number[]) => {
    const sorted = [...durations].sort((a, b) => a - b);
    console.log(
      `${label.padEnd(28)} ${String(keyCount).padStart(6)} keys  ${(keyCount / seconds).toFixed(0).padStart(6)} keys/s  push p50 ${percentile(sorted, 50).toFixed(2)} ms  p95 ${percentile(sorted, 95).toFixed(2)} ms  p99 ${percentile(sorted, 99).toFixed(2)} ms`,
    );
  };
  console.log(`\nsync worker → gateway (2 workers, 8 pushes each in flight, ${postgres.label} shared by app and gateway, loopback)`);
  print("create (pending → synced)", createSeconds, createDurations);
  print("update (pending → synced)", updateSeconds, updateDurations);

  await base.client.close();
  await gateway.stop();
  await sql.end();
  await postgres.stop();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
