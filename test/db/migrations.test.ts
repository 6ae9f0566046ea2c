import { expect, it } from "vitest";
import { appMigrations, migrate } from "../../lib/db/migrate";
import { describeWithDatabase, insertAuthUser } from "../support/db";

describeWithDatabase("migrations", (db) => {
  it("apply a second time without error and without applying anything", async () => {
    const result = await migrate(db(), appMigrations, { bootstrapAuth: true });
    expect(result.applied).toEqual([]);
    expect(result.skipped.length).toBeGreaterThan(0);
    expect(result.bootstrap).toBe("present");
  });

  it("are recorded once each in the Supabase CLI's tracking table", async () => {
    const rows = await db()<{ version: string }[]>`select version from supabase_migrations.schema_migrations order by version`;
    const versions = rows.map((row) => row.version);
    expect(new Set(versions).size).toBe(versions.length);
    expect(versions).toContain("20261123000000");
  });

  it("the signup trigger creates exactly one profile, one 500-credit grant and one placeholder key", async () => {
    const sql = db();
    const userId = await insertAuthUser(sql);
    const profiles = await sql`select role from public.profiles where id = ${userId}`;
    const grants = await sql`select amount, kind from public.credit_transactions where user_id = ${userId}`;
    const keys = await sql`
      select is_placeholder, litellm_key_id, max_budget, rpm_limit, tpm_limit, budget_duration, sync_status
      from public.virtual_keys where user_id = ${userId}`;
    expect(profiles).toEqual([{ role: "user" }]);
    expect(grants).toEqual([{ amount: 500, kind: "signup_grant" }]);
    expect(keys).toEqual([
      {
        is_placeholder: true,
        litellm_key_id: null,
        max_budget: 1000,
        rpm_limit: 100,
        tpm_limit: 10000,
        budget_duration: "30d",
        sync_status: "pending",
      },
    ]);
    const [balance] = await sql`select credits from public.credit_balances where user_id = ${userId}`;
    expect(Number(balance?.credits)).toBe(500);
  });

  it("the ledger refuses updates and deletes: corrections are new entries", async () => {
    const sql = db();
    const userId = await insertAuthUser(sql);
    await expect(sql`update public.credit_transactions set amount = 9999 where user_id = ${userId}`).rejects.toThrow(
      /append-only/,
    );
    await expect(sql`delete from public.credit_transactions where user_id = ${userId}`).rejects.toThrow(/append-only/);
    const [row] = await sql`select amount from public.credit_transactions where user_id = ${userId}`;
    expect(row?.amount).toBe(500);
  });

  it("a ledger reference can be recorded only once", async () => {
    const sql = db();
    const userId = await insertAuthUser(sql);
    await expect(
      sql`insert into public.credit_transactions (user_id, amount, kind, reference) values (${userId}, 5, 'adjustment', ${"signup:" + userId})`,
    ).rejects.toThrow(/duplicate key/);
  });
});
