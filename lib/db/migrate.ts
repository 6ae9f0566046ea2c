import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { Sql } from "./client";

export interface MigrationSet {
  /** Folder of `*.sql` files, applied in filename order. */
  dir: string;
  /** Schema-qualified tracking table, e.g. `supabase_migrations.schema_migrations`. */
  trackingTable: `${string}.${string}`;
}

export interface MigrationResult {
  applied: string[];
  skipped: string[];
  bootstrap: "applied" | "present" | "supabase" | "not-requested";
}

/** The app's migrations, tracked where the Supabase CLI tracks them, so either tool can take over. */
export const appMigrations: MigrationSet = {
  dir: path.resolve(import.meta.dirname, "../../supabase/migrations"),
  trackingTable: "supabase_migrations.schema_migrations",
};

const bootstrapFile = path.resolve(import.meta.dirname, "../../supabase/bootstrap/auth.sql");
const bootstrapVersion = "00000000000000";

// One lock id for every runner: two processes migrating at once take turns file by file.
const migrationLockId = 7_305_112_001;

/**
 * Applies each not-yet-applied file of `set` in its own transaction and records it there too,
 * so a file is either wholly applied and recorded or not at all; running again is a no-op.
 */
export async function migrate(
  sql: Sql,
  set: MigrationSet,
  options: { bootstrapAuth?: boolean } = {},
): Promise<MigrationResult> {
  await ensureTrackingTable(sql, set.trackingTable);
  const bootstrap = options.bootstrapAuth ? await bootstrapAuthSchema(sql, set.trackingTable) : "not-requested";

  const files = (await readdir(set.dir)).filter((name) => name.endsWith(".sql")).sort();
  const applied: string[] = [];
  const skipped: string[] = [];
  for (const file of files) {
    const { version, name } = parseMigrationName(file);
    const statements = await readFile(path.join(set.dir, file), "utf8");
    const didApply = await applyOnce(sql, set.trackingTable, version, name, statements);
    (didApply ? applied : skipped).push(file);
  }
  return { applied, skipped, bootstrap };
}

function parseMigrationName(file: string): { version: string; name: string } {
  const match = /^(\d+)_(.+)\.sql$/.exec(file);
  if (!match?.[1] || !match[2]) {
    throw new Error(`Migration file name must be <digits>_<name>.sql: ${file}`);
  }
  return { version: match[1], name: match[2] };
}

async function ensureTrackingTable(sql: Sql, table: string): Promise<void> {
  const [schema] = table.split(".");
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${migrationLockId})`;
    await tx.unsafe(`create schema if not exists ${schema}`);
    // The Supabase CLI's own table has (version, statements, name); applied_at is ours and nullable.
    await tx.unsafe(`
      create table if not exists ${table} (
        version text primary key,
        statements text[],
        name text,
        applied_at timestamptz default now()
      )`);
  });
}

async function applyOnce(sql: Sql, table: string, version: string, name: string, statements: string): Promise<boolean> {
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${migrationLockId})`;
    const done = await tx.unsafe(`select 1 from ${table} where version = $1`, [version]);
    if (done.length > 0) return false;
    await tx.unsafe(statements);
    await tx.unsafe(`insert into ${table} (version, name, statements) values ($1, $2, $3)`, [
      version,
      name,
      [statements],
    ]);
    return true;
  }) as Promise<boolean>;
}

/**
 * Creates the part of Supabase's `auth` schema the migrations rely on, on a Postgres that is not
 * Supabase. On Supabase, where `auth.users` already exists and is GoTrue's, it does nothing.
 */
async function bootstrapAuthSchema(sql: Sql, table: string): Promise<MigrationResult["bootstrap"]> {
  const recorded = await sql.unsafe(`select 1 from ${table} where version = $1`, [bootstrapVersion]);
  if (recorded.length > 0) return "present";
  const [existing] = await sql`select to_regclass('auth.users') is not null as present`;
  if (existing?.present) return "supabase";
  const statements = await readFile(bootstrapFile, "utf8");
  const didApply = await applyOnce(sql, table, bootstrapVersion, "auth_bootstrap", statements);
  return didApply ? "applied" : "present";
}
