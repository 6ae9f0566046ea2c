import type { Sql } from "../lib/db/client";
import type { Directory } from "./directory";
import type { Logger } from "./log";
import { insertSpendLogs, spendLogJson, type NewSpendLog } from "./store";

// Past this many unwritten rows a flush starts at once rather than at the next tick.
const eagerFlushRows = 1_000;
// While Postgres is down rows wait in memory; beyond this many (~100 MB, well inside the 512 MB
// heap `npm run gateway` allows) the oldest are dropped and logged, so an outage cannot exhaust
// memory. Key, user and team spend is never dropped: it lives on the accounts, not in rows.
const maxQueuedRows = 100_000;

/**
 * Writes spend to Postgres in batches: the key/user/team spend the directory accumulated and
 * one spend-log row per request. Runs every `proxy_batch_write_at` seconds and at shutdown.
 */
export class SpendFlusher {
  // Rows as JSON (spendLogJson), waiting for the next batch.
  private logs: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly sql: Sql,
    private readonly directory: Directory,
    private readonly log: Logger,
    private readonly keepLogs: boolean,
  ) {}

  add(row: NewSpendLog): void {
    if (!this.keepLogs) return;
    this.logs.push(spendLogJson(row));
    if (this.logs.length === eagerFlushRows) void this.flush();
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

  /** Rows and accounts still waiting for Postgres. */
  pending(): number {
    return this.logs.length + this.directory.unflushedAccounts();
  }

  /** Writes everything recorded so far; concurrent calls queue behind each other. */
  flush(): Promise<void> {
    const run = this.running.then(() => this.flushOnce());
    this.running = run.catch(() => undefined);
    return run;
  }

  private async flushOnce(): Promise<void> {
    await this.directory.flushSpend();
    if (this.logs.length === 0) return;
    const batch = this.logs;
    this.logs = [];
    try {
      await insertSpendLogs(this.sql, batch);
    } catch (err) {
      this.logs = batch.concat(this.logs);
      if (this.logs.length > maxQueuedRows) {
        const dropped = this.logs.length - maxQueuedRows;
        this.logs = this.logs.slice(dropped);
        this.log.error({ dropped }, "spend-log queue full while Postgres is unreachable; oldest rows dropped");
      }
      this.log.error({ err, rows: batch.length }, "spend-log flush failed; will retry");
    }
  }
}
