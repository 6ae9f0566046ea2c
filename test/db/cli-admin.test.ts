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

describeWithDatabase("creditgate admin", (db) => {
  it("grant makes an existing user an admin and revoke makes them a user again", async () => {
    const email = uniqueEmail("ops");
    const userId = await insertAuthUser(db(), email);
    const granted = await creditgate(["admin", "grant", email.toUpperCase(), "--json"]);
    expect(granted).toMatchObject({ code: 0 });
    expect(JSON.parse(granted.stdout)).toEqual({ email, role: "admin" });
    expect((await db()`select role from public.profiles where id = ${userId}`)[0]?.role).toBe("admin");

    const revoked = await creditgate(["admin", "revoke", email]);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toMatch(/role\s+user/);
    expect((await db()`select role from public.profiles where id = ${userId}`)[0]?.role).toBe("user");
  });

  it("an unknown email fails with exit code 1 and one line saying so", async () => {
    const result = await creditgate(["admin", "grant", uniqueEmail("nobody")]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/no user with email .* must sign up first/);
  });

  it.each([
    [["admin", "grant", "not-an-email"], /<email>: "not-an-email" is not an email address/],
    [["admin", "grant"], /missing required argument 'email'/],
    [["no-such-command"], /unknown command/],
  ])("a usage mistake exits with code 2: %j", async (args, message) => {
    const result = await creditgate(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it("without DATABASE_URL it exits with code 2 naming the variable", async () => {
    const result = await creditgate(["admin", "grant", "a@example.test"], {});
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/DATABASE_URL: is required/);
  });
});
