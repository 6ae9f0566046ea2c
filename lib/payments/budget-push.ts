import { claimDueUserRows, pushUser, type SyncContext } from "../sync/push";
import type { PaymentServices } from "./services";

/**
 * After a commit that changed a user's credits, try their gateway budget push at once, in the
 * background: the ledger trigger already queued it, so if this attempt fails (gateway down,
 * another worker holds the lease) the worker retries it. Nothing waits for it, so Paystack gets
 * its 200 without waiting on the gateway.
 */
export function pushBudgetSoon(services: PaymentServices, userId: string): void {
  const sync: SyncContext | undefined = services.sync;
  if (!sync) return;
  void (async () => {
    const [row] = await claimDueUserRows(sync, 1, userId);
    if (row) await pushUser(sync, row);
  })().catch((err: unknown) => services.log.warn({ userId, err: (err as Error).message }, "immediate budget push failed; the worker will retry"));
}
