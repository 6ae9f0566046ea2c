import { randomBytes } from "node:crypto";
import type { TestProject } from "vitest/node";
import { createDb } from "../../lib/db/client";
import { appMigrations, migrate } from "../../lib/db/migrate";

/**
 * Creates a fresh database on the Postgres server named by TEST_POSTGRES_URL (default: the
 * local server with trust auth) for this pass, migrates it, and drops it afterwards. When no
 * server answers, it provides no URL and every test of this pass is reported as skipped.
 */
export default async function setup(project: TestProject) {
  const serverUrl = process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  const admin = createDb(serverUrl, { max: 1 });
  try {
    await admin`select 1`;
  } catch (err) {
    await admin.end({ timeout: 1 }).catch(() => {});
    console.warn(`[db:postgres] no Postgres server at ${redact(serverUrl)} (${(err as Error).message}): this pass is skipped`);
    project.provide("databaseUrl", "");
    project.provide("databaseKind", "postgres");
    return;
  }
  const name = `creditgate_test_${randomBytes(4).toString("hex")}`;
  await admin.unsafe(`create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const sql = createDb(url.toString(), { max: 1 });
  await migrate(sql, appMigrations, { bootstrapAuth: true });
  await sql.end();
  project.provide("databaseUrl", url.toString());
  project.provide("databaseKind", "postgres");
  return async () => {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  };
}

function redact(value: string): string {
  const url = new URL(value);
  if (url.password) url.password = "***";
  return url.toString();
}
