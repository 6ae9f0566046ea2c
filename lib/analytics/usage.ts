import { z } from "zod";
import type { TransactionSql } from "../db/client";

const isoDaySchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date like 2026-11-23")
  .refine((value) => !Number.isNaN(Date.parse(`${value}T00:00:00Z`)) && new Date(`${value}T00:00:00Z`).toISOString().startsWith(value), "must be a real date");

const maxRangeDays = 366;

/** `GET /api/analytics/usage` query: a date range (default the last 30 days), a model, a key. */
export const usageQuerySchema = z
  .object({
    start_date: isoDaySchema.optional(),
    end_date: isoDaySchema.optional(),
    model: z.string().trim().min(1, "must not be empty").max(200, "must be at most 200 characters").optional(),
    key: z.uuid({ message: "must be a key id" }).optional(),
  })
  .transform((query, ctx) => {
    const end = query.end_date ?? new Date().toISOString().slice(0, 10);
    const start = query.start_date ?? new Date(Date.parse(`${end}T00:00:00Z`) - 29 * 86_400_000).toISOString().slice(0, 10);
    const days = (Date.parse(`${end}T00:00:00Z`) - Date.parse(`${start}T00:00:00Z`)) / 86_400_000 + 1;
    if (days < 1) {
      ctx.addIssue({ code: "custom", path: ["start_date"], message: "must not be after end_date" });
      return z.NEVER;
    }
    if (days > maxRangeDays) {
      ctx.addIssue({ code: "custom", path: ["start_date"], message: `must be at most ${maxRangeDays} days before end_date` });
      return z.NEVER;
    }
    return { startDate: start, endDate: end, model: query.model ?? null, keyId: query.key ?? null };
  });
export type UsageQuery = z.output<typeof usageQuerySchema>;

export interface UsageTotals {
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /** Millionths of a US dollar. */
  spend_micros: number;
}

export interface UsageReport {
  start_date: string;
  end_date: string;
  model: string | null;
  key: string | null;
  /**
   * "fresh": imported from the gateway within the last two minutes; "local_only": the last
   * import is older or failed, so these are the figures we have; "never": nothing imported yet.
   */
  freshness: { status: "fresh" | "local_only" | "never"; imported_at: string | null; last_error: string | null };
  totals: UsageTotals;
  days: (UsageTotals & { day: string })[];
  models: (UsageTotals & { model: string })[];
  keys: (UsageTotals & { key_id: string | null; alias: string | null })[];
  /** Every model used in the range, for the filter, whatever the model filter is. */
  available_models: string[];
}

const freshWithinMs = 2 * 60_000;

interface Row {
  bucket: string | null;
  alias?: string | null;
  requests: string;
  prompt_tokens: string;
  completion_tokens: string;
  spend_micros: string;
}

const totalsOf = (row: Row): UsageTotals => {
  const prompt = Number(row.prompt_tokens);
  const completion = Number(row.completion_tokens);
  return {
    requests: Number(row.requests),
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    spend_micros: Number(row.spend_micros),
  };
};

const emptyTotals = (): UsageTotals => ({ requests: 0, prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, spend_micros: 0 });

/** The caller's usage from the local rollups; run in a user transaction so RLS scopes it. */
export async function usageReport(tx: TransactionSql, query: UsageQuery, now = new Date()): Promise<UsageReport> {
  // RLS already limits rows to the caller; saying so in the query lets the planner use the
  // (user_id, day) index instead of testing the policy's OR (own rows or admin) on every row.
  const filter = tx`
    u.user_id = (select auth.uid()) and u.day between ${query.startDate}::date and ${query.endDate}::date
    ${query.model ? tx`and u.model = ${query.model}` : tx``}
    ${query.keyId ? tx`and u.key_id = ${query.keyId}` : tx``}`;
  const sums = tx`coalesce(sum(u.requests), 0)::text as requests, coalesce(sum(u.prompt_tokens), 0)::text as prompt_tokens,
    coalesce(sum(u.completion_tokens), 0)::text as completion_tokens, coalesce(sum(u.spend_micros), 0)::text as spend_micros`;
  const [byDay, byModel, byKey, models, imports] = await Promise.all([
    tx<Row[]>`select to_char(u.day, 'YYYY-MM-DD') as bucket, ${sums} from public.usage_daily u where ${filter} group by u.day order by u.day`,
    tx<Row[]>`select u.model as bucket, ${sums} from public.usage_daily u where ${filter} group by u.model order by sum(u.spend_micros) desc, u.model`,
    tx<Row[]>`
      select u.key_id::text as bucket, k.alias, ${sums}
      from public.usage_daily u left join public.virtual_keys k on k.id = u.key_id
      where ${filter} group by u.key_id, k.alias order by sum(u.requests) desc`,
    tx<{ model: string }[]>`
      select distinct u.model from public.usage_daily u
      where u.user_id = (select auth.uid()) and u.day between ${query.startDate}::date and ${query.endDate}::date order by u.model`,
    tx<{ last_imported_at: Date | null; last_attempt_at: Date | null; last_error: string | null }[]>`
      select last_imported_at, last_attempt_at, last_error from public.usage_imports where user_id = (select auth.uid())`,
  ]);

  const perDay = new Map(byDay.map((row) => [row.bucket, totalsOf(row)]));
  const days: UsageReport["days"] = [];
  for (let time = Date.parse(`${query.startDate}T00:00:00Z`); time <= Date.parse(`${query.endDate}T00:00:00Z`); time += 86_400_000) {
    const day = new Date(time).toISOString().slice(0, 10);
    days.push({ day, ...(perDay.get(day) ?? emptyTotals()) });
  }
  const totals = emptyTotals();
  for (const day of days) {
    totals.requests += day.requests;
    totals.prompt_tokens += day.prompt_tokens;
    totals.completion_tokens += day.completion_tokens;
    totals.total_tokens += day.total_tokens;
    totals.spend_micros += day.spend_micros;
  }

  const state = imports[0];
  const importedAt = state?.last_imported_at ?? null;
  const failedSince = state?.last_error && (!importedAt || (state.last_attempt_at ?? importedAt) > importedAt);
  const status = !importedAt ? "never" : !failedSince && now.getTime() - importedAt.getTime() < freshWithinMs ? "fresh" : "local_only";

  return {
    start_date: query.startDate,
    end_date: query.endDate,
    model: query.model,
    key: query.keyId,
    freshness: { status, imported_at: importedAt?.toISOString() ?? null, last_error: failedSince ? (state?.last_error ?? null) : null },
    totals,
    days,
    models: byModel.map((row) => ({ model: row.bucket ?? "unknown", ...totalsOf(row) })),
    keys: byKey.map((row) => ({ key_id: row.bucket, alias: row.alias ?? null, ...totalsOf(row) })),
    available_models: models.map((row) => row.model),
  };
}
