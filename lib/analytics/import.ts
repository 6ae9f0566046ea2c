import type { Logger } from "pino";
import type { Sql } from "../db/client";
import { withServiceTransaction } from "../db/transactions";
import { GatewayError, type LiteLLMClient, type SpendLogRow } from "../litellm/client";

/**
 * Imports the gateway's spend logs into `usage_daily`, one user at a time. Each user has a day
 * cursor (`usage_imports.imported_from`): an import reads every day from the cursor to today,
 * replaces those days' rollups in one transaction, and moves the cursor to today. Re-reading the
 * cursor's day catches rows the gateway flushed late; replacing whole days makes a repeated
 * import change nothing.
 */

export interface UsageImportContext {
  sql: Sql;
  client: LiteLLMClient;
  log: Logger;
}

export interface UsageImportResult {
  users: number;
  imported: number;
  failed: number;
  keysRefreshed: number;
}

/** How far back the first import of a user reads when none of their keys is older. */
const firstImportDays = 90;
/** The gateway answers at most this many rows per call; a full answer is re-read day by day. */
const gatewayPageRows = 10_000;

export const isoDay = (date: Date): string => date.toISOString().slice(0, 10);

function addDays(day: string, days: number): string {
  return isoDay(new Date(Date.parse(`${day}T00:00:00Z`) + days * 86_400_000));
}

interface DueUser {
  user_id: string;
  imported_from: string | null;
  first_key_day: string;
}

/** Users with at least one key on the gateway, the longest-unimported first. */
async function dueUsers(sql: Sql, limit: number, onlyUserId?: string): Promise<DueUser[]> {
  return sql<DueUser[]>`
    select k.user_id, to_char(i.imported_from, 'YYYY-MM-DD') as imported_from,
           to_char(min(k.created_at) at time zone 'UTC', 'YYYY-MM-DD') as first_key_day
    from public.virtual_keys k
    left join public.usage_imports i on i.user_id = k.user_id
    where not k.is_placeholder and k.synced_version > 0
      ${onlyUserId ? sql`and k.user_id = ${onlyUserId}` : sql``}
    group by k.user_id, i.imported_from, i.last_attempt_at
    order by i.last_attempt_at nulls first
    limit ${limit}`;
}

async function fetchLogs(client: LiteLLMClient, userId: string, startDate: string, endDate: string): Promise<SpendLogRow[]> {
  const rows = await client.spendLogs({ userId, startDate, endDate });
  if (rows.length < gatewayPageRows || startDate === endDate) return rows;
  const all: SpendLogRow[] = [];
  for (let day = startDate; day <= endDate; day = addDays(day, 1)) {
    all.push(...(await client.spendLogs({ userId, startDate: day, endDate: day })));
  }
  return all;
}

interface Rollup {
  day: string;
  keyToken: string;
  model: string;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  spendMicros: number;
}

/** The name the caller asked for (LiteLLM's model_group), else the deployment's model. */
function modelOf(row: SpendLogRow): string {
  const group = (row as Record<string, unknown>).model_group;
  if (typeof group === "string" && group !== "") return group;
  return row.model ?? "unknown";
}

export function rollUp(rows: SpendLogRow[]): Rollup[] {
  const byKey = new Map<string, Rollup>();
  for (const row of rows) {
    const day = row.startTime.slice(0, 10);
    const keyToken = row.api_key ?? "";
    const model = modelOf(row);
    const id = `${day}\u0000${keyToken}\u0000${model}`;
    const entry = byKey.get(id) ?? { day, keyToken, model, requests: 0, promptTokens: 0, completionTokens: 0, spendMicros: 0 };
    entry.requests += 1;
    entry.promptTokens += row.prompt_tokens ?? 0;
    entry.completionTokens += row.completion_tokens ?? 0;
    entry.spendMicros += Math.round((row.spend ?? 0) * 1_000_000);
    byKey.set(id, entry);
  }
  return [...byKey.values()];
}

