import type { Logger } from "pino";
import type { Sql } from "../db/client";
import { decryptKeySecret, keyToken } from "../keys/secret";
import { GatewayError, type LiteLLMClient } from "../litellm/client";
import { recordSyncPush } from "../metrics";
import { backoffDelayMs } from "./backoff";
import type { GatewayBreaker } from "./breaker";

/**
 * Pushing what the gateway must learn, row by row. A push sends absolute state (the row as it is
 * now), so repeating it changes nothing; versions make sure an edit that lands while a push is
 * in flight is pushed after it rather than marked synced by it.
 *
 * Rows are leased, not locked, for the length of a push: a short transaction claims them with
 * FOR UPDATE SKIP LOCKED and sets `sync_claimed_until`, so two workers never push one row at
 * once and no database lock is held across a network call.
 */

export interface SyncContext {
  sql: Sql;
  client: LiteLLMClient;
  breaker: GatewayBreaker;
  keyEncryptionSecret: string;
  log: Logger;
  /** How long a claim lasts; far longer than a push can take, so only a dead worker's lapses. */
  leaseSeconds?: number;
}

export interface KeyRow {
  id: string;
  user_id: string;
  alias: string | null;
  litellm_key_id: string | null;
  secret_ciphertext: string | null;
  max_budget: number | null;
  budget_duration: string | null;
  rpm_limit: number | null;
  tpm_limit: number | null;
  models: string[];
  revoked_at: Date | null;
  desired_version: number;
  synced_version: number;
  sync_attempts: number;
}

export interface UserRow {
  user_id: string;
  email: string;
  desired_version: number;
  sync_attempts: number;
}

export type PushOutcome = { ok: true } | { ok: false; error: string; retryable: boolean };

const keyColumns = `id, user_id, alias, litellm_key_id, secret_ciphertext, max_budget, budget_duration,
  rpm_limit, tpm_limit, models, revoked_at, desired_version, synced_version, sync_attempts`;

/** Rows due for a push, leased to the caller. Placeholders have nothing to push. */
export async function claimDueKeyRows(ctx: SyncContext, limit: number, onlyId?: string): Promise<KeyRow[]> {
  const lease = ctx.leaseSeconds ?? 60;
  return ctx.sql.unsafe<KeyRow[]>(
    `with due as (
       select id from public.virtual_keys
       where not is_placeholder and sync_status <> 'synced'
         and ($2::uuid is not null or next_sync_at <= now())
         and ($2::uuid is null or id = $2::uuid)
         and (sync_claimed_until is null or sync_claimed_until < now())
       order by next_sync_at nulls last
       limit $1
       for update skip locked)
     update public.virtual_keys v set sync_claimed_until = now() + make_interval(secs => $3)
     from due where v.id = due.id
     returning ${keyColumns.split(",").map((column) => `v.${column.trim()}`).join(", ")}`,
    [limit, onlyId ?? null, lease],
  );
}

export async function claimDueUserRows(ctx: SyncContext, limit: number, onlyId?: string): Promise<UserRow[]> {
  const lease = ctx.leaseSeconds ?? 60;
  return ctx.sql.unsafe<UserRow[]>(
    `with due as (
       select user_id from public.gateway_users
       where sync_status <> 'synced'
         and ($2::uuid is not null or next_sync_at <= now())
         and ($2::uuid is null or user_id = $2::uuid)
         and (sync_claimed_until is null or sync_claimed_until < now())
       order by next_sync_at nulls last
       limit $1
       for update skip locked)
     update public.gateway_users g set sync_claimed_until = now() + make_interval(secs => $3)
     from due, public.profiles p
     where g.user_id = due.user_id and p.id = g.user_id
     returning g.user_id, p.email, g.desired_version, g.sync_attempts`,
    [limit, onlyId ?? null, lease],
  );
}

async function balanceCents(sql: Sql, userId: string): Promise<number> {
  const [row] = await sql<{ credits: string | null }[]>`
    select sum(amount) as credits from public.credit_transactions where user_id = ${userId}`;
  // 1 credit = 1 cent; a negative balance is a zero budget.
  return Math.max(0, Number(row?.credits ?? 0));
}

/** Sets the user's gateway budget to their balance now; every key of theirs draws on it. */
export async function pushUser(ctx: SyncContext, row: UserRow): Promise<PushOutcome> {
  return finishPush(ctx, "user", "budget", row.user_id, row.desired_version, row.sync_attempts, async () => {
    const budget = await balanceCents(ctx.sql, row.user_id);
    await ctx.breaker.execute(() => ctx.client.upsertUser({ userId: row.user_id, email: row.email, maxBudgetCents: budget }));
    return { budget };
  });
}

export async function pushKey(ctx: SyncContext, row: KeyRow): Promise<PushOutcome> {
  const action = row.revoked_at ? "delete" : row.secret_ciphertext ? "create" : "update";
  return finishPush(ctx, "key", action, row.id, row.desired_version, row.sync_attempts, async () => {
    const token = row.litellm_key_id;
    if (row.revoked_at) {
      if (token) await ctx.breaker.execute(() => ctx.client.deleteKey(token));
      return {};
    }
    await ensureGatewayUser(ctx, row.user_id);
    const limits = {
      alias: gatewayAlias(row.alias, row.id),
      maxBudgetCents: row.max_budget,
      budgetDuration: row.budget_duration,
      rpmLimit: row.rpm_limit,
      tpmLimit: row.tpm_limit,
      models: row.models,
      metadata: { creditgate_key_id: row.id, alias: row.alias },
    };
    if (row.secret_ciphertext && token) {
      const secret = decryptKeySecret(row.secret_ciphertext, row.id, ctx.keyEncryptionSecret);
      if (keyToken(secret) !== token) throw new GatewayError("stored secret does not match the key's token", false);
      // A crash after the gateway created the key but before we recorded it: update, not create.
      const existing = await ctx.breaker.execute(() => ctx.client.keyInfo(token));
      if (existing) await ctx.breaker.execute(() => ctx.client.updateKey(token, limits));
      else await ctx.breaker.execute(() => ctx.client.generateKey({ secret, userId: row.user_id, ...limits }));
      return { confirmedSecret: true };
    }
    if (!token) throw new GatewayError("key has neither a gateway token nor a secret to create it with", false);
    await ctx.breaker.execute(() => ctx.client.updateKey(token, limits));
    return {};
  });
}

