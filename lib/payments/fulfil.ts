import type { TransactionSql } from "../db/client";
import { withServiceTransaction } from "../db/transactions";
import { recordPaymentCredited } from "../metrics";
import { PaystackError } from "../paystack/client";
import type { PaystackTransaction } from "../paystack/schemas";
import { pushBudgetSoon } from "./budget-push";
import type { PaymentServices } from "./services";

export type PaymentStatus = "pending" | "paid" | "failed" | "abandoned" | "refunded" | "needs_review";

export interface FulfilResult {
  /** A short description of what happened, for logs and the callback page. */
  outcome: string;
  /** The payment's status afterwards; null when the reference is not ours. */
  status: PaymentStatus | null;
  /** True only for the one call that appended the purchase to the ledger. */
  credited: boolean;
  /** The payer, when the reference is ours. */
  userId?: string;
  /** What the credited payment cost, in the currency's minor unit. */
  amount?: { currency: string; minor: number };
}

interface LockedPayment {
  id: string;
  user_id: string;
  credits: number;
  amount_subunits: string;
  currency: string;
  status: PaymentStatus;
}

/** The ledger reference of a payment's purchase entry: unique, so it can be appended once. */
export const purchaseReference = (reference: string) => `paystack:${reference}`;

/**
 * The one way a payment becomes credits, used by the webhook and the callback page alike.
 *
 * In one transaction: lock the payment row, ask Paystack what happened, check status, currency,
 * domain and that the amount covers the price fixed at initialize, then mark the payment paid
 * and append the purchase to the ledger. The row lock serialises concurrent deliveries, so the
 * second one finds the payment paid and changes nothing; the ledger's unique reference is the
 * second guard. The ledger trigger queues the user's gateway budget push in the same commit.
 *
 * `source` matters only when Paystack disagrees: a charge.success that verification does not
 * confirm is a payment for an admin to look at; a callback for a checkout the user abandoned
 * just records that.
 */
export async function fulfilPayment(services: PaymentServices, reference: string, source: "webhook" | "callback"): Promise<FulfilResult> {
  const result = await verifyAndCredit(services, reference, source);
  // Counted after the commit, so a rolled-back transaction never shows as money credited.
  if (result.credited && result.amount) recordPaymentCredited(result.amount.currency, result.amount.minor);
  if (result.credited && result.userId) pushBudgetSoon(services, result.userId);
  return result;
}

async function verifyAndCredit(services: PaymentServices, reference: string, source: "webhook" | "callback"): Promise<FulfilResult> {
  return withServiceTransaction(services.sql, async (tx) => {
    const [payment] = await tx<LockedPayment[]>`
      select id, user_id, credits, amount_subunits, currency, status
      from public.payments where reference = ${reference}
      for update`;
    if (!payment) return { outcome: "unknown reference", status: null, credited: false };
    if (payment.status === "paid" || payment.status === "refunded") {
      return { outcome: `already ${payment.status}, nothing changed`, status: payment.status, credited: false };
    }

    let transaction: PaystackTransaction;
    try {
      transaction = await services.paystack.verify(reference);
    } catch (err) {
      const reason = `verification failed: ${err instanceof PaystackError ? err.message : "unexpected error"}`;
      if (source === "callback") return { outcome: reason, status: payment.status, credited: false };
      return markForReview(tx, payment, reason, null);
    }

    if (transaction.status !== "success") {
      if (source === "webhook") {
        return markForReview(tx, payment, `charge.success delivered but Paystack's verify says the transaction is ${transaction.status}`, transaction);
      }
      if (transaction.status === "failed" || transaction.status === "abandoned") {
        await tx`
          update public.payments set status = ${transaction.status}, provider_payload = ${tx.json(transaction as never)}
          where id = ${payment.id}`;
        return { outcome: `Paystack says the transaction is ${transaction.status}`, status: transaction.status, credited: false };
      }
      return { outcome: `Paystack says the transaction is ${transaction.status}`, status: payment.status, credited: false };
    }

    const problem = mismatch(services, payment, reference, transaction);
    if (problem) return markForReview(tx, payment, problem, transaction);

    await tx`
      update public.payments
      set status = 'paid', paid_at = ${transaction.paid_at ? new Date(transaction.paid_at) : new Date()},
          provider_payload = ${tx.json(transaction as never)}, provider_transaction_id = ${transaction.id}, review_reason = null
      where id = ${payment.id}`;
    const inserted = await tx`
      insert into public.credit_transactions (user_id, amount, kind, reference, description)
      values (${payment.user_id}, ${payment.credits}, 'purchase', ${purchaseReference(reference)},
              ${`Purchase of ${payment.credits.toLocaleString("en-US")} credits`})
      on conflict (reference) do nothing
      returning id`;
    const credited = inserted.length === 1;
    return {
      outcome: credited ? `credited ${payment.credits} credits` : "already credited",
      status: "paid",
      credited,
      userId: payment.user_id,
      amount: { currency: payment.currency, minor: Number(payment.amount_subunits) },
    };
  });
}

function mismatch(services: PaymentServices, payment: LockedPayment, reference: string, transaction: PaystackTransaction): string | null {
  if (transaction.reference !== reference) return `Paystack answered for reference ${transaction.reference}`;
  if (transaction.currency !== payment.currency) return `currency ${transaction.currency} differs from the ${payment.currency} fixed at initialize`;
  if (transaction.domain && transaction.domain !== services.domain) return `a ${transaction.domain} transaction reached a ${services.domain} installation`;
  const price = Number(payment.amount_subunits);
  if (transaction.amount < price) return `paid ${transaction.amount} ${payment.currency} subunits, below the price of ${price} fixed at initialize`;
  return null;
}

async function markForReview(tx: TransactionSql, payment: LockedPayment, reason: string, transaction: PaystackTransaction | null): Promise<FulfilResult> {
  await tx`
    update public.payments
    set status = 'needs_review', review_reason = ${reason},
        provider_payload = coalesce(${transaction ? tx.json(transaction as never) : null}, provider_payload)
    where id = ${payment.id}`;
  return { outcome: `needs review: ${reason}`, status: "needs_review", credited: false };
}
