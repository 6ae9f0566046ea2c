import { beforeAll, expect, it } from "vitest";
import type { Sql } from "../../lib/db/client";
import { withAnonTransaction, withUserTransaction, type UserClaims } from "../../lib/db/transactions";
import { describeWithDatabase, insertAuthUser, uniqueEmail } from "../support/db";

const claimsFor = (id: string, email: string): UserClaims => ({ sub: id, email, role: "authenticated" });

/** Every public table and view with the columns `role` may select, read as the schema owner. */
async function readableRelations(sql: Sql, role: string) {
  const rows = await sql<{ relation: string; columns: string[] }[]>`
    select c.table_name as relation, array_agg(c.column_name::text order by c.ordinal_position) as columns
    from information_schema.columns c
    where c.table_schema = 'public'
      and has_column_privilege(${role}, format('public.%I', c.table_name), c.column_name, 'SELECT')
    group by c.table_name`;
  return rows;
}

describeWithDatabase("row-level security", (db) => {
  let alice: { id: string; email: string };
  let bob: { id: string; email: string };

  beforeAll(async () => {
    const sql = db();
    alice = { email: uniqueEmail("alice"), id: "" };
    bob = { email: uniqueEmail("bob"), id: "" };
    alice.id = await insertAuthUser(sql, alice.email);
    bob.id = await insertAuthUser(sql, bob.email);
    await sql`
      insert into public.payments (reference, user_id, credits, amount_subunits, currency)
      values (${"ref-" + alice.id}, ${alice.id}, 1000, 150000, 'NGN'), (${"ref-" + bob.id}, ${bob.id}, 1000, 150000, 'NGN')`;
  });

  it("is enabled on every table in the public schema", async () => {
    const rows = await db()<{ relname: string; relrowsecurity: boolean }[]>`
      select c.relname, c.relrowsecurity from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relkind = 'r'`;
    expect(rows.length).toBeGreaterThanOrEqual(4);
    expect(rows.filter((row) => !row.relrowsecurity)).toEqual([]);
  });

  it("a user sees none of another user's rows in any table or view", async () => {
    const sql = db();
    const relations = await readableRelations(sql, "authenticated");
    expect(relations.map((r) => r.relation)).toEqual(expect.arrayContaining(["profiles", "virtual_keys", "credit_transactions"]));
    for (const { relation, columns } of relations) {
      const rows = await withUserTransaction(sql, claimsFor(alice.id, alice.email), (tx) =>
        tx.unsafe(`select ${columns.map((c) => `"${c}"`).join(", ")} from public."${relation}"`),
      );
      const text = JSON.stringify(rows);
      expect(text, `${relation} leaks another user's row`).not.toContain(bob.id);
      expect(text, `${relation} leaks another user's email`).not.toContain(bob.email);
    }
  });

  it("a user sees their own profile, keys, ledger and balance", async () => {
    const own = await withUserTransaction(db(), claimsFor(alice.id, alice.email), async (tx) => ({
      profiles: await tx`select id from public.profiles`,
      keys: await tx`select user_id from public.virtual_keys`,
      ledger: await tx`select amount from public.credit_transactions`,
      balance: await tx`select credits from public.credit_balances`,
    }));
    expect(own.profiles).toEqual([{ id: alice.id }]);
    expect(own.keys).toEqual([{ user_id: alice.id }]);
    expect(own.ledger).toEqual([{ amount: 500 }]);
    expect(own.balance.map((row) => Number(row.credits))).toEqual([500]);
  });

  it("payments are private: a user cannot read them, not even their own", async () => {
    await expect(
      withUserTransaction(db(), claimsFor(alice.id, alice.email), (tx) => tx`select * from public.payments`),
    ).rejects.toThrow(/permission denied/);
  });

  it("a key's encrypted secret is not readable by its owner", async () => {
    await expect(
      withUserTransaction(db(), claimsFor(alice.id, alice.email), (tx) => tx`select secret_ciphertext from public.virtual_keys`),
    ).rejects.toThrow(/permission denied/);
  });

  it.each([
    ["a ledger entry", (id: string) => `insert into public.credit_transactions (user_id, amount, kind, reference) values ('${id}', 100000, 'purchase', 'forged-${id}')`],
    ["a payment", (id: string) => `insert into public.payments (reference, user_id, credits, amount_subunits, currency) values ('forged-${id}', '${id}', 1, 1, 'NGN')`],
    ["a payment status change", (id: string) => `update public.payments set status = 'paid' where user_id = '${id}'`],
    ["their own role", (id: string) => `update public.profiles set role = 'admin' where id = '${id}'`],
    ["their key's sync state", (id: string) => `update public.virtual_keys set sync_status = 'synced' where user_id = '${id}'`],
  ])("a user cannot write %s", async (_what, statement) => {
    await expect(
      withUserTransaction(db(), claimsFor(alice.id, alice.email), (tx) => tx.unsafe(statement(alice.id))),
    ).rejects.toThrow(/permission denied/);
    const [balance] = await db()`select credits from public.credit_balances where user_id = ${alice.id}`;
    const [profile] = await db()`select role from public.profiles where id = ${alice.id}`;
    expect(Number(balance?.credits)).toBe(500);
    expect(profile?.role).toBe("user");
  });

  it("an anonymous visitor sees nothing", async () => {
    const sql = db();
    for (const relation of ["profiles", "virtual_keys", "credit_transactions", "credit_balances", "payments"]) {
      const outcome = await withAnonTransaction(sql, (tx) => tx.unsafe(`select * from public."${relation}"`)).then(
        (rows) => rows.length,
        (err: Error) => err.message,
      );
      expect(outcome === 0 || /permission denied/.test(String(outcome)), `${relation}: ${outcome}`).toBe(true);
    }
  });

  it("an admin, by profiles.role, reads every user's profile and ledger", async () => {
    const sql = db();
    const admin = { email: uniqueEmail("admin"), id: "" };
    admin.id = await insertAuthUser(sql, admin.email);
    await sql`update public.profiles set role = 'admin' where id = ${admin.id}`;
    const seen = await withUserTransaction(sql, claimsFor(admin.id, admin.email), async (tx) => ({
      profiles: await tx`select id from public.profiles where id in (${alice.id}, ${bob.id})`,
      ledger: await tx`select user_id from public.credit_transactions where user_id in (${alice.id}, ${bob.id})`,
    }));
    expect(seen.profiles).toHaveLength(2);
    expect(seen.ledger).toHaveLength(2);
  });

  it("claims in user metadata do not make anyone an admin", async () => {
    const sql = db();
    const [row] = await sql<{ id: string }[]>`
      insert into auth.users (email, raw_user_meta_data, raw_app_meta_data)
      values (${uniqueEmail("sneaky")}, '{"role":"admin"}', '{"role":"admin"}') returning id`;
    const [profile] = await sql`select role from public.profiles where id = ${row?.id ?? ""}`;
    expect(profile?.role).toBe("user");
  });
});
