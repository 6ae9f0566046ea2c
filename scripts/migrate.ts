/**
 * `npm run db:migrate`: applies supabase/migrations/*.sql to DATABASE_URL in filename order,
 * each file in its own transaction, recording what was applied; a second run is a no-op.
 * Off Supabase it first creates the subset of Supabase's auth schema the migrations use.
 */
import { z } from "zod";
import { createDb } from "../lib/db/client";
import { appMigrations, migrate } from "../lib/db/migrate";
import { envFields, exitOnEnvError, parseEnv } from "../lib/env";

async function main() {
  const env = (() => {
    try {
      return parseEnv(z.object({ DATABASE_URL: envFields.DATABASE_URL }));
    } catch (err) {
      return exitOnEnvError(err);
    }
  })();
  const sql = createDb(env.DATABASE_URL, { max: 1 });
  try {
    const result = await migrate(sql, appMigrations, { bootstrapAuth: true });
    const bootstrapNote = {
      applied: "created the auth schema subset (not Supabase)",
      present: "auth schema subset already present",
      supabase: "auth schema provided by Supabase, bootstrap skipped",
      "not-requested": "",
    }[result.bootstrap];
    console.log(`auth: ${bootstrapNote}`);
    for (const file of result.applied) console.log(`applied  ${file}`);
    console.log(`${result.applied.length} applied, ${result.skipped.length} already applied`);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

main().catch((err: unknown) => {
  console.error(`db:migrate failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
