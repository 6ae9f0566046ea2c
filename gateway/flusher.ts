import type { Sql } from "../lib/db/client";
import type { Directory } from "./directory";
import type { Logger } from "./log";
import { SpendLogQueue } from "./spend-log-queue";
import { insertSpendLogs, spendLogJson, type NewSpendLog } from "./store";

// Past this many unwritten rows a flush starts at once rather than at the next tick. Each flush
// also writes the accounts' spend, so fewer, larger flushes cost both sides less: at one
// connection 5,000 rather than 1,000 gave 15–21% more req/s, a lower p99 and 10–40 µs less
// gateway CPU a request in three runs of npm run bench:compare (embedded Postgres); at 50
// connections +17% and -3% in two. The rows wait off-heap (~2 MB) and the timer still writes
// them within `proxy_batch_write_at`.
const eagerFlushRows = 5_000;
// Rows per insert. A row's JSON is ~450 bytes, so a batch's text (~45 kB) stays under V8's
// large-object size (128 kB) and is made in the young generation (insertSpendLogs then releases
// it, or the driver's query object would carry it into the old one). Batches of 1,000 made
// half-megabyte strings that went straight to the old generation: a full mark-compact (~5 ms)
// about every second under steady load.
const rowsPerInsert = 100;
// While Postgres is down rows wait in memory; beyond this many (~100 MB, well inside the 512 MB
// heap `npm run gateway` allows) the oldest are dropped and logged, so an outage cannot exhaust
// memory. Key, user and team spend is never dropped: it lives on the accounts, not in rows.
const maxQueuedRows = 100_000;

/**
 * Writes spend to Postgres in batches: the key/user/team spend the directory accumulated and
 * one spend-log row per request. Runs every `proxy_batch_write_at` seconds and at shutdown.
 */
export class SpendFlusher {
  // Rows as JSON (spendLogJson), in batches of `rowsPerInsert`, waiting to be written.
  private readonly logs = new SpendLogQueue(rowsPerInsert);
  private timer: NodeJS.Timeout | undefined;
  private failing = false;
  private running: Promise<void> = Promise.resolve();
  // Rows a flush has taken and Postgres has not confirmed yet.
  private writingRows = 0;

  constructor(
    private readonly sql: Sql,
    private readonly directory: Directory,
    private readonly log: Logger,
    private readonly keepLogs: boolean,
  ) {}

  add(row: NewSpendLog): void {
    if (!this.keepLogs) return;
    this.logs.push(spendLogJson(row));
    // Once per `eagerFlushRows` rows queued since the last flush took them, so a slow flush does
    // not have another queued behind it for every batch that fills meanwhile. While writes fail,
    // only the timer retries.
    if (this.logs.rows % eagerFlushRows === 0 && !this.failing) void this.flush();
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      this.directory.resetDueBudgets(new Date());
      void this.flush();
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Rows and accounts still waiting for Postgres, including those a flush is writing now. */
  pending(): number {
    return this.logs.rows + this.writingRows + this.directory.unflushedAccounts();
  }

  /** Writes everything recorded so far; concurrent calls queue behind each other. */
  flush(): Promise<void> {
    const run = this.running.then(() => this.flushOnce());
    this.running = run.catch(() => undefined);
    return run;
  }

  private async flushOnce(): Promise<void> {
    await this.directory.flushSpend();
    const batches = this.logs.take();
    this.writingRows = batches.reduce((sum, batch) => sum + batch.rows, 0);
    let written = 0;
    try {
      for (const batch of batches) {
        await insertSpendLogs(this.sql, batch.json());
        written += 1;
        this.writingRows -= batch.rows;
      }
      this.failing = false;
    } catch (err) {
      this.writingRows = 0;
      this.failing = true;
      const unwritten = batches.slice(written);
      const dropped = this.logs.putBack(unwritten, maxQueuedRows);
      if (dropped > 0) this.log.error({ dropped }, "spend-log queue full while Postgres is unreachable; oldest rows dropped");
      const rows = unwritten.reduce((sum, batch) => sum + batch.rows, 0);
      this.log.error({ err, rows }, "spend-log flush failed; will retry");
    }
  }
}
