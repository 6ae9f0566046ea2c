import { budgetResetAt } from "./budget";

/**
 * Money inside the gateway is integer nano-dollars (1e-9 USD): per-token prices are fractions
 * of a micro-dollar, and summing floats over millions of requests drifts. Dollars (LiteLLM's
 * wire unit) exist only at the edges: the admin API and the `numeric` columns.
 */
export const nanosPerDollar = 1_000_000_000;

export function dollarsToNanos(dollars: number): number {
  return Math.round(dollars * nanosPerDollar);
}

export function nanosToDollars(nanos: number): number {
  return nanos / nanosPerDollar;
}

/** Exact decimal text of a nano-dollar amount, for a `numeric` column. */
export function nanosToDecimal(nanos: number): string {
  const negative = nanos < 0;
  const digits = String(Math.abs(Math.round(nanos))).padStart(10, "0");
  const whole = digits.slice(0, -9);
  const fraction = digits.slice(-9);
  return `${negative ? "-" : ""}${whole}.${fraction}`;
}

/** Reads a `numeric` column (postgres.js returns it as text) into nano-dollars. */
export function decimalToNanos(value: string | number | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return dollarsToNanos(Number(value));
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
}

export interface Prices {
  /** US dollars per token. */
  inputCostPerToken: number;
  outputCostPerToken: number;
}

export function costNanos(usage: Usage, prices: Prices): number {
  return Math.round(
    usage.promptTokens * prices.inputCostPerToken * nanosPerDollar +
      usage.completionTokens * prices.outputCostPerToken * nanosPerDollar,
  );
}

/**
 * The spend of one budget-bearing thing (a key, a user or a team) as this process knows it.
 *
 * `spentNanos` is this process's view of the total (with Redis, the shared total as last seen);
 * Postgres learns this process's own part by flushes: `unflushedNanos` as an increment tagged
 * with the budget period it was spent in (Postgres starts a newer period on its first write,
 * whichever instance sends it), or an admin's absolute value plus what was recorded since.
 *
 * `reservedNanos` is the worst-case cost of requests in flight: the budget check counts it as
 * spent, so concurrent requests cannot all pass on the same remaining amount.
 */
export class SpendAccount {
  spentNanos: number;
  reservedNanos = 0;
  unflushedNanos = 0;
  writeAbsolute = false;
  /** A period began here that Postgres has not been told of (its spend may still be zero). */
  private periodUnwritten = false;
  /** The absolute amount the next flush writes (plus `unflushedNanos`) when `writeAbsolute`. */
  private absoluteNanos = 0;
  maxBudgetNanos: number | null = null;
  budgetDuration: string | null = null;
  budgetResetAt: Date | null = null;

  constructor(
    readonly kind: SpendKind,
    readonly id: string,
    spentNanos: number,
  ) {
    this.spentNanos = spentNanos;
  }

  get dirty(): boolean {
    return this.writeAbsolute || this.periodUnwritten || this.unflushedNanos !== 0;
  }

  setBudget(maxBudgetDollars: number | null, budgetDuration: string | null, resetAt: Date | null): void {
    this.maxBudgetNanos = maxBudgetDollars === null ? null : dollarsToNanos(maxBudgetDollars);
    this.budgetDuration = budgetDuration;
    this.budgetResetAt = resetAt;
  }

  /** Starts a new budget period when the reset time has passed; true if it did. */
  resetIfDue(now: Date): boolean {
    if (!this.budgetResetAt || now.getTime() < this.budgetResetAt.getTime()) return false;
    this.startPeriod(budgetResetAt(this.budgetDuration, now));
    return true;
  }

  /** A new period, started here or by a shared store (Redis) on this instance's request. */
  startPeriod(resetAt: Date | null): void {
    this.spentNanos = 0;
    this.adoptPeriod(resetAt);
  }

  /**
   * A new period, however it began: spend recorded here in the old one and not flushed is
   * dropped (it belongs to a period that is over), and the next flush tells Postgres of the
   * new period even if nothing is spent in it yet.
   */
  adoptPeriod(resetAt: Date | null): void {
    this.unflushedNanos = 0;
    this.budgetResetAt = resetAt;
    this.periodUnwritten = true;
  }

  setSpend(nanos: number): void {
    this.spentNanos = nanos;
    this.absoluteNanos = nanos;
    this.unflushedNanos = 0;
    this.writeAbsolute = true;
  }

  record(nanos: number): void {
    this.spentNanos += nanos;
    this.unflushedNanos += nanos;
  }

  /** Takes what the next flush must write, leaving the account clean until new spend arrives. */
  takeFlush(): SpendWrite {
    const write: SpendWrite = this.writeAbsolute
      ? {
          kind: this.kind,
          id: this.id,
          absolute: true,
          nanos: this.absoluteNanos + this.unflushedNanos,
          budgetResetAt: this.budgetResetAt,
        }
      : { kind: this.kind, id: this.id, absolute: false, nanos: this.unflushedNanos, budgetResetAt: this.budgetResetAt };
    this.unflushedNanos = 0;
    this.writeAbsolute = false;
    this.periodUnwritten = false;
    return write;
  }

  /** Puts back a write that did not reach Postgres, so it is retried with the next flush. */
  restoreFlush(write: SpendWrite): void {
    if (write.absolute) {
      // A newer absolute value (set since the write was taken) supersedes this one; otherwise
      // spend recorded since is in `unflushedNanos` and adds to it.
      if (this.writeAbsolute) return;
      this.absoluteNanos = write.nanos;
      this.writeAbsolute = true;
      return;
    }
    // Spend of a period that has ended since is not carried into the new one.
    if ((write.budgetResetAt?.getTime() ?? null) !== (this.budgetResetAt?.getTime() ?? null)) return;
    this.unflushedNanos += write.nanos;
    this.periodUnwritten = true;
  }
}

/** What carries a budget: a key, a user, a team, or a user's membership in a team. */
export type SpendKind = "key" | "user" | "team" | "member" | "proxy";

/** A membership's account id: team and user, joined by a character neither can contain. */
export const memberId = (teamId: string, userId: string) => `${teamId}\u001f${userId}`;

export interface SpendWrite {
  kind: SpendKind;
  id: string;
  absolute: boolean;
  nanos: number;
  budgetResetAt: Date | null;
}
