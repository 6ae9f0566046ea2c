import { z } from "zod";
import {
  budgetExceeded,
  noAdmission,
  rateLimited,
  recordSpend,
  release,
  type Admission,
  type AdmissionRequest,
  type Admitter,
  type LocalAdmitter,
  type Settlement,
  type SharingState,
} from "../admission";
import { budgetResetAt } from "../budget";
import type { Directory } from "../directory";
import { GatewayError } from "../errors";
import { pushLimitHeaders, type LimitKind, type LimitSubject, type RateLimiter } from "../limits";
import type { Logger } from "../log";
import type { SpendAccount } from "../spend";
import type { RedisConnection } from "./connection";

// An instance that stops refreshing its liveness key for this long is taken for gone, and its
// in-flight reservations and parallel slots stop counting.
const liveTtlMs = 15_000;
const heartbeatMs = 5_000;
// How often work left over from an outage or a failed settlement is retried.
const reconcileEveryMs = 1_000;

const integer = z.coerce.number();
const admitReply = z.tuple([
  z.enum(["ok", "budget", "requests", "tokens", "max_parallel_requests"]),
  integer,
  integer,
  integer,
  z.array(z.tuple([integer, integer, integer, integer])),
  z.array(z.tuple([integer, integer, integer])),
]);
const settleReply = z.array(z.tuple([integer, integer]));

export interface SharedCounterOptions {
  connection: RedisConnection;
  local: LocalAdmitter;
  limiter: RateLimiter;
  directory: Directory;
  log: Logger;
  prefix: string;
  instanceId: string;
  windowMs: number;
}

const hasLimit = (subject: LimitSubject) =>
  subject.rpmLimit !== null || subject.tpmLimit !== null || subject.maxParallelRequests !== null;

/**
 * Admission and settlement against counters in Redis that every instance shares: one script
 * call admits a request (budget checks, reservations and rate limits together), one settles it.
 * While Redis is unreachable, requests are admitted by the in-memory `LocalAdmitter` (limits per
 * instance); what was recorded meanwhile is added to Redis when it returns.
 */
export class RedisAdmitter implements Admitter {
  /** Reservations this instance holds in Redis, by account key: written back absolutely on reconcile. */
  private readonly heldReservations = new Map<string, { account: SpendAccount; nanos: number }>();
  private readonly heldSlots = new Map<string, number>();
  /** Spend recorded here that Redis has not counted yet. */
  private readonly unshared = new Map<string, { account: SpendAccount; nanos: number }>();
  /** Unshared spend on its way to Redis, kept apart so a retry sends exactly the same batch. */
  private pendingBatch: { id: string; entries: Map<string, { account: SpendAccount; nanos: number }> } | null = null;
  /** Settlements whose reply was lost: retried under their id, which Redis applies at most once. */
  private failedSettles: { id: string; settlement: Settlement }[] = [];
  private sequence = 0;
  private needsReconcile = true;
  private reconciling: Promise<void> | null = null;
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(private readonly options: SharedCounterOptions) {
    const { connection, directory } = options;
    directory.periodsShared = () => connection.up;
    connection.onUp(() => {
      this.needsReconcile = true;
      void this.reconcile();
    });
    const heartbeat = setInterval(() => {
      if (connection.up) {
        connection.client.set(this.liveKey, "1", "PX", liveTtlMs).catch(() => undefined);
      }
    }, heartbeatMs);
    const retry = setInterval(() => {
      if (this.needsReconcile) void this.reconcile();
    }, reconcileEveryMs);
    heartbeat.unref();
    retry.unref();
    this.timers.push(heartbeat, retry);
  }

  get sharing(): SharingState {
    return this.options.connection.up ? "connected" : "unavailable";
  }

  private get liveKey(): string {
    return `${this.options.prefix}live:${this.options.instanceId}`;
  }

  private accountKey(account: SpendAccount): string {
    return `${this.options.prefix}acct:${account.kind}:${account.id}`;
  }

