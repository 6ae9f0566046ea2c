import type { Directory } from "./directory";
import { GatewayError } from "./errors";
import { isRefusal, type LimitRefusal, type LimitSubject, type RateLimiter } from "./limits";
import { nanosToDollars, type SpendAccount } from "./spend";

/**
 * Admission and settlement of one LLM request: the budget checks with their worst-case
 * reservations and the rpm/tpm/parallel limits, then the real cost and tokens once it is done.
 * Behind this interface because the counters live either in this process (`LocalAdmitter`) or
 * in Redis, shared by every gateway instance (`redis/admitter.ts`).
 */

export interface BudgetCheck {
  account: SpendAccount;
  /** How a refusal names it: `Key=…`, `Team=…`, `User=…`, `Proxy=global`. */
  name: string;
}

export interface AdmissionRequest {
  /** Checked in this order; accounts without a max budget are only recorded on. */
  budgets: readonly BudgetCheck[];
  worstCaseNanos: number;
  subjects: readonly LimitSubject[];
  now: Date;
}

export interface Reservation {
  account: SpendAccount;
  nanos: number;
}

export interface Admission {
  reservations: Reservation[];
  subjects: readonly LimitSubject[];
  /** `x-ratelimit-*` headers for the answer, as name, value, name, value… */
  headers: readonly string[];
  /** Where the reservations and the parallel slots were taken, so settlement gives them back there. */
  place: "local" | "shared";
}

export interface Settlement {
  costNanos: number;
  tokens: number;
  /** Every account the cost is recorded on (proxy, key, user, team, membership). */
  accounts: SpendAccount[];
}

export type SharingState = "off" | "connected" | "unavailable";

export interface Admitter {
  /** Throws a 402 `budget_exceeded` or a 429 `rate_limit_error` GatewayError when refused. */
  admit(request: AdmissionRequest): Admission | Promise<Admission>;
  /** Gives back the reservations and the parallel slot, and records cost and tokens. */
  settle(admission: Admission, settlement: Settlement): void;
  /** Whether counters are shared with other instances right now. */
  readonly sharing: SharingState;
  close(): Promise<void>;
}

export const noAdmission: Admission = { reservations: [], subjects: [], headers: [], place: "local" };

export function budgetExceeded(name: string, spentNanos: number, maxNanos: number): GatewayError {
  return new GatewayError(
    402,
    "budget_exceeded",
    `Budget has been exceeded! ${name} Current cost: ${nanosToDollars(spentNanos)}, Max budget: ${nanosToDollars(maxNanos)}`,
  );
}

function utcStamp(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

export function rateLimited(refusal: LimitRefusal, now: number): GatewayError {
  const { subject, kind, limit, resetAt } = refusal;
  const retryAfter = Math.max(1, Math.ceil((resetAt - now) / 1000));
  const headers = {
    "retry-after": String(retryAfter),
    rate_limit_type: kind,
    reset_at: utcStamp(resetAt),
    [`x-ratelimit-${subject.descriptor}-limit-${kind}`]: String(limit),
    [`x-ratelimit-${subject.descriptor}-remaining-${kind}`]: "0",
    [`x-ratelimit-reset-${kind}`]: `${retryAfter}s`,
  };
  return new GatewayError(
    429,
    "rate_limit_error",
    `Rate limit exceeded for ${subject.descriptor}: ${subject.id}. Limit type: ${kind}. Current limit: ${limit}, Remaining: 0. Limit resets at: ${utcStamp(resetAt)}`,
    null,
    headers,
  );
}

/**
 * Counters in this process: what one instance alone, or an instance that cannot reach Redis,
 * enforces. Admission is synchronous, so no other request interleaves between check and reserve.
 */
export class LocalAdmitter implements Admitter {
  readonly sharing: SharingState = "off";

  constructor(
    private readonly directory: Directory,
    private readonly limiter: RateLimiter,
  ) {}

  admit(request: AdmissionRequest): Admission {
    const reservations = this.reserveBudgets(request);
    const result = this.limiter.admit(request.subjects, request.now.getTime());
    if (isRefusal(result)) {
      release(reservations);
      throw rateLimited(result, request.now.getTime());
    }
    return { reservations, subjects: request.subjects, headers: result.headers, place: "local" };
  }

  private reserveBudgets({ budgets, worstCaseNanos, now }: AdmissionRequest): Reservation[] {
    for (const { account, name } of budgets) {
      this.directory.resetIfDue(account, now);
      const max = account.maxBudgetNanos;
      if (max === null) continue;
      if (!fits(account.spentNanos, account.reservedNanos, worstCaseNanos, max)) throw budgetExceeded(name, account.spentNanos, max);
    }
    const reservations: Reservation[] = [];
    for (const { account } of budgets) {
      const max = account.maxBudgetNanos;
      if (max === null) continue;
      const nanos = Math.min(worstCaseNanos, max - account.spentNanos - account.reservedNanos);
      account.reservedNanos += nanos;
      reservations.push({ account, nanos });
    }
    return reservations;
  }

  settle(admission: Admission, settlement: Settlement): void {
    release(admission.reservations);
    this.limiter.finish(admission.subjects, settlement.tokens, Date.now());
    recordSpend(this.directory, settlement);
  }

  async close(): Promise<void> {}
}

/**
 * Whether a request may start on a budget: its worst case fits in what is neither spent nor
 * reserved, or nothing else is in flight and something is left. That last request reserves only
 * what is left, so it may cost more than its reservation; allowing it only alone keeps spend
 * within the budget plus one request's cost. (Admitting a partly reserved request whenever a
 * settlement freed a little room would let many overspend at once.)
 */
function fits(spentNanos: number, reservedNanos: number, worstCaseNanos: number, maxNanos: number): boolean {
  const left = maxNanos - spentNanos - reservedNanos;
  if (left <= 0) return false;
  return worstCaseNanos <= left || reservedNanos <= 0;
}

export function release(reservations: readonly Reservation[]): void {
  for (const { account, nanos } of reservations) account.reservedNanos -= nanos;
}

/** Adds the cost to each account and marks it for the next flush to Postgres. */
export function recordSpend(directory: Directory, { costNanos, accounts }: Settlement): void {
  if (costNanos <= 0) return;
  for (const account of accounts) {
    account.record(costNanos);
    directory.touched(account);
  }
}
