import path from "node:path";
import { unsafeReleasing, type Sql } from "../lib/db/client";
import { migrate } from "../lib/db/migrate";
import {
  keyRowSchema,
  memberRowSchema,
  spendLogRowSchema,
  teamRowSchema,
  userRowSchema,
  type KeyRow,
  type MemberRow,
  type SpendLogRow,
  type TeamRow,
  type UserRow,
} from "./rows";
import { nanosToDecimal, type SpendWrite } from "./spend";

/**
 * Every query the gateway makes. None of them is on the request path in steady state: the
 * directory caches what requests read, and spend reaches these functions in batches.
 */

export const gatewayMigrations = {
  dir: path.resolve(import.meta.dirname, "migrations"),
  trackingTable: "gateway.schema_migrations",
} as const;

export async function migrateGateway(sql: Sql): Promise<string[]> {
  const result = await migrate(sql, gatewayMigrations);
  return result.applied;
}

/** A column value postgres.js can bind: jsonb columns need sql.json, arrays and scalars bind as they are. */
type Column = string | number | boolean | Date | null | string[] | ReturnType<Sql["json"]>;
export type Columns = Record<string, Column>;

const parseKeys = (rows: readonly unknown[]) => rows.map((row) => keyRowSchema.parse(row));
const parseUsers = (rows: readonly unknown[]) => rows.map((row) => userRowSchema.parse(row));
const parseTeams = (rows: readonly unknown[]) => rows.map((row) => teamRowSchema.parse(row));

// ---- keys

export async function findKey(sql: Sql, token: string): Promise<KeyRow | undefined> {
  return parseKeys(await sql`select * from gateway.keys where token = ${token}`)[0];
}

export async function findKeyByAlias(sql: Sql, alias: string): Promise<KeyRow | undefined> {
  return parseKeys(await sql`select * from gateway.keys where key_alias = ${alias}`)[0];
}

export async function insertKey(sql: Sql, columns: Columns): Promise<KeyRow> {
  const [row] = parseKeys(await sql`insert into gateway.keys ${sql(columns)} returning *`);
  if (!row) throw new Error("key insert returned no row");
  return row;
}

export async function updateKey(sql: Sql, token: string, columns: Columns): Promise<KeyRow | undefined> {
  const changes = { ...columns, updated_at: new Date() };
  return parseKeys(await sql`update gateway.keys set ${sql(changes)} where token = ${token} returning *`)[0];
}

export async function deleteKeys(sql: Sql, tokens: string[]): Promise<KeyRow[]> {
  if (tokens.length === 0) return [];
  return parseKeys(await sql`delete from gateway.keys where token in ${sql(tokens)} returning *`);
}

export interface KeyListQuery {
  userId?: string;
  teamId?: string;
  keyAlias?: string;
  keyHash?: string;
  sortBy: "spend" | "max_budget" | "created_at" | "updated_at" | "token" | "key_alias";
  sortOrder: "asc" | "desc";
  limit: number;
  offset: number;
}

export async function listKeys(sql: Sql, query: KeyListQuery): Promise<{ rows: KeyRow[]; total: number }> {
  const where = sql`where true
    ${query.userId !== undefined ? sql`and user_id = ${query.userId}` : sql``}
    ${query.teamId !== undefined ? sql`and team_id = ${query.teamId}` : sql``}
    ${query.keyAlias !== undefined ? sql`and key_alias = ${query.keyAlias}` : sql``}
    ${query.keyHash !== undefined ? sql`and token = ${query.keyHash}` : sql``}`;
  const order = query.sortOrder === "asc" ? sql`asc` : sql`desc`;
  const rows = await sql`
    select * from gateway.keys ${where}
    order by ${sql(query.sortBy)} ${order} nulls last, token ${order}
    limit ${query.limit} offset ${query.offset}`;
  const [count] = await sql<{ total: number }[]>`select count(*)::int as total from gateway.keys ${where}`;
  return { rows: parseKeys(rows), total: count?.total ?? 0 };
}