  private windowKey(subject: LimitSubject): string {
    return `${this.options.prefix}win:${subject.descriptor}:${subject.id}`;
  }

  admit(request: AdmissionRequest): Admission | Promise<Admission> {
    if (!this.options.connection.up) return this.options.local.admit(request);
    return this.admitShared(request).catch((err: unknown) => {
      if (err instanceof GatewayError) throw err;
      // The script may or may not have run: the reconcile writes this instance's holdings on
      // these accounts and windows back as they are here (none for this request).
      this.needsReconcile = true;
      for (const { account } of request.budgets) this.hold(this.heldReservations, this.accountKey(account), account, 0);
      for (const subject of request.subjects.filter(hasLimit)) this.holdSlots(this.windowKey(subject), 0);
      this.options.log.debug({ err }, "shared admission failed; admitted in memory");
      return this.options.local.admit(request);
    });
  }

  private async admitShared(request: AdmissionRequest): Promise<Admission> {
    const { worstCaseNanos, now } = request;
    // Accounts with neither a budget nor a period only have spend recorded, at settlement.
    const budgets = request.budgets.filter(({ account }) => account.maxBudgetNanos !== null || account.budgetDuration !== null);
    const subjects = request.subjects.filter(hasLimit);
    if (budgets.length === 0 && subjects.length === 0) return { reservations: [], subjects, headers: [], place: "shared" };
    const keys = [...budgets.map(({ account }) => this.accountKey(account)), ...subjects.map((s) => this.windowKey(s))];
    const args: (string | number)[] = [
      this.options.instanceId,
      `${this.options.prefix}live:`,
      liveTtlMs,
      this.options.windowMs,
      now.getTime(),
      budgets.length,
      subjects.length,
      worstCaseNanos,
    ];
    for (const { account } of budgets) {
      const next = account.budgetDuration ? budgetResetAt(account.budgetDuration, now) : null;
      args.push(
        account.maxBudgetNanos ?? -1,
        Math.round(account.spentNanos),
        account.budgetResetAt?.getTime() ?? 0,
        next?.getTime() ?? 0,
      );
    }
    for (const subject of subjects) {
      args.push(subject.rpmLimit ?? -1, subject.tpmLimit ?? -1, subject.maxParallelRequests ?? -1);
    }
    const raw = await this.options.connection.client.creditgateAdmit(keys.length, ...keys, ...args);
    const [outcome, index, resetAt, clock, accounts, windows] = admitReply.parse(raw);
    accounts.forEach(([spent, periodEnd, didReset], position) => {
      const account = budgets[position]?.account;
      if (account) this.adoptShared(account, spent, periodEnd, didReset === 1);
    });
    if (outcome === "budget") {
      const refused = budgets[index - 1];
      const spent = accounts[index - 1]?.[0] ?? 0;
      if (!refused || refused.account.maxBudgetNanos === null) throw new Error("budget refusal without a budget");
      throw budgetExceeded(refused.name, spent, refused.account.maxBudgetNanos);
    }
    if (outcome !== "ok") {
      const subject = subjects[index - 1];
      if (!subject) throw new Error("limit refusal without a subject");
      throw rateLimited({ subject, kind: outcome, limit: limitOf(subject, outcome), resetAt }, clock);
    }
    const reservations = budgets.flatMap(({ account }, position) => {
      const nanos = accounts[position]?.[3] ?? 0;
      if (account.maxBudgetNanos === null) return [];
      this.hold(this.heldReservations, this.accountKey(account), account, nanos);
      return [{ account, nanos }];
    });
    for (const subject of subjects) this.holdSlots(this.windowKey(subject), 1);
    return { reservations, subjects, headers: headersOf(subjects, windows), place: "shared" };
  }

