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
 * Postgres learns this process's own part by flushes: the `unflushedNanos` increments, or the
 * absolute value after a reset or an admin's explicit change plus what was recorded since, so a
 * flush racing a reset can never add pre-reset spend onto the new period.
 *
 * `reservedNanos` is the worst-case cost of requests in flight: the budget check counts it as
 * spent, so concurrent requests cannot all pass on the same remaining amount.
 */
export class SpendAccount {
  spentNanos: number;
  reservedNanos = 0;
  unflushedNanos = 0;
  writeAbsolute = false;
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
    return this.writeAbsolute || this.unflushedNanos !== 0;
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

  /**
   * A new period that a shared store (Redis) started on this instance's request: this instance
   * writes the zero to Postgres, once for all instances.
   */
  startPeriod(resetAt: Date | null): void {
    this.setSpend(0);
    this.budgetResetAt = resetAt;
  }

  /**
   * A new period another instance started: spend recorded here in the old period is dropped
   * from the next flush, as a local reset drops it, and the other instance writes the zero.
   */
  adoptPeriod(resetAt: Date | null): void {
    this.unflushedNanos = 0;
    this.budgetResetAt = resetAt;
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
    this.unflushedNanos += write.nanos;
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
