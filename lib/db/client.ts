import postgres from "postgres";

export type Sql = postgres.Sql;
export type TransactionSql = postgres.TransactionSql;

export interface DbOptions {
  /** Pool size; a small pool is right for PGlite, which runs one query at a time anyway. */
  max?: number;
  /** Seconds an idle connection is kept before it is closed. */
  idleTimeoutSeconds?: number;
}

/**
 * One Postgres driver for every part (app, gateway, worker, CLI, tests): postgres.js.
 *
 * Prepared statements are off: PGlite serves every connection from one backend session, so two
 * processes' statement names could collide, and Supabase's transaction pooler (port 6543)
 * does not support them either. The cost is a Parse per query, which the hot paths avoid by
 * not querying the database at all.
 */
export function createDb(url: string, options: DbOptions = {}): Sql {
  return postgres(url, {
    max: options.max ?? 10,
    idle_timeout: options.idleTimeoutSeconds ?? 30,
    connect_timeout: 10,
    prepare: false,
    onnotice: () => {},
    connection: { application_name: "creditgate" },
  });
}

let shared: Sql | undefined;
let sharedUrl: string | undefined;

/** The process-wide pool for `url`, created on first use. */
export function sharedDb(url: string): Sql {
  if (shared && sharedUrl === url) return shared;
  shared = createDb(url);
  sharedUrl = url;
  return shared;
}

export async function closeSharedDb(): Promise<void> {
  const pool = shared;
  shared = undefined;
  sharedUrl = undefined;
  await pool?.end({ timeout: 5 });
}
