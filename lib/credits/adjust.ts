import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { Sql } from "../db/client";
import { withServiceTransaction } from "../db/transactions";
import { ApiError } from "../http/errors";

/** An admin's correction: signed credits and the reason, which the user sees in their activity. */
export const creditAdjustmentSchema = z
  .object({
    user_id: z.uuid({ message: "must be a user id" }),
    amount: z
      .number({ message: "must be a whole number of credits" })
      .int("must be a whole number of credits")
      .min(-10_000_000, "must be at least -10,000,000")
      .max(10_000_000, "must be at most 10,000,000")
      .refine((value) => value !== 0, "must not be zero"),
    reason: z.string().trim().min(3, "must say why, in at least 3 characters").max(200, "must be at most 200 characters"),
    /** Lets a client retry the same adjustment without applying it twice. */
    idempotency_key: z.string().trim().min(8).max(100).optional(),
  })
  .strict();
export type CreditAdjustment = z.infer<typeof creditAdjustmentSchema>;

export interface AdjustmentEntry {
  id: string;
  user_id: string;
  amount: number;
  reference: string;
  balance: number;
}

/**
 * Records an `adjustment` ledger entry made by an admin. The user's profile row is locked first,
 * so two adjustments cannot both pass the balance check; a debit that would take the balance
 * below zero is refused. The ledger trigger queues the new gateway budget in the same transaction.
 */
export async function adjustCredits(sql: Sql, adminId: string, input: CreditAdjustment): Promise<AdjustmentEntry & { created: boolean }> {
  const reference = `adjustment:${input.idempotency_key ?? randomUUID()}`;
  return withServiceTransaction(sql, async (tx) => {
    const [profile] = await tx<{ id: string }[]>`select id from public.profiles where id = ${input.user_id} for update`;
    if (!profile) throw new ApiError("not_found", "No such user", { field: "user_id" });
    const [existing] = await tx<{ id: string; user_id: string; amount: number }[]>`
      select id, user_id, amount from public.credit_transactions where reference = ${reference}`;
    const [before] = await tx<{ credits: string | null }[]>`
      select sum(amount) as credits from public.credit_transactions where user_id = ${input.user_id}`;
    const balance = Number(before?.credits ?? 0);
    if (existing) {
      if (existing.user_id !== input.user_id || existing.amount !== input.amount) {
        throw new ApiError("conflict", "This idempotency_key was used for a different adjustment", { field: "idempotency_key" });
      }
      return { id: existing.id, user_id: existing.user_id, amount: existing.amount, reference, balance, created: false };
    }
    if (balance + input.amount < 0) {
      throw new ApiError("invalid_request", `amount: would leave a negative balance (the user has ${balance} credits)`, { field: "amount" });
    }
    const [entry] = await tx<{ id: string }[]>`
      insert into public.credit_transactions (user_id, amount, kind, reference, description, created_by)
      values (${input.user_id}, ${input.amount}, 'adjustment', ${reference}, ${input.reason}, ${adminId})
      returning id`;
    if (!entry) throw new Error("ledger insert returned no row");
    return { id: entry.id, user_id: input.user_id, amount: input.amount, reference, balance: balance + input.amount, created: true };
  });
}
