import type { TransactionSql } from "../db/client";

/** 1 credit = 1 US cent of gateway budget. */
export const centsPerCredit = 1;

export interface LedgerEntry {
  id: string;
  amount: number;
  kind: "signup_grant" | "purchase" | "refund" | "adjustment";
  description: string | null;
  createdAt: Date;
}

export interface CreditSummary {
  /** Sum of every ledger entry, in credits: what the user received, minus refunds and corrections. */
  balance: number;
}

/** The caller's balance, from the ledger; run inside a user transaction so RLS scopes it. */
export async function creditSummary(tx: TransactionSql): Promise<CreditSummary> {
  const [row] = await tx<{ balance: string | null }[]>`
    select sum(amount) as balance from public.credit_transactions`;
  return { balance: Number(row?.balance ?? 0) };
}

export async function recentLedgerEntries(tx: TransactionSql, limit = 10): Promise<LedgerEntry[]> {
  return tx<LedgerEntry[]>`
    select id, amount, kind, description, created_at as "createdAt"
    from public.credit_transactions
    order by created_at desc, id
    limit ${limit}`;
}

export function creditsToDollars(credits: number): string {
  const cents = credits * centsPerCredit;
  const sign = cents < 0 ? "-" : "";
  return `${sign}$${(Math.abs(cents) / 100).toFixed(2)}`;
}
