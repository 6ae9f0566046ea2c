import { describe, expect, it } from "vitest";
import { SpendLogBatch, SpendLogQueue } from "./spend-log-queue";

const row = (id: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ request_id: `r${id}`, ...extra });
const ids = (batch: SpendLogBatch) =>
  (JSON.parse(batch.json()) as { request_id: string }[]).map((r) => r.request_id);

describe("the spend-log queue", () => {
  it("cuts rows into batches of the given size, each a JSON array, and says when one is complete", () => {
    const queue = new SpendLogQueue(3);
    const completed = [1, 2, 3, 4, 5, 6, 7].map((id) => queue.push(row(id)));
    expect(completed).toEqual([false, false, true, false, false, true, false]);
    expect(queue.rows).toBe(7);
    const batches = queue.take();
    expect(batches.map(ids)).toEqual([["r1", "r2", "r3"], ["r4", "r5", "r6"], ["r7"]]);
    expect(queue.rows).toBe(0);
    expect(queue.take()).toEqual([]);
  });

  it("reads a batch as JSON again after more rows joined it, every row in it once", () => {
    const batch = new SpendLogBatch();
    batch.append(row(1));
    expect(ids(batch)).toEqual(["r1"]);
    batch.append(row(2));
    batch.append(row(3));
    expect(ids(batch)).toEqual(["r1", "r2", "r3"]);
  });

  it("keeps any text intact, whatever its UTF-8 length, past the buffer's first size", () => {
    const queue = new SpendLogQueue(10_000);
    const odd = 'quote " backslash \\ newline \n emoji 🦜 accents éü 中文 \u2028';
    const rows = Array.from({ length: 2_000 }, (_, id) =>
      row(id, { end_user: `${odd}${"x".repeat(id % 300)}` }),
    );
    for (const text of rows) queue.push(text);
    const [batch] = queue.take();
    expect(JSON.parse(batch?.json() ?? "")).toEqual(
      rows.map((text) => JSON.parse(text) as unknown),
    );
  });

  it("puts unwritten batches back before newer rows, and drops whole batches, oldest first, beyond the limit", () => {
    const queue = new SpendLogQueue(2);
    for (const id of [1, 2, 3, 4, 5]) queue.push(row(id));
    const unwritten = queue.take();
    for (const id of [6, 7]) queue.push(row(id));
    expect(queue.putBack(unwritten, 100)).toBe(0);
    expect(queue.rows).toBe(7);
    const again = queue.take();
    expect(again.map(ids)).toEqual([["r1", "r2"], ["r3", "r4"], ["r5"], ["r6", "r7"]]);
    expect(queue.putBack(again, 4)).toBe(4);
    expect(queue.take().map(ids)).toEqual([["r5"], ["r6", "r7"]]);
  });
});
