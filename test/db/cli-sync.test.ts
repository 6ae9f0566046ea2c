import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { expect, it } from "vitest";
import { databaseUrl, describeWithDatabase, insertAuthUser, uniqueEmail } from "../support/db";

const run = promisify(execFile);

async function creditgate(args: string[], env: Record<string, string> = { DATABASE_URL: databaseUrl }) {
  const { PATH, HOME } = process.env;
  return run(process.execPath, ["cli/bin.mjs", ...args], { env: { PATH, HOME, NODE_ENV: "test", ...env } }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
  );
}

interface StatusReport {
  counts: { queue: string; sync_status: string; rows: number }[];
  failed: { queue: string; id: string; email: string; alias: string | null; attempts: number; last_error: string }[];
}

describeWithDatabase("creditgate sync", (db) => {
  /** A user whose budget push and one real key push have both failed three times. */
  async function userWithFailedPushes() {
    const email = uniqueEmail("sync");
    const userId = await insertAuthUser(db(), email);
    await db()`
      update public.gateway_users
         set sync_status = 'failed', sync_attempts = 3, last_sync_error = 'gateway answered 503',
             next_sync_at = now() + interval '5 minutes'
       where user_id = ${userId}`;
    const [key] = await db()<{ id: string }[]>`
      insert into public.virtual_keys (user_id, alias, sync_status, sync_attempts, last_sync_error, next_sync_at)
      values (${userId}, 'laptop', 'failed', 4, 'cannot reach the gateway (ECONNREFUSED)', now() + interval '5 minutes')
      returning id`;
    if (!key) throw new Error("no key row");
    return { email, userId, keyId: key.id };
  }

  it("sync status counts rows by status and lists each failed row with its last error", async () => {
    const { email, userId, keyId } = await userWithFailedPushes();
    const result = await creditgate(["sync", "status", "--json"]);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as StatusReport;
    expect(report.counts).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ queue: "keys", sync_status: "failed" }),
        expect.objectContaining({ queue: "budgets", sync_status: "failed" }),
      ]),
    );
    expect(report.failed).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ queue: "keys", id: keyId, email, alias: "laptop", attempts: 4, last_error: "cannot reach the gateway (ECONNREFUSED)" }),
        expect.objectContaining({ queue: "budgets", id: userId, email, attempts: 3, last_error: "gateway answered 503" }),
      ]),
    );
    const table = await creditgate(["sync", "status"]);
    expect(table.stdout).toMatch(/^queue\s+sync_status\s+rows/);
    expect(table.stdout).toMatch(/failed:\nqueue\s+id\s+email/);
  });

  it("sync retry-failed makes every failed row pending, due now, with its attempts back at zero", async () => {
    const { userId, keyId } = await userWithFailedPushes();
    const result = await creditgate(["sync", "retry-failed", "--json"]);
    expect(result.code).toBe(0);
    const retried = JSON.parse(result.stdout) as { keys_requeued: number; budgets_requeued: number };
    expect(retried.keys_requeued).toBeGreaterThanOrEqual(1);
    expect(retried.budgets_requeued).toBeGreaterThanOrEqual(1);

    const [key] = await db()<{ sync_status: string; sync_attempts: number; due: boolean }[]>`
      select sync_status, sync_attempts, next_sync_at <= now() as due from public.virtual_keys where id = ${keyId}`;
    expect(key).toEqual({ sync_status: "pending", sync_attempts: 0, due: true });
    const [budget] = await db()<{ sync_status: string; sync_attempts: number; due: boolean }[]>`
      select sync_status, sync_attempts, next_sync_at <= now() as due from public.gateway_users where user_id = ${userId}`;
    expect(budget).toEqual({ sync_status: "pending", sync_attempts: 0, due: true });

    // Nothing failed is left, so a second run requeues nothing of this user's.
    const status = JSON.parse((await creditgate(["sync", "status", "--json"])).stdout) as StatusReport;
    expect(status.failed.filter((row) => row.id === keyId || row.id === userId)).toEqual([]);
  });

  it("without DATABASE_URL the sync commands exit 2 naming the variable", async () => {
    const result = await creditgate(["sync", "status"], {});
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toMatch(/^creditgate: DATABASE_URL: is required/);
  });
});