export async function keysOfUser(sql: Sql, userId: string): Promise<KeyRow[]> {
  return parseKeys(await sql`select * from gateway.keys where user_id = ${userId} order by created_at`);
}

export async function keysOfTeam(sql: Sql, teamId: string): Promise<KeyRow[]> {
  return parseKeys(await sql`select * from gateway.keys where team_id = ${teamId} order by created_at`);
}

// ---- users

export async function findUser(sql: Sql, userId: string): Promise<UserRow | undefined> {
  return parseUsers(await sql`select * from gateway.users where user_id = ${userId}`)[0];
}

export async function findUserByEmail(sql: Sql, email: string): Promise<UserRow | undefined> {
  return parseUsers(await sql`select * from gateway.users where lower(user_email) = lower(${email})`)[0];
}

export async function insertUser(sql: Sql, columns: Columns): Promise<UserRow> {
  const [row] = parseUsers(await sql`insert into gateway.users ${sql(columns)} returning *`);
  if (!row) throw new Error("user insert returned no row");
  return row;
}

export async function updateUser(sql: Sql, userId: string, columns: Columns): Promise<UserRow | undefined> {
  const changes = { ...columns, updated_at: new Date() };
  return parseUsers(await sql`update gateway.users set ${sql(changes)} where user_id = ${userId} returning *`)[0];
}

/** Deletes the users and their keys in one transaction, as LiteLLM's /user/delete does. */
export async function deleteUsers(sql: Sql, userIds: string[]): Promise<{ users: UserRow[]; keyTokens: string[] }> {
  return sql.begin(async (tx) => {
    const keys = await tx<{ token: string }[]>`delete from gateway.keys where user_id in ${tx(userIds)} returning token`;
    const users = parseUsers(await tx`delete from gateway.users where user_id in ${tx(userIds)} returning *`);
    return { users, keyTokens: keys.map((key) => key.token) };
  }) as Promise<{ users: UserRow[]; keyTokens: string[] }>;
}

export interface UserListQuery {
  role?: string;
  userIds?: string[];
  userEmail?: string;
  team?: string;
  sortBy?: "user_id" | "user_email" | "created_at" | "spend" | "user_alias" | "user_role";
  sortOrder: "asc" | "desc";
  limit: number;
  offset: number;
}

export async function listUsers(
  sql: Sql,
  query: UserListQuery,
): Promise<{ rows: (UserRow & { key_count: number })[]; total: number }> {
  const ids = query.userIds ?? [];
  const where = sql`where true
    ${query.role !== undefined ? sql`and u.user_role = ${query.role}` : sql``}
    ${ids.length === 1 ? sql`and u.user_id ilike ${`%${ids[0] ?? ""}%`}` : sql``}
    ${ids.length > 1 ? sql`and u.user_id in ${sql(ids)}` : sql``}
    ${query.userEmail !== undefined ? sql`and u.user_email ilike ${`%${query.userEmail}%`}` : sql``}
    ${query.team !== undefined ? sql`and exists (select 1 from gateway.team_members m where m.user_id = u.user_id and m.team_id = ${query.team})` : sql``}`;
  const order = query.sortBy
    ? sql`order by ${sql(`u.${query.sortBy}`)} ${query.sortOrder === "desc" ? sql`desc` : sql`asc`} nulls last, u.user_id`
    : sql`order by u.created_at desc, u.user_id`;
  const rows = await sql`
    select u.*, (select count(*)::int from gateway.keys k where k.user_id = u.user_id) as key_count
    from gateway.users u ${where} ${order}
    limit ${query.limit} offset ${query.offset}`;
  const [count] = await sql<{ total: number }[]>`select count(*)::int as total from gateway.users u ${where}`;
  return {
    rows: rows.map((row) => ({ ...userRowSchema.parse(row), key_count: Number(row.key_count) })),
    total: count?.total ?? 0,
  };
}

// ---- teams

export async function findTeam(sql: Sql, teamId: string): Promise<TeamRow | undefined> {
  return parseTeams(await sql`select * from gateway.teams where team_id = ${teamId}`)[0];
}

