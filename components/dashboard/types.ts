/** The JSON shapes the dashboard reads (dates arrive as ISO strings). */
export interface ApiKey {
  id: string;
  alias: string | null;
  key: string;
  max_budget: number | null;
  budget_duration: string | null;
  rpm_limit: number | null;
  tpm_limit: number | null;
  models: string[];
  spend: number;
  remaining: number | null;
  status: "active" | "exhausted" | "revoked";
  sync_status: "pending" | "synced" | "failed";
  last_synced_at: string | null;
  sync_attempts: number;
  last_sync_error: string | null;
  next_sync_at: string | null;
  created_at: string;
}

export interface HealthReport {
  status: "ok" | "degraded" | "down";
  database: { ok: boolean; error?: string };
  gateway: { ok: boolean; error?: string; latencyMs?: number };
  sync: { breaker: "closed" | "open" | "half-open" } | null;
}

export interface UsageTotals {
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  spend_micros: number;
}

export interface UsageReport {
  start_date: string;
  end_date: string;
  freshness: { status: "fresh" | "local_only" | "never"; imported_at: string | null; last_error: string | null };
  totals: UsageTotals;
  days: (UsageTotals & { day: string })[];
  models: (UsageTotals & { model: string })[];
  keys: (UsageTotals & { key_id: string | null; alias: string | null })[];
  available_models: string[];
}

export interface Payment {
  reference: string;
  credits: number;
  amount_subunits: number;
  currency: string;
  status: string;
  created_at: string;
  paid_at: string | null;
}