  /** Takes the shared total as this instance's view, and follows a budget period Redis started. */
  private adoptShared(account: SpendAccount, spent: number, periodEnd: number, didReset: boolean): void {
    const resetAt = periodEnd > 0 ? new Date(periodEnd) : null;
    const localEnd = account.budgetResetAt?.getTime() ?? 0;
    if (didReset) {
      account.startPeriod(resetAt);
      this.options.directory.touched(account);
    } else if (localEnd > 0 && periodEnd > localEnd && Date.now() >= localEnd) {
      // Another instance started the period this one still counted in: its old spend is dropped.
      account.adoptPeriod(resetAt);
      this.options.directory.touched(account);
    }
    account.spentNanos = spent;
  }

  /**
   * Adds to what this instance holds (or has not shared). Entries back at zero are forgotten
   * unless a reconcile is due, which must write the zero to Redis.
   */
  private hold(map: Map<string, { account: SpendAccount; nanos: number }>, key: string, account: SpendAccount, nanos: number): void {
    const entry = map.get(key) ?? { account, nanos: 0 };
    entry.nanos += nanos;
    if (entry.nanos === 0 && !this.needsReconcile && map !== this.unshared) map.delete(key);
    else map.set(key, entry);
  }

  private holdSlots(key: string, slots: number): void {
    const held = (this.heldSlots.get(key) ?? 0) + slots;
    if (held === 0 && !this.needsReconcile) this.heldSlots.delete(key);
    else this.heldSlots.set(key, held);
  }

  settle(admission: Admission, settlement: Settlement): void {
    recordSpend(this.options.directory, settlement);
    if (admission.place === "local") {
      release(admission.reservations);
      this.options.limiter.finish(admission.subjects, settlement.tokens, Date.now());
      this.share(settlement);
      return;
    }
    for (const { account, nanos } of admission.reservations) this.hold(this.heldReservations, this.accountKey(account), account, -nanos);
    for (const subject of admission.subjects) this.holdSlots(this.windowKey(subject), -1);
    if (!this.options.connection.up) {
      this.share(settlement);
      return;
    }
    // Nothing held and nothing spent (a refused upstream call, a free model): nothing to tell Redis.
    if (admission.reservations.length === 0 && admission.subjects.length === 0 && settlement.costNanos <= 0) return;
    const id = this.nextId();
    this.settleShared(admission, settlement, id).catch((err: unknown) => {
      this.options.log.debug({ err }, "shared settlement failed; will retry");
      // The reservation and the slot are rewritten absolutely by the reconcile; only the spend is retried.
      if (settlement.costNanos > 0) this.failedSettles.push({ id, settlement });
      this.needsReconcile = true;
    });
  }

  private nextId(): string {
    this.sequence += 1;
    return `${this.options.instanceId}:${this.sequence}`;
  }

  private async settleShared(admission: Admission, settlement: Settlement, id: string): Promise<void> {
    const given = new Map<SpendAccount, number>();
    for (const { account, nanos } of admission.reservations) given.set(account, (given.get(account) ?? 0) + nanos);
    const accounts = [...new Set([...settlement.accounts, ...given.keys()])];
    const keys = [
      ...accounts.map((account) => this.accountKey(account)),
      ...admission.subjects.map((s) => this.windowKey(s)),
      `${this.options.prefix}done:${id}`,
    ];
    const args: (string | number)[] = [
      this.options.instanceId,
      `${this.options.prefix}live:`,
      liveTtlMs,
      this.options.windowMs,
      accounts.length,
      admission.subjects.length,
      settlement.tokens,
    ];
    const recorded = new Set(settlement.accounts);
    for (const account of accounts) {
      const cost = recorded.has(account) ? Math.max(0, settlement.costNanos) : 0;
      // The seed is this instance's view, which already includes this cost.
      args.push(given.get(account) ?? 0, cost, Math.round(account.spentNanos - cost), account.budgetResetAt?.getTime() ?? 0);
    }
    const raw = await this.options.connection.client.creditgateSettle(keys.length, ...keys, ...args);
    if (raw === 0) return; // applied before: the reply of the first attempt was lost
    settleReply.parse(raw).forEach(([spent, periodEnd], position) => {
      const account = accounts[position];
      if (account) this.adoptShared(account, spent, periodEnd, false);
    });
  }

