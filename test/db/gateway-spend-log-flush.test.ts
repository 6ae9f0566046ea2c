import { randomUUID } from "node:crypto";
import { beforeAll, expect, it, vi } from "vitest";
import type { Sql } from "../../lib/db/client";
import { Directory } from "../../gateway/directory";
import { SpendFlusher } from "../../gateway/flusher";
import { createLogger } from "../../gateway/log";
import { migrateGateway, type NewSpendLog } from "../../gateway/store";
import { describeWithDatabase } from "../support/db";

/**
 * Spend-log rows wait in the flusher's off-heap batches until Postgres takes them: a write that
 * fails loses nothing and writes nothing twice, and the text of every field arrives intact.
 */

function spendLog(fields: Partial<NewSpendLog> = {}): NewSpendLog {
  const now = new Date();
  return {
    request_id: randomUUID(),
    call_type: "acompletion",
    api_key: "f".repeat(64),
    spendNanos: 1_234,
    total_tokens: 3,
    prompt_tokens: 2,
    completion_tokens: 1,
    start_time: now,
    end_time: now,
    model: "gpt-4o-mini",
    model_id: "deployment-1",
    model_group: "gpt-test",
    custom_llm_provider: "openai",
    api_base: null,
    user_id: null,
    team_id: null,
    end_user: null,
    status: "success",
    ...fields,
  };
}

/** The database, with its `unsafe` (the flusher's inserts go through it) replaced by `unsafe`. */
function withUnsafe(sql: Sql, unsafe: (query: string, params?: unknown[]) => unknown): Sql {
  return new Proxy(sql, {
    get(target, property, receiver) {
      return property === "unsafe" ? unsafe : (Reflect.get(target, property, receiver) as unknown);
    },
  });
}

/** The database, except that its writes are refused while `down` is set. */
function refusingWhileDown(sql: Sql): { sql: Sql; setDown(down: boolean): void } {
  let down = false;
  const wrapped = withUnsafe(sql, (query, params) =>
    down ? Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:5432")) : sql.unsafe(query, params as never),
  );
  return { sql: wrapped, setDown: (value) => (down = value) };
}