/**
 * LiteLLM requires key aliases to be unique across every key on the proxy, while our users name
 * their keys freely ("laptop"): the gateway gets the name made unique with the row id's prefix,
 * in the characters LiteLLM's optional alias validation allows.
 */
export function gatewayAlias(alias: string | null, rowId: string): string {
  const slug = (alias ?? "")
    .toLowerCase()
    .replace(/[^a-z0-9_\-/.@]+/g, "-")
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, "")
    .slice(0, 48);
  return `${slug || "key"}-${rowId.slice(0, 8)}`;
}

/** Keys need their user on the gateway first (their budget is the user's balance). */
async function ensureGatewayUser(ctx: SyncContext, userId: string): Promise<void> {
  const [state] = await ctx.sql<{ sync_status: string }[]>`select sync_status from public.gateway_users where user_id = ${userId}`;
  if (state?.sync_status === "synced") return;
  const [row] = await claimDueUserRows(ctx, 1, userId);
  if (!row) {
    if (!state) throw new GatewayError("the user's gateway budget has not been queued", false);
    return; // another worker is pushing it right now
  }
  const outcome = await pushUser(ctx, row);
  if (!outcome.ok) throw new GatewayError(`the user's gateway budget could not be set: ${outcome.error}`, outcome.retryable);
}

async function finishPush(
  ctx: SyncContext,
  kind: "key" | "user",
  action: "create" | "update" | "delete" | "budget",
  id: string,
  version: number,
  attempts: number,
  push: () => Promise<{ confirmedSecret?: boolean; budget?: number }>,
): Promise<PushOutcome> {
  const started = performance.now();
  try {
    const result = await push();
    await recordSuccess(ctx.sql, kind, id, version, result);
    recordSyncPush(kind, "synced", (performance.now() - started) / 1000);
    ctx.log.info({ kind, action, id, version, attempt: attempts + 1, outcome: "synced", durationMs: elapsed(started) }, "gateway push");
    return { ok: true };
  } catch (err) {
    const retryable = !(err instanceof GatewayError) || err.retryable;
    const message = err instanceof Error ? err.message : String(err);
    await recordFailure(ctx.sql, kind, id, attempts + 1, message, retryable);
    recordSyncPush(kind, retryable ? "retry" : "failed", (performance.now() - started) / 1000);
    ctx.log.warn({ kind, action, id, version, attempt: attempts + 1, outcome: retryable ? "retry" : "failed", error: message, durationMs: elapsed(started) }, "gateway push");
    return { ok: false, error: message, retryable };
  }
}

const elapsed = (started: number) => Math.round((performance.now() - started) * 10) / 10;

/**
 * Synced only if nothing changed since the pushed version was read; otherwise the row stays
 * pending and due now, so the newer edit goes out next. The secret is erased once the gateway
 * has confirmed it.
 */
async function recordSuccess(sql: Sql, kind: "key" | "user", id: string, version: number, result: { confirmedSecret?: boolean; budget?: number }) {
  if (kind === "key") {
    await sql`
      update public.virtual_keys set
        synced_version = greatest(synced_version, ${version}),
        sync_status = case when desired_version <= ${version} then 'synced' else 'pending' end,
        next_sync_at = case when desired_version <= ${version} then null else now() end,
        secret_ciphertext = case when ${result.confirmedSecret === true} then null else secret_ciphertext end,
        sync_attempts = 0, last_sync_error = null, last_synced_at = now(), sync_claimed_until = null
      where id = ${id}`;
    return;
  }
  await sql`
    update public.gateway_users set
      synced_version = greatest(synced_version, ${version}),
      synced_budget_cents = ${result.budget ?? null},
      sync_status = case when desired_version <= ${version} then 'synced' else 'pending' end,
      next_sync_at = case when desired_version <= ${version} then null else now() end,
      sync_attempts = 0, last_sync_error = null, last_synced_at = now(), sync_claimed_until = null
    where user_id = ${id}`;
}

/**
 * Retryable failures come back after a jittered backoff and show as `failed` from the third
 * attempt on, so the dashboard stops calling them pending; permanent ones wait for an operator.
 */
async function recordFailure(sql: Sql, kind: "key" | "user", id: string, attempts: number, error: string, retryable: boolean) {
  const delaySeconds = backoffDelayMs(attempts - 1) / 1000;
  const status = !retryable || attempts >= 3 ? "failed" : "pending";
  const table = kind === "key" ? "public.virtual_keys" : "public.gateway_users";
  const idColumn = kind === "key" ? "id" : "user_id";
  await sql.unsafe(
    `update ${table} set
       sync_attempts = $2, last_sync_error = $3, sync_status = $4,
       next_sync_at = case when $5 then now() + make_interval(secs => $6) else null end,
       sync_claimed_until = null
     where ${idColumn} = $1`,
    [id, attempts, error.slice(0, 500), status, retryable, delaySeconds],
  );
}
