/**
 * `npm run worker`: pushes pending key and budget changes to the gateway until stopped, with
 * backoff and a circuit breaker. Several may run at once. SIGINT/SIGTERM finish the pass in
 * progress first, so no push is left half-recorded.
 */
import { z } from "zod";
import { createDb } from "../lib/db/client";
import { envFields, exitOnEnvError, parseEnv } from "../lib/env";
import { log } from "../lib/log";
import { reportBreaker } from "../lib/metrics";
import { startMetricsServer } from "../lib/metrics/server";
import { createSyncContext } from "../lib/sync/context";
import { startSyncWorker } from "../lib/sync/worker";
import { startUsageImporter } from "../lib/analytics/import";
import { reconcilePendingPayments } from "../lib/payments/reconcile";
import { createPaymentServices } from "../lib/payments/services";

const workerEnvSchema = z.object({
  DATABASE_URL: envFields.DATABASE_URL,
  LITELLM_BASE_URL: envFields.LITELLM_BASE_URL,
  LITELLM_MASTER_KEY: envFields.LITELLM_MASTER_KEY.unwrap(),
  KEY_ENCRYPTION_SECRET: envFields.KEY_ENCRYPTION_SECRET,
  SYNC_IDLE_MS: z.coerce.number().int().min(10).max(60_000).default(1000),
  // How long a claimed row stays claimed: a worker that dies mid-push frees its rows after this.
  SYNC_LEASE_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  // How often the gateway's spend logs are imported into the usage rollups.
  USAGE_IMPORT_INTERVAL_MS: z.coerce.number().int().min(100).max(3_600_000).default(30_000),
  // Payments whose webhook and callback never arrived are re-verified with Paystack this often.
  RECONCILE_INTERVAL_MS: z.coerce.number().int().min(1000).max(86_400_000).default(5 * 60_000),
  PAYSTACK_SECRET_KEY: envFields.PAYSTACK_SECRET_KEY,
  PAYSTACK_BASE_URL: envFields.PAYSTACK_BASE_URL,
  PAYSTACK_SIMULATOR: envFields.PAYSTACK_SIMULATOR,
  APP_URL: envFields.APP_URL,
  PAYMENTS_CURRENCY: envFields.PAYMENTS_CURRENCY,
  PAYMENTS_PRICE_PER_CREDIT: envFields.PAYMENTS_PRICE_PER_CREDIT,
  PAYMENTS_PACKS: envFields.PAYMENTS_PACKS,
  PAYMENTS_MIN_CREDITS: envFields.PAYMENTS_MIN_CREDITS,
  PAYMENTS_MAX_CREDITS: envFields.PAYMENTS_MAX_CREDITS,
  WORKER_METRICS_PORT: envFields.WORKER_METRICS_PORT,
  WORKER_METRICS_HOST: envFields.WORKER_METRICS_HOST,
  METRICS_TOKEN: envFields.METRICS_TOKEN,
});

async function main() {
  let env: z.infer<typeof workerEnvSchema>;
  try {
    env = parseEnv(workerEnvSchema);
  } catch (err) {
    exitOnEnvError(err);
  }
  const sql = createDb(env.DATABASE_URL, { max: 4 });
  const ctx = createSyncContext({
    sql,
    log: log.child({ component: "worker" }),
    litellmBaseUrl: env.LITELLM_BASE_URL,
    litellmMasterKey: env.LITELLM_MASTER_KEY,
    keyEncryptionSecret: env.KEY_ENCRYPTION_SECRET,
    leaseSeconds: env.SYNC_LEASE_SECONDS,
  });
  reportBreaker(ctx.breaker.state);
  const metrics = env.WORKER_METRICS_PORT
    ? await startMetricsServer({ port: env.WORKER_METRICS_PORT, host: env.WORKER_METRICS_HOST, token: env.METRICS_TOKEN })
    : null;
  const worker = startSyncWorker(ctx, { idleMs: env.SYNC_IDLE_MS });
  const importer = startUsageImporter({ sql, client: ctx.client, log: log.child({ component: "usage-import" }) }, { intervalMs: env.USAGE_IMPORT_INTERVAL_MS });
  const reconciler = startReconciler(env, sql);
  log.info(
    {
      gateway: ctx.client.baseUrl,
      reconcilingPayments: reconciler !== null,
      metrics: env.WORKER_METRICS_PORT ? `http://${env.WORKER_METRICS_HOST}:${env.WORKER_METRICS_PORT}/metrics` : null,
    },
    "sync worker started",
  );
  const stop = async () => {
    if (reconciler) clearInterval(reconciler);
    metrics?.close();
    await Promise.all([worker.stop(), importer.stop()]);
    await ctx.client.close();
    await sql.end({ timeout: 5 });
    log.info("sync worker stopped");
    process.exit(0);
  };
  process.once("SIGINT", () => void stop());
  process.once("SIGTERM", () => void stop());
}

/**
 * With a real Paystack key, pending payments are re-verified on a schedule, through the same
 * idempotent fulfil as webhook and callback. The local simulator keeps its checkouts in the
 * app's memory, so there is nothing for the worker to reconcile there.
 */
function startReconciler(env: z.infer<typeof workerEnvSchema>, sql: ReturnType<typeof createDb>): NodeJS.Timeout | null {
  if (!env.PAYSTACK_SECRET_KEY) return null;
  const payments = createPaymentServices(env, sql, log.child({ component: "reconcile" }));
  if (!payments) return null;
  const timer = setInterval(() => {
    reconcilePendingPayments(payments).then(
      (outcomes) => {
        if (Object.keys(outcomes).length > 0) log.info({ outcomes }, "pending payments reconciled");
      },
      (err: unknown) => log.error({ err }, "payment reconciliation failed"),
    );
  }, env.RECONCILE_INTERVAL_MS);
  timer.unref();
  return timer;
}

void main();
