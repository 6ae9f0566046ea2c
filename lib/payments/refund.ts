import { withServiceTransaction } from "../db/transactions";

export interface RefundInput {
  /** The refunded transaction's reference (ours). */
  reference: string;
  /** Paystack's refund id when it sent one: a payment may be refunded in parts. */
  refundId: string | undefined;
  amountSubunits: number;
  currency: string;
}

/**
 * A processed refund takes back the credits the refunded money bought, once: the ledger entry's
 * reference is derived from the refund, so a second delivery finds it and changes nothing.
 * A partial refund takes back the same share of the credits (rounded up, never more than the
 * payment bought in total).
 */
export async function recordRefund(sql: Parameters<typeof withServiceTransaction>[0], input: RefundInput): Promise<{ outcome: string; userId?: string }> {
  return withServiceTransaction(sql, async (tx) => {
    const [payment] = await tx<{ id: string; user_id: string; credits: number; amount_subunits: string; currency: string; status: string; refunded_credits: number }[]>`
      select id, user_id, credits, amount_subunits, currency, status, refunded_credits
      from public.payments where reference = ${input.reference}
      for update`;
    if (!payment) return { outcome: "unknown reference" };
    if (payment.status !== "paid" && payment.status !== "refunded") return { outcome: `payment is ${payment.status}, nothing to take back` };
    if (input.currency !== payment.currency) return { outcome: `needs review: refund in ${input.currency} for a ${payment.currency} payment` };

    const price = Number(payment.amount_subunits);
    const share = Math.ceil((payment.credits * Math.min(input.amountSubunits, price)) / price);
    const credits = Math.min(share, payment.credits - payment.refunded_credits);
    const ledgerReference = `paystack-refund:${input.reference}:${input.refundId ?? "full"}`;
    const [existing] = await tx`select 1 from public.credit_transactions where reference = ${ledgerReference}`;
    if (existing) return { outcome: "refund already recorded" };
    if (credits <= 0) return { outcome: "payment already fully refunded" };

    await tx`
      insert into public.credit_transactions (user_id, amount, kind, reference, description)
      values (${payment.user_id}, ${-credits}, 'refund', ${ledgerReference}, ${`Refund of ${credits.toLocaleString("en-US")} credits`})`;
    const refunded = payment.refunded_credits + credits;
    await tx`
      update public.payments
      set refunded_credits = ${refunded}, status = ${refunded >= payment.credits ? "refunded" : payment.status}
      where id = ${payment.id}`;
    return { outcome: `took back ${credits} credits`, userId: payment.user_id };
  });
}