  /** Remembers spend Redis has not counted, for the next reconcile. */
  private share(settlement: Settlement): void {
    if (settlement.costNanos <= 0) return;
    for (const account of settlement.accounts) this.hold(this.unshared, this.accountKey(account), account, settlement.costNanos);
    this.needsReconcile = true;
  }

  /**
   * Brings Redis up to date with this instance: adds unshared spend and writes the reservations
   * and parallel slots it holds as absolute values. Runs when Redis (re)connects and whenever a
   * shared call failed.
   */
  reconcile(): Promise<void> {
    if (this.reconciling) return this.reconciling;
    if (!this.options.connection.up) return Promise.resolve();
    this.needsReconcile = false;
    this.reconciling = this.reconcileOnce()
      .catch((err: unknown) => {
        this.needsReconcile = true;
        this.options.log.debug({ err }, "reconcile with Redis failed; will retry");
      })
      .finally(() => {
        this.reconciling = null;
      });
    return this.reconciling;
  }

  private async reconcileOnce(): Promise<void> {
    while (this.failedSettles.length > 0) {
      const failed = this.failedSettles[0];
      if (!failed) break;
      await this.settleShared(noAdmission, failed.settlement, failed.id);
      this.failedSettles.shift();
    }
    if (!this.pendingBatch && this.unshared.size > 0) {
      this.pendingBatch = { id: this.nextId(), entries: new Map(this.unshared) };
      this.unshared.clear();
    }
    const batch = this.pendingBatch;
    const unshared = batch?.entries ?? new Map<string, { account: SpendAccount; nanos: number }>();
    const accounts = new Map<string, SpendAccount>();
    for (const [key, { account }] of [...unshared, ...this.heldReservations]) accounts.set(key, account);
    const windows = [...this.heldSlots.keys()];
    const args: (string | number)[] = [this.options.instanceId, `${this.options.prefix}live:`, liveTtlMs, accounts.size, windows.length];
    for (const [key, account] of accounts) {
      args.push(
        Math.round(unshared.get(key)?.nanos ?? 0),
        Math.max(0, Math.round(this.heldReservations.get(key)?.nanos ?? 0)),
        Math.round(account.spentNanos),
        account.budgetResetAt?.getTime() ?? 0,
      );
    }
    for (const key of windows) args.push(Math.max(0, this.heldSlots.get(key) ?? 0));
    const guard = `${this.options.prefix}done:${batch?.id ?? "none"}`;
    await this.options.connection.client.creditgateReconcile(accounts.size + windows.length + 1, ...accounts.keys(), ...windows, guard, ...args);
    this.pendingBatch = null;
    for (const [key, entry] of this.heldReservations) if (entry.nanos <= 0) this.heldReservations.delete(key);
    for (const [key, slots] of this.heldSlots) if (slots <= 0) this.heldSlots.delete(key);
  }

  /** An admin's absolute spend, made the shared total at once. */
  setSpend(account: SpendAccount): void {
    if (!this.options.connection.up) return;
    this.options.connection.client
      .creditgateSetSpend(1, this.accountKey(account), Math.round(account.spentNanos), account.budgetResetAt?.getTime() ?? 0)
      .catch((err: unknown) => this.options.log.debug({ err }, "shared spend not set"));
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    if (this.needsReconcile || this.unshared.size > 0 || this.pendingBatch) await this.reconcile();
    if (this.options.connection.up) await this.options.connection.client.del(this.liveKey).catch(() => undefined);
  }
}

function limitOf(subject: LimitSubject, kind: LimitKind): number {
  if (kind === "requests") return subject.rpmLimit ?? 0;
  if (kind === "tokens") return subject.tpmLimit ?? 0;
  return subject.maxParallelRequests ?? 0;
}

function headersOf(subjects: readonly LimitSubject[], windows: readonly [number, number, number][]): string[] {
  const headers: string[] = [];
  subjects.forEach((subject, index) => {
    const [, requests, tokens] = windows[index] ?? [0, 0, 0];
    pushLimitHeaders(headers, subject, requests, tokens);
  });
  return headers;
}