export async function insertTeam(sql: Sql, columns: Columns): Promise<TeamRow> {
  const [row] = parseTeams(await sql`insert into gateway.teams ${sql(columns)} returning *`);
  if (!row) throw new Error("team insert returned no row");
  return row;
}

export async function updateTeam(sql: Sql, teamId: string, columns: Columns): Promise<TeamRow | undefined> {
  const changes = { ...columns, updated_at: new Date() };
  return parseTeams(await sql`update gateway.teams set ${sql(changes)} where team_id = ${teamId} returning *`)[0];
}

export async function listTeams(sql: Sql, userId: string | undefined): Promise<TeamRow[]> {
  const rows =
    userId === undefined
      ? await sql`select * from gateway.teams order by created_at`
      : await sql`select t.* from gateway.teams t join gateway.team_members m using (team_id)
                  where m.user_id = ${userId} order by t.created_at`;
  return parseTeams(rows);
}

export async function teamMembers(sql: Sql, teamIds: string[]): Promise<MemberRow[]> {
  if (teamIds.length === 0) return [];
  const rows = await sql`
    select m.team_id, m.user_id, m.role, m.max_budget_in_team, m.spend, u.user_email
    from gateway.team_members m join gateway.users u using (user_id)
    where m.team_id in ${sql(teamIds)} order by m.created_at, m.user_id`;
  return rows.map((row) => memberRowSchema.parse(row));
}

export async function findMember(sql: Sql, teamId: string, userId: string): Promise<MemberRow | undefined> {
  const rows = await sql`
    select m.team_id, m.user_id, m.role, m.max_budget_in_team, m.spend, null as user_email
    from gateway.team_members m where m.team_id = ${teamId} and m.user_id = ${userId}`;
  return rows.map((row) => memberRowSchema.parse(row))[0];
}

export async function teamIdsOfUser(sql: Sql, userId: string): Promise<string[]> {
  const rows = await sql<{ team_id: string }[]>`
    select team_id from gateway.team_members where user_id = ${userId} order by created_at`;
  return rows.map((row) => row.team_id);
}

export async function upsertMember(
  sql: Sql,
  member: { teamId: string; userId: string; role: "admin" | "user"; maxBudgetInTeam: number | null },
): Promise<void> {
  await sql`
    insert into gateway.team_members (team_id, user_id, role, max_budget_in_team)
    values (${member.teamId}, ${member.userId}, ${member.role}, ${member.maxBudgetInTeam})`;
}

export async function deleteMember(sql: Sql, teamId: string, userId: string): Promise<boolean> {
  const rows = await sql`delete from gateway.team_members where team_id = ${teamId} and user_id = ${userId} returning 1`;
  return rows.length > 0;
}

// ---- spend

const spendTables = {
  key: { table: "gateway.keys", id: "token" },
  user: { table: "gateway.users", id: "user_id" },
  team: { table: "gateway.teams", id: "team_id" },
  proxy: { table: "gateway.proxy_budget", id: "id" },
} as const;

/**
 * Applies a batch of spend changes in one transaction: increments add to the stored spend of
 * their budget period, absolute writes (an admin's change) replace it. One statement per table,
 * with the batch as one JSON parameter, so a flush costs three round trips however large.
 */
