import { z } from "zod";
import type { Sql } from "../db/client";

export const paymentStatuses = ["pending", "paid", "failed", "abandoned", "refunded", "needs_review"] as const;

/** A payment as its owner sees it (GET /api/payments). */
export const paymentSchema = z.object({
  reference: z.string(),
  credits: z.number().int(),
  amount_subunits: z.coerce.number().int(),
  currency: z.string(),
  status: z.enum(paymentStatuses),
  created_at: z.date().transform((date) => date.toISOString()),
  paid_at: z
    .date()
    .nullable()
    .transform((date) => date?.toISOString() ?? null),
});

export type PaymentView = z.infer<typeof paymentSchema>;

/** The caller's own payments, newest first. Payments are private to server code, so the filter is here. */
export async function listOwnPayments(sql: Sql, userId: string, limit = 100): Promise<PaymentView[]> {
  const rows = await sql`
    select reference, credits, amount_subunits, currency, status, created_at, paid_at
    from public.payments where user_id = ${userId}
    order by created_at desc, reference desc
    limit ${limit}`;
  return z.array(paymentSchema).parse(rows);
}

export const adminPaymentsQuerySchema = z.object({
  status: z.enum(paymentStatuses).optional(),
});

export const adminPaymentSchema = paymentSchema.extend({
  email: z.string(),
  review_reason: z.string().nullable(),
  refunded_credits: z.number().int(),
});

export const unmatchedEventSchema = z.object({
  event: z.string(),
  reference: z.string().nullable(),
  outcome: z.string(),
  received_at: z.date().transform((date) => date.toISOString()),
});

/**
 * Every user's payments with their email (filtered by status), and, unless another status was
 * asked for, the authentic events that matched no payment: both are what an admin must look at.
 */
export async function listPaymentsForAdmin(sql: Sql, status: (typeof paymentStatuses)[number] | undefined, limit = 200) {
  const rows = await sql`
    select p.reference, p.credits, p.amount_subunits, p.currency, p.status, p.created_at, p.paid_at,
           pr.email, p.review_reason, p.refunded_credits
    from public.payments p join public.profiles pr on pr.id = p.user_id
    where ${status ? sql`p.status = ${status}` : sql`true`}
    order by p.created_at desc, p.reference desc
    limit ${limit}`;
  const unmatched =
    status === undefined || status === "needs_review"
      ? await sql`
          select event, reference, outcome, received_at from public.payment_events
          where needs_review order by received_at desc limit ${limit}`
      : [];
  return { payments: z.array(adminPaymentSchema).parse(rows), unmatched_events: z.array(unmatchedEventSchema).parse(unmatched) };
}
