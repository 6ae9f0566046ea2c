import { z } from "zod";
import type { Sql } from "../db/client";
import { ApiError } from "../http/errors";
import { claimDueKeyRows, claimDueUserRows, pushKey, pushUser, type SyncContext } from "../sync/push";

/**
 * The operator's view of what the gateway has not confirmed: key rows and user budgets that
 * failed, or have been pending for over a minute, with what we want (desired) next to what the
 * gateway last confirmed.
 */

export interface KeySyncProblem {
  kind: "key";
  id: string;
  user_id: string;
  email: string;
  alias: string | null;
  key: string | null;
  sync_status: "pending" | "failed";
  desired: { version: number; max_budget: number | null; rpm_limit: number | null; tpm_limit: number | null; models: string[]; revoked: boolean };
  confirmed: { version: number; at: Date | null };
  attempts: number;
  last_error: string | null;
  next_attempt_at: Date | null;
  since: Date;
}

export interface BudgetSyncProblem {
  kind: "user";
  id: string;
  user_id: string;
  email: string;
  sync_status: "pending" | "failed";
  /** Cents: the user's balance now, which the gateway should hold as their budget. */
  desired: { version: number; budget_cents: number };
  confirmed: { version: number; budget_cents: number | null; at: Date | null };
  attempts: number;
  last_error: string | null;
  next_attempt_at: Date | null;
  since: Date;
}

export type SyncProblem = KeySyncProblem | BudgetSyncProblem;

const pendingGraceSeconds = 60;

export async function listSyncProblems(sql: Sql, limit = 200): Promise<SyncProblem[]> {
  const [keys, users] = await Promise.all([
    sql<
      {
        id: string; user_id: string; email: string; alias: string | null; secret_hint: string | null; sync_status: "pending" | "failed";
        desired_version: number; synced_version: number; max_budget: number | null; rpm_limit: number | null; tpm_limit: number | null;
        models: string[]; revoked_at: Date | null; last_synced_at: Date | null; sync_attempts: number; last_sync_error: string | null;
        next_sync_at: Date | null; updated_at: Date;
      }[]
    >`
      select k.id, k.user_id, p.email, k.alias, k.secret_hint, k.sync_status, k.desired_version, k.synced_version,
             k.max_budget, k.rpm_limit, k.tpm_limit, k.models, k.revoked_at, k.last_synced_at, k.sync_attempts,
             k.last_sync_error, k.next_sync_at, k.updated_at
      from public.virtual_keys k join public.profiles p on p.id = k.user_id
      where not k.is_placeholder
        and (k.sync_status = 'failed' or (k.sync_status = 'pending' and k.updated_at < now() - make_interval(secs => ${pendingGraceSeconds})))
      order by k.sync_status, k.updated_at
      limit ${limit}`,
    sql<
      {
        user_id: string; email: string; sync_status: "pending" | "failed"; desired_version: number; synced_version: number;
        synced_budget_cents: string | null; balance: string | null; last_synced_at: Date | null; sync_attempts: number;
        last_sync_error: string | null; next_sync_at: Date | null; updated_at: Date;
      }[]
    >`
      select g.user_id, p.email, g.sync_status, g.desired_version, g.synced_version, g.synced_budget_cents,
             (select sum(t.amount) from public.credit_transactions t where t.user_id = g.user_id) as balance,
             g.last_synced_at, g.sync_attempts, g.last_sync_error, g.next_sync_at, g.updated_at
      from public.gateway_users g join public.profiles p on p.id = g.user_id
      where g.sync_status = 'failed' or (g.sync_status = 'pending' and g.updated_at < now() - make_interval(secs => ${pendingGraceSeconds}))
      order by g.sync_status, g.updated_at
      limit ${limit}`,
  ]);
  return [
    ...keys.map(
      (row): KeySyncProblem => ({
        kind: "key",
        id: row.id,
        user_id: row.user_id,
        email: row.email,
        alias: row.alias,
        key: row.secret_hint ? `sk-…${row.secret_hint}` : null,
        sync_status: row.sync_status,
        desired: {
          version: row.desired_version,
          max_budget: row.max_budget,
          rpm_limit: row.rpm_limit,
          tpm_limit: row.tpm_limit,
          models: row.models,
          revoked: row.revoked_at !== null,
        },
        confirmed: { version: row.synced_version, at: row.last_synced_at },
        attempts: row.sync_attempts,
        last_error: row.last_sync_error,
        next_attempt_at: row.next_sync_at,
        since: row.updated_at,
      }),
    ),
    ...users.map(
      (row): BudgetSyncProblem => ({
        kind: "user",
        id: row.user_id,
        user_id: row.user_id,
        email: row.email,
        sync_status: row.sync_status,
        desired: { version: row.desired_version, budget_cents: Math.max(0, Number(row.balance ?? 0)) },
        confirmed: {
          version: row.synced_version,
          budget_cents: row.synced_budget_cents === null ? null : Number(row.synced_budget_cents),
          at: row.last_synced_at,
        },
        attempts: row.sync_attempts,
        last_error: row.last_sync_error,
        next_attempt_at: row.next_sync_at,
        since: row.updated_at,
      }),
    ),
  ];
}

