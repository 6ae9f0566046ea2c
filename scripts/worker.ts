/**
 * `npm run worker`: pushes pending key and budget changes to the gateway until stopped, with
 * backoff and a circuit breaker. Several may run at once. SIGINT/SIGTERM finish the pass in
 * progress first, so no push is left half-recorded.
 */
import { z } from "zod";
import { createDb } from "../lib/db/client";
import { envFields, exitOnEnvError, parseEnv } from "../lib/env";
import { log } from "../lib/log";
import { createSyncContext } from "../lib/sync/context";
import { startSyncWorker } from "../lib/sync/worker";

const workerEnvSchema = z.object({
  DATABASE_URL: envFields.DATABASE_URL,
  LITELLM_BASE_URL: envFields.LITELLM_BASE_URL,
  LITELLM_MASTER_KEY: envFields.LITELLM_MASTER_KEY.unwrap(),
  KEY_ENCRYPTION_SECRET: envFields.KEY_ENCRYPTION_SECRET,
  SYNC_IDLE_MS: z.coerce.number().int().min(10).max(60_000).default(1000),
  // How long a claimed row stays claimed: a worker that dies mid-push frees its rows after this.
  SYNC_LEASE_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
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
  const worker = startSyncWorker(ctx, { idleMs: env.SYNC_IDLE_MS });
  log.info({ gateway: ctx.client.baseUrl }, "sync worker started");
  const stop = async () => {
    await worker.stop();
    await ctx.client.close();
    await sql.end({ timeout: 5 });
    log.info("sync worker stopped");
    process.exit(0);
  };
  process.once("SIGINT", () => void stop());
  process.once("SIGTERM", () => void stop());
}

void main();
