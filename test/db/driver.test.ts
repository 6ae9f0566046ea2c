import { expect, it } from "vitest";
import { releaseParameters, unsafeReleasing } from "../../lib/db/client";
import { withUserTransaction } from "../../lib/db/transactions";
import { describeWithDatabase, insertAuthUser, uniqueEmail } from "../support/db";

describeWithDatabase("database driver", (db) => {
  it("concurrent parameterised queries from many connections each get their own answer", async () => {
    const sql = db();
    const results = await Promise.all(
      Array.from({ length: 400 }, (_, i) =>
        i % 2 === 0 ? sql`select ${`value-${i}`}::text as v` : sql`select ${i}::int + ${1}::int as v`,
      ),
    );
    results.forEach((rows, i) => expect(rows[0]?.v).toBe(i % 2 === 0 ? `value-${i}` : i + 1));
  });

  it("concurrent transactions stay isolated from each other's role and claims", async () => {
    const sql = db();
    const users = await Promise.all(Array.from({ length: 8 }, () => insertAuthUser(sql, uniqueEmail("iso"))));
    const seen = await Promise.all(
      users.flatMap((id) =>
        Array.from({ length: 5 }, () =>
          withUserTransaction(sql, { sub: id, email: "x@example.test", role: "authenticated" }, async (tx) => {
            const rows = await tx<{ id: string }[]>`select id from public.profiles`;
            const [who] = await tx<{ uid: string; role: string }[]>`select auth.uid() as uid, current_user as role`;
            return { expected: id, rows: rows.map((r) => r.id), uid: who?.uid, role: who?.role };
          }),
        ),
      ),
    );
    for (const s of seen) {
      expect(s.rows).toEqual([s.expected]);
      expect(s.uid).toBe(s.expected);
      expect(s.role).toBe("authenticated");
    }
  });

  it("a finished query keeps no reference to its parameters once released, and its answer is intact", async () => {
    const sql = db();
    const text = "x".repeat(50_000);
    const args: unknown[] = [text];
    const query = sql.unsafe("select length($1::text) as n", args as string[]);
    const rows = await query;
    expect(rows[0]?.n).toBe(50_000);
    // The driver keeps the built parameters on the query: if a version stops doing so (or renames
    // the field), this fails and the release can go.
    const built = (query as unknown as { parameters?: unknown }).parameters;
    expect(built).toEqual([text]);
    releaseParameters(query, args);
    expect(args).toEqual([null]);
    expect(built).toEqual([null]);
    const [again] = await unsafeReleasing(sql, "select $1::text as t", ["still answers"]);
    expect(again?.t).toBe("still answers");
  });

  it("a failed transaction rolls back and leaves the connection usable", async () => {
    const sql = db();
    const email = uniqueEmail("rollback");
    await expect(
      sql.begin(async (tx) => {
        await tx`insert into auth.users (email) values (${email})`;
        await tx`select 1/0`;
      }),
    ).rejects.toThrow(/division by zero/);
    const rows = await sql`select 1 from auth.users where email = ${email}`;
    expect(rows).toHaveLength(0);
  });
});
