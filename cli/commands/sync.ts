import type { Command } from "commander";
import type { Sql } from "../../lib/db/client";
import { withAppDatabase } from "../database";
import { printRecord, printRows, type OutputOptions } from "../output";

/**
 * `sync status` and `sync retry-failed`: the app database's push queue to the gateway (keys in
 * virtual_keys, user budgets in gateway_users; lib/sync). A row shows `failed` from its third
 * failed push and keeps backing off; retry-failed makes failed rows due now with a fresh count,
 * so the next worker pass pushes them. Pushes carry absolute state, so retrying is always safe.
 */

interface StatusCount {
  queue: "keys" | "budgets";
  sync_status: string;
  rows: number;
}

interface FailedRow {
  queue: "keys" | "budgets";
  id: string;
  email: string | null;
  alias: string | null;
  attempts: number;
  last_error: string | null;
  next_attempt: Date | null;
}

export async function syncCounts(sql: Sql): Promise<StatusCount[]> {
  return sql<StatusCount[]>`
    select 'keys' as queue, sync_status, count(*)::int as rows
      from public.virtual_keys where not is_placeholder group by sync_status
    union all
    select 'budgets' as queue, sync_status, count(*)::int as rows
      from public.gateway_users group by sync_status
    order by queue, sync_status`;
}

export async function failedSyncRows(sql: Sql): Promise<FailedRow[]> {
  return sql<FailedRow[]>`
    select 'keys' as queue, k.id::text as id, p.email, k.alias, k.sync_attempts as attempts,
           k.last_sync_error as last_error, k.next_sync_at as next_attempt
      from public.virtual_keys k join public.profiles p on p.id = k.user_id
     where k.sync_status = 'failed'
    union all
    select 'budgets' as queue, g.user_id::text as id, p.email, null as alias, g.sync_attempts as attempts,
           g.last_sync_error as last_error, g.next_sync_at as next_attempt
      from public.gateway_users g join public.profiles p on p.id = g.user_id
     where g.sync_status = 'failed'
    order by queue, email, id`;
}

/** Failed rows become pending and due now, with their attempt count back at zero. */
export async function retryFailedSync(sql: Sql): Promise<{ keys: number; budgets: number }> {
  return sql.begin(async (tx) => {
    const keys = await tx`
      update public.virtual_keys set sync_status = 'pending', next_sync_at = now(), sync_attempts = 0
       where sync_status = 'failed' returning id`;
    const budgets = await tx`
      update public.gateway_users set sync_status = 'pending', next_sync_at = now(), sync_attempts = 0
       where sync_status = 'failed' returning user_id`;
    return { keys: keys.length, budgets: budgets.length };
  });
}

export function registerSyncCommands(program: Command): void {
  const sync = program.command("sync").description("the app's push queue to the gateway (needs DATABASE_URL)");

  sync
    .command("status")
    .description("rows by sync status, and every failed row with its last error")
    .addHelpText("after", "\nExample:\n  DATABASE_URL=postgres://… creditgate sync status")
    .action(async () => {
      const output = program.opts<OutputOptions>();
      const { counts, failed } = await withAppDatabase(async (sql) => ({ counts: await syncCounts(sql), failed: await failedSyncRows(sql) }));
      if (output.json) {
        process.stdout.write(`${JSON.stringify({ counts, failed }, null, 2)}\n`);
        return;
      }
      printRows(counts.map((count) => ({ ...count })), output);
      if (failed.length === 0) return;
      process.stdout.write("\nfailed:\n");
      printRows(failed.map((row) => ({ ...row })), output);
    });

  sync
    .command("retry-failed")
    .description("make every failed key and budget push due again now, with a fresh attempt count")
    .addHelpText("after", "\nExample:\n  DATABASE_URL=postgres://… creditgate sync retry-failed   # then the worker pushes them")
    .action(async () => {
      const retried = await withAppDatabase(retryFailedSync);
      printRecord({ keys_requeued: retried.keys, budgets_requeued: retried.budgets }, program.opts<OutputOptions>());
    });
}
