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
  /** Every input token read, cached or not (OpenAI's and LiteLLM's prompt_tokens). */
  promptTokens: number;
  completionTokens: number;
  /** Of promptTokens, those read from the provider's prompt cache. */
  cacheReadTokens?: number;
  /** Of promptTokens, those written to the provider's prompt cache. */
  cacheWriteTokens?: number;
}

export interface Prices {
  /** US dollars per token. */
  inputCostPerToken: number;
  outputCostPerToken: number;
  /** Per token read from the prompt cache (LiteLLM's cache_read_input_token_cost); else the input price. */
  cacheReadCostPerToken?: number;
  /** Per token written to the prompt cache (cache_creation_input_token_cost); else the input price. */
  cacheWriteCostPerToken?: number;
}

/** `usage` with the cache's reads and writes, where there were any. */
export function withCache(usage: Usage, cacheReadTokens: number | null | undefined, cacheWriteTokens: number | null | undefined): Usage {
  if (cacheReadTokens) usage.cacheReadTokens = cacheReadTokens;
  if (cacheWriteTokens) usage.cacheWriteTokens = cacheWriteTokens;
  return usage;
}

/**
 * A request's cost: cache reads and writes at their own prices (Anthropic reads at a tenth of
 * the input price and writes at 1.25×; OpenAI's cached input is a half or a quarter), the rest of
 * the prompt at the input price, the completion at the output price.
 */
export function costNanos(usage: Usage, prices: Prices): number {
  const cacheRead = Math.min(usage.cacheReadTokens ?? 0, usage.promptTokens);
  const cacheWrite = Math.min(usage.cacheWriteTokens ?? 0, usage.promptTokens - cacheRead);
  const uncached = usage.promptTokens - cacheRead - cacheWrite;
  return Math.round(
    uncached * prices.inputCostPerToken * nanosPerDollar +
      cacheRead * (prices.cacheReadCostPerToken ?? prices.inputCostPerToken) * nanosPerDollar +
      cacheWrite * (prices.cacheWriteCostPerToken ?? prices.inputCostPerToken) * nanosPerDollar +
      usage.completionTokens * prices.outputCostPerToken * nanosPerDollar,
  );
}

/**
 * The most `promptTokens` and `completionTokens` can cost: every prompt token at the dearer of
 * the input and cache-write prices, since a budget reserves this before the answer says which
 * tokens the cache took.
 */
export function worstCaseNanos(promptTokens: number, completionTokens: number, prices: Prices): number {
  const writeIsDearer = (prices.cacheWriteCostPerToken ?? 0) > prices.inputCostPerToken;
  return costNanos({ promptTokens, completionTokens, cacheWriteTokens: writeIsDearer ? promptTokens : 0 }, prices);
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
