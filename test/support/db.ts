import { randomUUID } from "node:crypto";
import { afterAll, describe, inject } from "vitest";
import { createDb, type Sql } from "../../lib/db/client";

/** The database of this pass ("" when the pass has no server and is skipped). */
export const databaseUrl = inject("databaseUrl");
export const databaseKind = inject("databaseKind");

/**
 * `describe` for a suite that needs the database: it runs on every pass that has one and is
 * reported as skipped on a pass that has none.
 */
export function describeWithDatabase(name: string, body: (db: () => Sql) => void) {
  describe.skipIf(!databaseUrl)(`${name} [${databaseKind}]`, () => {
    let sql: Sql | undefined;
    const db = () => (sql ??= createDb(databaseUrl, { max: 4 }));
    afterAll(async () => {
      await sql?.end({ timeout: 5 });
    });
    body(db);
  });
}

export function uniqueEmail(label = "user"): string {
  return `${label}-${randomUUID().slice(0, 8)}@example.test`;
}

/** Inserts an auth user the way any signup path does, returning its id; the trigger does the rest. */
export async function insertAuthUser(sql: Sql, email = uniqueEmail()): Promise<string> {
  const [row] = await sql<{ id: string }[]>`
    insert into auth.users (email, encrypted_password, email_confirmed_at)
    values (${email}, 'not-a-real-hash', now())
    returning id`;
  if (!row) throw new Error("auth user insert returned no row");
  return row.id;
}