async function importUser(ctx: UsageImportContext, user: DueUser, today: string): Promise<void> {
  const from = user.imported_from ?? (user.first_key_day > addDays(today, -firstImportDays) ? user.first_key_day : addDays(today, -firstImportDays));
  const startDate = from > today ? today : from;
  const rollups = rollUp(await fetchLogs(ctx.client, user.user_id, startDate, today));
  await withServiceTransaction(ctx.sql, async (tx) => {
    await tx`delete from public.usage_daily where user_id = ${user.user_id} and day >= ${startDate}::date`;
    if (rollups.length > 0) {
      const keys = await tx<{ id: string; token: string }[]>`
        select id, litellm_key_id as token from public.virtual_keys
        where user_id = ${user.user_id} and litellm_key_id is not null`;
      const keyIds = new Map(keys.map((key) => [key.token, key.id]));
      const values = rollups.map((rollup) => ({
        user_id: user.user_id,
        day: rollup.day,
        key_id: keyIds.get(rollup.keyToken) ?? null,
        model: rollup.model,
        requests: rollup.requests,
        prompt_tokens: rollup.promptTokens,
        completion_tokens: rollup.completionTokens,
        spend_micros: rollup.spendMicros,
      }));
      await tx`insert into public.usage_daily ${tx(values)}`;
    }
    await tx`
      insert into public.usage_imports (user_id, imported_from, last_imported_at, last_attempt_at, last_error)
      values (${user.user_id}, ${today}::date, now(), now(), null)
      on conflict (user_id) do update set imported_from = excluded.imported_from,
        last_imported_at = now(), last_attempt_at = now(), last_error = null`;
  });
}

async function recordFailure(sql: Sql, user: DueUser, message: string): Promise<void> {
  await sql`
    insert into public.usage_imports (user_id, imported_from, last_attempt_at, last_error)
    values (${user.user_id}, ${user.imported_from ?? user.first_key_day}::date, now(), ${message})
    on conflict (user_id) do update set last_attempt_at = now(), last_error = excluded.last_error`;
}

/** Refreshes `virtual_keys.spend_cents` from the gateway's per-key spend for one user's live keys. */
async function refreshKeySpend(ctx: UsageImportContext, userId: string): Promise<number> {
  const keys = await ctx.sql<{ id: string; token: string }[]>`
    select id, litellm_key_id as token from public.virtual_keys
    where user_id = ${userId} and not is_placeholder and revoked_at is null
      and litellm_key_id is not null and synced_version > 0`;
  let refreshed = 0;
  for (const key of keys) {
    const info = await ctx.client.keyInfo(key.token);
    if (!info) continue;
    await ctx.sql`update public.virtual_keys set spend_cents = ${info.spendCents}, spend_updated_at = now() where id = ${key.id}`;
    refreshed++;
  }
  return refreshed;
}

/**
 * One import pass over up to `limit` users. A gateway that cannot be reached ends the pass at
 * the first user: the others would only wait for the same timeout.
 */
export async function runUsageImport(
  ctx: UsageImportContext,
  options: { limit?: number; userId?: string; now?: Date } = {},
): Promise<UsageImportResult> {
  const today = isoDay(options.now ?? new Date());
  const users = await dueUsers(ctx.sql, options.limit ?? 200, options.userId);
  const result: UsageImportResult = { users: users.length, imported: 0, failed: 0, keysRefreshed: 0 };
  for (const user of users) {
    try {
      await importUser(ctx, user, today);
      result.keysRefreshed += await refreshKeySpend(ctx, user.user_id);
      result.imported++;
    } catch (err) {
      result.failed++;
      const message = err instanceof Error ? err.message : String(err);
      await recordFailure(ctx.sql, user, message);
      if (err instanceof GatewayError && err.retryable) {
        ctx.log.warn({ error: message, userId: user.user_id }, "usage import stopped: gateway unreachable");
        break;
      }
      ctx.log.error({ err, userId: user.user_id }, "usage import failed for a user");
    }
  }
  return result;
}

/** Runs an import pass every `intervalMs` until stopped; `stop()` waits for the pass in progress. */
export function startUsageImporter(ctx: UsageImportContext, options: { intervalMs?: number } = {}) {
  const intervalMs = options.intervalMs ?? 30_000;
  let stopped = false;
  let wake: (() => void) | undefined;
  const loop = (async () => {
    while (!stopped) {
      try {
        const result = await runUsageImport(ctx);
        if (result.users > 0) ctx.log.debug(result, "usage import pass");
      } catch (err) {
        ctx.log.error({ err }, "usage import pass failed");
      }
      if (stopped) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, intervalMs).unref();
      });
    }
  })();
  return {
    async stop(): Promise<void> {
      stopped = true;
      wake?.();
      await loop;
    },
  };
}
