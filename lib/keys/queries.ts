import type { TransactionSql } from "../db/client";

export interface KeySummary {
  id: string;
  alias: string | null;
  isPlaceholder: boolean;
  secretHint: string | null;
  maxBudgetCents: number | null;
  budgetDuration: string | null;
  rpmLimit: number | null;
  tpmLimit: number | null;
  models: string[];
  spendCents: number;
  syncStatus: "pending" | "synced" | "failed";
  lastSyncedAt: Date | null;
  revokedAt: Date | null;
  createdAt: Date;
}

/** The caller's keys, newest first; run inside a user transaction so RLS scopes it. */
export async function listOwnKeys(tx: TransactionSql): Promise<KeySummary[]> {
  return tx<KeySummary[]>`
    select id, alias, is_placeholder as "isPlaceholder", secret_hint as "secretHint",
           max_budget as "maxBudgetCents", budget_duration as "budgetDuration",
           rpm_limit as "rpmLimit", tpm_limit as "tpmLimit", models, spend_cents as "spendCents",
           sync_status as "syncStatus", last_synced_at as "lastSyncedAt", revoked_at as "revokedAt",
           created_at as "createdAt"
    from public.virtual_keys
    order by created_at desc`;
}
