import { refundDataSchema } from "../../paystack/schemas";
import { pushBudgetSoon } from "../budget-push";
import { recordRefund } from "../refund";
import type { PaymentServices } from "../services";
import type { EventOutcome } from "./types";

/** refund.processed: the money went back to the customer, so the credits it bought go too. */
export async function handleRefundProcessed(services: PaymentServices, data: unknown): Promise<EventOutcome> {
  const parsed = refundDataSchema.safeParse(data);
  if (!parsed.success) return { outcome: "needs review: refund.processed we could not read", reference: null, needsReview: true };
  const reference = parsed.data.transaction_reference ?? parsed.data.transaction?.reference ?? "";
  const { outcome, userId } = await recordRefund(services.sql, {
    reference,
    refundId: parsed.data.id ?? parsed.data.refund_reference ?? undefined,
    amountSubunits: parsed.data.amount,
    currency: parsed.data.currency,
  });
  if (userId) pushBudgetSoon(services, userId);
  const needsReview = outcome === "unknown reference" || outcome.startsWith("needs review");
  return { outcome: outcome === "unknown reference" ? "needs review: refund for a reference we never initialized" : outcome, reference, needsReview };
}
