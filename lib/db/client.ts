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

type UnsafeParameters = NonNullable<Parameters<Sql["unsafe"]>[1]>;

/**
 * `sql.unsafe(text, parameters)`, after which the query keeps no reference to its parameters.
 * postgres.js holds them on the query object (`args`, and `parameters` once it has built the
 * message) for as long as that object lives, and V8 may have placed such objects in the old
 * generation. A young collection cannot tell that an old object is dead, so it keeps whatever
 * the object points to alive, and after two collections copies it into the old generation,
 * where it waits for the next full mark-compact. For the gateway's spend-log batches (~50 kB of
 * text a parameter) that was every batch: 2.5 MB of old space per 5,000 rows (49 queries, each
 * followed by young collections), and with the references dropped 0.07 MB.
 */
export async function unsafeReleasing(sql: Sql, text: string, parameters: UnsafeParameters): Promise<postgres.RowList<postgres.Row[]>> {
  const args = [...parameters];
  const query = sql.unsafe(text, args);
  try {
    return await query;
  } finally {
    releaseParameters(query, args);
  }
}

/** Drops a finished query's references to its parameters (see `unsafeReleasing`). */
export function releaseParameters(query: object, args: unknown[]): void {
  args.fill(null);
  const built = (query as { parameters?: unknown }).parameters;
  if (Array.isArray(built)) built.fill(null);
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