export async function applySpendWrites(sql: Sql, writes: SpendWrite[]): Promise<void> {
  if (writes.length === 0) return;
  await sql.begin(async (tx) => {
    const members = writes
      .filter((write) => write.kind === "member")
      .map((write) => {
        const [teamId, userId] = write.id.split("\u001f");
        return { team_id: teamId, user_id: userId, absolute: write.absolute, amount: nanosToDecimal(write.nanos) };
      });
    if (members.length > 0) {
      await tx.unsafe(
        `update gateway.team_members t
            set spend = case when w.absolute then w.amount else t.spend + w.amount end
           from jsonb_to_recordset($1::text::jsonb) as w(team_id text, user_id text, absolute boolean, amount numeric)
          where t.team_id = w.team_id and t.user_id = w.user_id`,
        [JSON.stringify(members)],
      );
    }
    for (const kind of ["key", "user", "team", "proxy"] as const) {
      const batch = writes
        .filter((write) => write.kind === kind)
        .map((write) => ({
          id: write.id,
          absolute: write.absolute,
          amount: nanosToDecimal(write.nanos),
          reset_at: write.budgetResetAt?.toISOString() ?? null,
        }));
      if (batch.length === 0) continue;
      const { table, id } = spendTables[kind];
      // An increment carries the budget period it was spent in. The first write of a newer
      // period than the stored one starts it (its amount replaces the old period's spend),
      // whichever instance sends it; one of an ended period is dropped. So instances flushing
      // in any order around a reset count the new period's spend once.
      await tx.unsafe(
        `update ${table} t
            set spend = case
                  when w.absolute then w.amount
                  when w.reset_at > t.budget_reset_at then w.amount
                  when w.reset_at < t.budget_reset_at then t.spend
                  else t.spend + w.amount end,
                budget_reset_at = case
                  when not w.absolute and w.reset_at < t.budget_reset_at then t.budget_reset_at
                  else w.reset_at end
           from jsonb_to_recordset($1::text::jsonb) as w(id text, absolute boolean, amount numeric, reset_at timestamptz)
          where t.${id} = w.id`,
        [JSON.stringify(batch)],
      );
    }
  });
}

export interface NewSpendLog {
  request_id: string;
  call_type: string;
  api_key: string;
  spendNanos: number;
  total_tokens: number;
  prompt_tokens: number;
  completion_tokens: number;
  start_time: Date;
  end_time: Date;
  model: string;
  model_id: string | null;
  model_group: string;
  custom_llm_provider: string;
  api_base: string | null;
  user_id: string | null;
  team_id: string | null;
  end_user: string | null;
  status: "success" | "failure";
}

/**
 * One spend-log row as the JSON `insertSpendLogs` reads. Rows are serialised as they are
 * recorded, into the queue's off-heap batches (spend-log-queue.ts), so writing a batch is one
 * conversion instead of a stringify of a thousand objects that stalled the event loop for
 * milliseconds.
 */
export function spendLogJson(log: NewSpendLog): string {
  // Field by field: copying the row with a rest and a spread cost as much as the stringify.
  return JSON.stringify({
    request_id: log.request_id,
    call_type: log.call_type,
    api_key: log.api_key,
    spend: nanosToDecimal(log.spendNanos),
    total_tokens: log.total_tokens,
    prompt_tokens: log.prompt_tokens,
    completion_tokens: log.completion_tokens,
    // Epoch milliseconds: Postgres turns a number into a timestamp for less than it parses text.
    start_ms: log.start_time.getTime(),
    end_ms: log.end_time.getTime(),
    model: log.model,
    model_id: log.model_id,
    model_group: log.model_group,
    custom_llm_provider: log.custom_llm_provider,
    api_base: log.api_base,
    user_id: log.user_id,
    team_id: log.team_id,
    end_user: log.end_user,
    status: log.status,
  });
}

/**
 * Inserts a JSON array of rows made by `spendLogJson`; a request id already written is skipped.
 * `json_to_recordset` rather than the jsonb one: the text is read once, so converting it to jsonb
 * first only added work (10–15% of Postgres's time per row, measured on PGlite and Postgres 15).
 * Times come as epoch milliseconds, exact through float8 to the microsecond: `to_timestamp`
 * costs less than parsing ISO text (8% fewer instructions per row on PGlite, under valgrind).
 */
