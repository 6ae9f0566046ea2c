import { fulfilPayment } from "./fulfil";
import type { PaymentServices } from "./services";

export interface ReconcileOptions {
  /** Leave younger payments alone: their customer may still be at the checkout. */
  minAgeSeconds?: number;
  /** Give up on older ones: an unpaid Paystack checkout does not come back after two days. */
  maxAgeSeconds?: number;
  limit?: number;
}

/**
 * Re-verifies pending payments whose webhook and callback both never arrived (a closed tab, a
 * webhook URL misconfigured), through the same idempotent fulfil: paid ones are credited,
 * failed or abandoned ones recorded, still-open ones left pending. Safe to run from several
 * processes at once: fulfil locks each row and credits once.
 */
export async function reconcilePendingPayments(services: PaymentServices, options: ReconcileOptions = {}): Promise<Record<string, string>> {
  const minAge = options.minAgeSeconds ?? 15 * 60;
  const maxAge = options.maxAgeSeconds ?? 48 * 3600;
  const rows = await services.sql<{ reference: string }[]>`
    select reference from public.payments
    where status = 'pending'
      and created_at < now() - make_interval(secs => ${minAge})
      and created_at > now() - make_interval(secs => ${maxAge})
    order by created_at
    limit ${options.limit ?? 50}`;
  const outcomes: Record<string, string> = {};
  for (const { reference } of rows) {
    const result = await fulfilPayment(services, reference, "callback");
    outcomes[reference] = result.outcome;
    services.log.info({ reference, outcome: result.outcome }, "reconciled a pending payment");
  }
  return outcomes;
}