export type SyncRetry = { kind: "key" | "user"; id: string } | { all: true };

/**
 * One row (`kind` and `id`) or every failed row (`all: true`). One object rather than a union of
 * two, so that a wrong body is answered with the field it got wrong instead of zod's "Invalid
 * input" for a union.
 */
export const syncRetrySchema = z
  .object({
    kind: z.enum(["key", "user"], { message: "must be key or user" }).optional(),
    id: z.uuid({ message: "must be an id" }).optional(),
    all: z.literal(true, { message: "must be true" }).optional(),
  })
  .strict()
  .superRefine((body, ctx) => {
    if (body.all) {
      if (body.kind !== undefined || body.id !== undefined) {
        ctx.addIssue({ code: "custom", path: ["all"], message: "retries every failed row: send it or kind and id, not both" });
      }
      return;
    }
    if (body.kind === undefined) {
      ctx.addIssue({ code: "custom", path: ["kind"], message: 'is required: key or user, with its id (or send {"all": true})' });
    } else if (body.id === undefined) {
      ctx.addIssue({ code: "custom", path: ["id"], message: "is required: the key's or user's id" });
    }
  })
  .transform((body): SyncRetry => (body.kind && body.id ? { kind: body.kind, id: body.id } : { all: true }));

export interface RetryOutcome {
  kind: "key" | "user";
  id: string;
  ok: boolean;
  error?: string;
}

/** Pushes one row now, whatever its backoff says; a row another worker holds is left to it. */
async function retryOne(ctx: SyncContext, kind: "key" | "user", id: string): Promise<RetryOutcome> {
  if (kind === "key") {
    const [row] = await claimDueKeyRows(ctx, 1, id);
    if (!row) return { kind, id, ok: false, error: "nothing to push: already synced, or a worker is pushing it now" };
    const outcome = await pushKey(ctx, row);
    return outcome.ok ? { kind, id, ok: true } : { kind, id, ok: false, error: outcome.error };
  }
  const [row] = await claimDueUserRows(ctx, 1, id);
  if (!row) return { kind, id, ok: false, error: "nothing to push: already synced, or a worker is pushing it now" };
  const outcome = await pushUser(ctx, row);
  return outcome.ok ? { kind, id, ok: true } : { kind, id, ok: false, error: outcome.error };
}

/** Retries one row, or every failed row (budgets first: keys draw on their user's budget). */
export async function retrySync(ctx: SyncContext, request: SyncRetry): Promise<RetryOutcome[]> {
  if ("kind" in request) {
    const [exists] =
      request.kind === "key"
        ? await ctx.sql`select 1 from public.virtual_keys where id = ${request.id} and not is_placeholder`
        : await ctx.sql`select 1 from public.gateway_users where user_id = ${request.id}`;
    if (!exists) throw new ApiError("not_found", request.kind === "key" ? "No such key" : "No such user budget", { field: "id" });
    return [await retryOne(ctx, request.kind, request.id)];
  }
  const users = await ctx.sql<{ id: string }[]>`select user_id as id from public.gateway_users where sync_status = 'failed' limit 500`;
  const keys = await ctx.sql<{ id: string }[]>`select id from public.virtual_keys where sync_status = 'failed' and not is_placeholder limit 500`;
  const outcomes: RetryOutcome[] = [];
  for (const { id } of users) outcomes.push(await retryOne(ctx, "user", id));
  for (const { id } of keys) outcomes.push(await retryOne(ctx, "key", id));
  return outcomes;
}