export async function insertSpendLogs(sql: Sql, rows: string): Promise<void> {
  // The batch's text is released once written, which keeps it out of the old generation.
  await unsafeReleasing(
    sql,
    `insert into gateway.spend_logs (request_id, call_type, api_key, spend, total_tokens, prompt_tokens,
       completion_tokens, start_time, end_time, model, model_id, model_group, custom_llm_provider, api_base,
       user_id, team_id, end_user, status)
     select request_id, call_type, api_key, spend, total_tokens, prompt_tokens, completion_tokens,
       to_timestamp(start_ms / 1000), to_timestamp(end_ms / 1000), model, model_id, model_group, custom_llm_provider,
       api_base, user_id, team_id, end_user, status
       from json_to_recordset($1::text::json) as l(request_id text, call_type text, api_key text, spend numeric,
         total_tokens int, prompt_tokens int, completion_tokens int, start_ms float8, end_ms float8,
         model text, model_id text, model_group text, custom_llm_provider text, api_base text, user_id text,
         team_id text, end_user text, status text)
     on conflict (request_id) do nothing`,
    [rows],
  );
}

export interface SpendLogQuery {
  apiKey?: string;
  userId?: string;
  requestId?: string;
  startDate?: string;
  endDate?: string;
}

export async function findSpendLogs(sql: Sql, query: SpendLogQuery): Promise<SpendLogRow[]> {
  const rows = await sql`
    select * from gateway.spend_logs where true
      ${query.apiKey !== undefined ? sql`and api_key = ${query.apiKey}` : sql``}
      ${query.userId !== undefined ? sql`and user_id = ${query.userId}` : sql``}
      ${query.requestId !== undefined ? sql`and request_id = ${query.requestId}` : sql``}
      ${query.startDate !== undefined ? sql`and start_time >= ${query.startDate}::date` : sql``}
      ${query.endDate !== undefined ? sql`and start_time < ${query.endDate}::date + 1` : sql``}
    order by start_time desc
    limit 10000`;
  return rows.map((row) => spendLogRowSchema.parse(row));
}

export interface DailySpend {
  day: string;
  api_key: string;
  user_id: string | null;
  model_group: string;
  spend: number;
}

/** Spend per day, key, user and model between two dates (inclusive), for the summarised logs. */
export async function dailySpend(sql: Sql, query: SpendLogQuery & { startDate: string; endDate: string }): Promise<DailySpend[]> {
  const rows = await sql<{ day: string; api_key: string; user_id: string | null; model_group: string; spend: string }[]>`
    select to_char(start_time at time zone 'UTC', 'YYYY-MM-DD') as day, api_key, user_id, model_group, sum(spend)::text as spend
      from gateway.spend_logs
     where start_time >= ${query.startDate}::date and start_time < ${query.endDate}::date + 1
       ${query.apiKey !== undefined ? sql`and api_key = ${query.apiKey}` : sql``}
       ${query.userId !== undefined ? sql`and user_id = ${query.userId}` : sql``}
     group by 1, 2, 3, 4
     order by 1`;
  return rows.map((row) => ({ ...row, spend: Number(row.spend) }));
}

/** The proxy-wide budget row, its period set to the config's duration. */
export async function loadProxyBudget(
  sql: Sql,
  budgetDuration: string | null,
  resetAt: (duration: string | null) => Date | null,
): Promise<{ spend: number; budget_reset_at: Date | null }> {
  const [row] = await sql<{ spend: string; budget_duration: string | null; budget_reset_at: Date | null }[]>`
    select spend::text, budget_duration, budget_reset_at from gateway.proxy_budget where id = 'global'`;
  if (row && row.budget_duration === budgetDuration) return { spend: Number(row.spend), budget_reset_at: row.budget_reset_at };
  // The config's period changed (or is new): start it now, keeping the spend already counted.
  const next = resetAt(budgetDuration);
  await sql`update gateway.proxy_budget set budget_duration = ${budgetDuration}, budget_reset_at = ${next} where id = 'global'`;
  return { spend: Number(row?.spend ?? 0), budget_reset_at: next };
}

/** Spend of the last 30 days, what LiteLLM's MonthlyGlobalSpend view sums. */
export async function monthlyGlobalSpend(sql: Sql): Promise<number> {
  const [row] = await sql<{ spend: string | null }[]>`
    select sum(spend)::text as spend from gateway.spend_logs where start_time >= now() - interval '30 days'`;
  return Number(row?.spend ?? 0);
}
