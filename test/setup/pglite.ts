import type { TestProject } from "vitest/node";
import { createDb } from "../../lib/db/client";
import { startEmbeddedPostgres } from "../../lib/db/embedded";
import { appMigrations, migrate } from "../../lib/db/migrate";

/** Starts one in-memory PGlite on a local port for this pass, with the migrations applied. */
export default async function setup(project: TestProject) {
  const embedded = await startEmbeddedPostgres();
  const sql = createDb(embedded.url, { max: 1 });
  await migrate(sql, appMigrations, { bootstrapAuth: true });
  await sql.end();
  project.provide("databaseUrl", embedded.url);
  project.provide("databaseKind", "pglite");
  return async () => embedded.stop();
}