describeWithDatabase("spend-log rows between the gateway and Postgres", (db) => {
  beforeAll(async () => {
    await migrateGateway(db());
  });

  const silent = createLogger("silent");
  const stored = async (ids: string[]) => {
    const rows = await db()<{ request_id: string; end_user: string | null; spend: string; start_time: Date; end_time: Date }[]>`
      select request_id, end_user, spend, start_time, end_time from gateway.spend_logs where request_id = any(${ids})`;
    return new Map(rows.map((row) => [row.request_id, row]));
  };

  it("rows recorded while Postgres refuses writes are all written once it answers again, none twice", async () => {
    const database = refusingWhileDown(db());
    const flusher = new SpendFlusher(database.sql, new Directory(db(), silent), silent, true);
    const before = Array.from({ length: 2_500 }, () => spendLog());
    database.setDown(true);
    for (const row of before) flusher.add(row);
    await flusher.flush();
    expect(flusher.pending()).toBe(2_500);
    const during = Array.from({ length: 10 }, () => spendLog());
    for (const row of during) flusher.add(row);
    await flusher.flush();
    expect(flusher.pending()).toBe(2_510);

    database.setDown(false);
    await flusher.flush();
    expect(flusher.pending()).toBe(0);
    const ids = [...before, ...during].map((row) => row.request_id);
    expect((await stored(ids)).size).toBe(2_510);
    // A batch written again (its answer lost after the commit) adds nothing.
    const again = spendLog({ request_id: ids[0] });
    flusher.add(again);
    await flusher.flush();
    const [count] = await db()<
      { n: number }[]
    >`select count(*)::int as n from gateway.spend_logs where request_id = any(${ids})`;
    expect(count?.n).toBe(2_510);
  });

  it("writes by itself once 5,000 rows wait, in inserts of at most a hundred rows, without waiting for the timer", async () => {
    const inserts: number[] = [];
    // Counts the rows of each insert the flusher sends (its one parameter is the JSON array).
    const counting = withUnsafe(db(), (query, params) => {
      if (query.includes("gateway.spend_logs") && typeof params?.[0] === "string") {
        inserts.push((JSON.parse(params[0]) as unknown[]).length);
      }
      return db().unsafe(query, params as never);
    });
    const flusher = new SpendFlusher(counting, new Directory(db(), silent), silent, true);
    const rows = Array.from({ length: 4_999 }, () => spendLog());
    for (const row of rows) flusher.add(row);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(inserts).toEqual([]);

    const last = spendLog();
    flusher.add(last);
    const ids = [...rows, last].map((row) => row.request_id);
    await expect.poll(async () => (await stored(ids)).size, { timeout: 20_000 }).toBe(5_000);
    expect(inserts.reduce((sum, n) => sum + n, 0)).toBe(5_000);
    expect(Math.max(...inserts)).toBeLessThanOrEqual(100);
  });

  it("queues one flush per 5,000 rows while a slow flush runs, not one for every batch that fills meanwhile", async () => {
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => (open = resolve));
    let atGate = 0;
    // Inserts wait until the gate opens, as on a slow database.
    const slow = withUnsafe(db(), async (query, params) => {
      if (query.includes("gateway.spend_logs")) {
        atGate += 1;
        await gate;
      }
      return db().unsafe(query, params as never);
    });
    const directory = new Directory(db(), silent);
    const flushes = vi.spyOn(directory, "flushSpend");
    const flusher = new SpendFlusher(slow, directory, silent, true);
    const rows = Array.from({ length: 11_000 }, () => spendLog());
    for (const row of rows.slice(0, 5_000)) flusher.add(row);
    await expect.poll(() => atGate, { timeout: 10_000 }).toBe(1);
    // Rows a flush has taken are still pending until Postgres has them (shutdown reports them).
    expect(flusher.pending()).toBe(5_000);
    // The first flush holds its 5,000 rows at the gate; 6,000 more arrive meanwhile.
    for (const row of rows.slice(5_000)) flusher.add(row);
    open();
    await flusher.flush();
    expect((await stored(rows.map((row) => row.request_id))).size).toBe(11_000);
    // The first flush, one for the second 5,000 rows, and the one asked for above.
    expect(flushes).toHaveBeenCalledTimes(3);
  });

  it("keeps quotes, backslashes, line breaks, non-Latin text and the millisecond of a row as they were", async () => {
    const flusher = new SpendFlusher(db(), new Directory(db(), silent), silent, true);
    const odd = 'end "user" \\ line\nbreak 🦜 éü 中文';
    const row = spendLog({
      end_user: odd,
      spendNanos: 987_654_321,
      start_time: new Date("2031-07-04T23:59:59.999Z"),
      end_time: new Date("2031-07-05T00:00:00.001Z"),
    });
    flusher.add(row);
    await flusher.flush();
    const written = (await stored([row.request_id])).get(row.request_id);
    expect(written?.end_user).toBe(odd);
    expect(Number(written?.spend)).toBe(0.987654321);
    expect(written?.start_time.toISOString()).toBe("2031-07-04T23:59:59.999Z");
    expect(written?.end_time.toISOString()).toBe("2031-07-05T00:00:00.001Z");
  });

  it("answers a date range from the start_time index, with every row of the range counted", async () => {
    const flusher = new SpendFlusher(db(), new Directory(db(), silent), silent, true);
    const key = "e".repeat(64);
    const day = (offset: number, hour: number) => new Date(Date.UTC(2031, 0, 10 + offset, hour));
    // Three days of rows, written in time order as the gateway writes them.
    const rows = [0, 1, 2].flatMap((offset) =>
      Array.from({ length: 700 }, (_, index) =>
        spendLog({ api_key: key, start_time: day(offset, index % 24), end_time: day(offset, index % 24), spendNanos: 1_000 * (offset + 1) }),
      ),
    );
    for (const row of rows) flusher.add(row);
    await flusher.flush();
    const range = { from: day(1, 0).toISOString(), to: day(2, 0).toISOString() };
    await db()`analyze gateway.spend_logs`;
    const plan = await db().begin(async (tx) => {
      await tx`set local enable_seqscan = off`;
      return tx<{ "QUERY PLAN": string }[]>`
        explain select sum(spend) from gateway.spend_logs where start_time >= ${range.from} and start_time < ${range.to}`;
    });
    expect(plan.map((line) => line["QUERY PLAN"]).join("\n")).toContain("spend_logs_start");
    const [total] = await db()<{ n: number; spend: string }[]>`
      select count(*)::int as n, sum(spend)::text as spend from gateway.spend_logs
       where start_time >= ${range.from} and start_time < ${range.to}`;
    expect(total?.n).toBe(700);
    expect(Number(total?.spend)).toBeCloseTo(700 * 0.000002, 12);
  });
});
