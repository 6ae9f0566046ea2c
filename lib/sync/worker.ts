import { claimDueKeyRows, claimDueUserRows, pushKey, pushUser, type SyncContext } from "./push";

export interface SyncPassResult {
  claimed: number;
  synced: number;
  failed: number;
}

/** One pass: users' budgets first (keys need their user), then keys; a few pushes at a time. */
export async function runSyncPass(ctx: SyncContext, batchSize = 50, concurrency = 8): Promise<SyncPassResult> {
  const result: SyncPassResult = { claimed: 0, synced: 0, failed: 0 };
  const users = await claimDueUserRows(ctx, batchSize);
  await inParallel(users, concurrency, async (row) => tally(result, await pushUser(ctx, row)));
  const keys = await claimDueKeyRows(ctx, batchSize);
  await inParallel(keys, concurrency, async (row) => tally(result, await pushKey(ctx, row)));
  result.claimed = users.length + keys.length;
  return result;
}

function tally(result: SyncPassResult, outcome: { ok: boolean }) {
  if (outcome.ok) result.synced++;
  else result.failed++;
}

async function inParallel<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++];
      if (item !== undefined) await work(item);
    }
  });
  await Promise.all(lanes);
}

/**
 * Runs passes until stopped: straight on while there is work, otherwise every `idleMs`. Several
 * workers may run at once; leases keep them off each other's rows.
 */
export function startSyncWorker(ctx: SyncContext, options: { idleMs?: number; batchSize?: number } = {}) {
  const idleMs = options.idleMs ?? 1000;
  let stopped = false;
  let wake: (() => void) | undefined;
  const loop = (async () => {
    while (!stopped) {
      let claimed = 0;
      try {
        claimed = (await runSyncPass(ctx, options.batchSize)).claimed;
      } catch (err) {
        ctx.log.error({ err }, "sync pass failed");
      }
      if (claimed === 0 && !stopped) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, idleMs).unref();
        });
      }
    }
  })();
  return {
    /** Finishes the pass in progress (its pushes are recorded), then stops. */
    async stop(): Promise<void> {
      stopped = true;
      wake?.();
      await loop;
    },
  };
}
