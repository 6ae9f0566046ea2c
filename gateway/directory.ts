import type { Sql } from "../lib/db/client";
import type { Logger } from "./log";
import type { KeyRow, MemberRow, TeamRow, UserRow } from "./rows";
import { decimalToNanos, memberId, SpendAccount, type SpendKind, type SpendWrite } from "./spend";
import * as store from "./store";

/** A key with the user and team it draws on, as the request path sees them. */
export interface KeyContext {
  key: KeyRow;
  keyAccount: SpendAccount;
  user: UserRow | undefined;
  userAccount: SpendAccount | undefined;
  team: TeamRow | undefined;
  teamAccount: SpendAccount | undefined;
  /** The key's user's membership in the key's team, with its `max_budget_in_team`. */
  member: MemberRow | undefined;
  memberAccount: SpendAccount | undefined;
}

// How long "no such key" is remembered, so a client retrying a wrong key does not make every
// request a database query; creating a key forgets the answer at once.
const unknownKeyTtlMs = 5_000;
const unknownKeyLimit = 10_000;

/** What an admin write changed, for other instances to forget their copy. */
export type DirectoryChange =
  | { kind: "key"; id: string }
  | { kind: "user"; id: string }
  | { kind: "team"; id: string }
  | { kind: "member"; id: string };

export interface DirectoryListener {
  changed(change: DirectoryChange): void;
  /** An admin set an account's spend to an absolute amount. */
  spendSet(account: SpendAccount): void;
}

/**
 * The in-memory view of keys, users and teams that the request path reads, and the spend
 * accounts it writes. Rows are loaded from Postgres on first use and then kept; admin writes
 * (all of which go through this process) replace them, so steady-state requests never wait for
 * the database. Spend reaches Postgres in batches (`flush`).
 */
export class Directory {
  private readonly keys = new Map<string, KeyRow>();
  private readonly users = new Map<string, UserRow | null>();
  private readonly teams = new Map<string, TeamRow | null>();
  private readonly members = new Map<string, MemberRow | null>();
  private readonly unknownKeys = new Map<string, number>();
  private readonly loading = new Map<string, Promise<KeyContext | undefined>>();
  // The context each cached key last resolved to, until any row or account changes.
  private readonly contexts = new Map<string, KeyContext>();
  private readonly accounts = new Map<string, SpendAccount>();
  private readonly dirty = new Set<SpendAccount>();
  private flushing: Promise<void> = Promise.resolve();
  // Accounts whose spend a flush is writing now: still unwritten until Postgres answers.
  private writingAccounts = 0;
  private listener: DirectoryListener | undefined;
  /**
   * True while budget periods are reset by a shared store (Redis) rather than by this process,
   * so two instances never both start a new period.
   */
  periodsShared: () => boolean = () => false;

  constructor(
    private readonly sql: Sql,
    private readonly log: Logger,
  ) {}

  /** The key's context if everything it needs is cached; undefined means "ask `loadKey`". */
  cachedKey(token: string): KeyContext | null | undefined {
    const resolved = this.contexts.get(token);
    if (resolved) return resolved;
    const key = this.keys.get(token);
    if (!key) {
      const unknownUntil = this.unknownKeys.get(token);
      if (unknownUntil !== undefined && unknownUntil > Date.now()) return null;
      return undefined;
    }
    const user = key.user_id === null ? undefined : this.users.get(key.user_id);
    const team = key.team_id === null ? undefined : this.teams.get(key.team_id);
    if (user === undefined && key.user_id !== null) return undefined;
    if (team === undefined && key.team_id !== null) return undefined;
    const memberName = key.team_id !== null && key.user_id !== null ? memberId(key.team_id, key.user_id) : null;
    const member = memberName === null ? undefined : this.members.get(memberName);
    if (member === undefined && memberName !== null) return undefined;
    const context = this.context(key, user ?? undefined, team ?? undefined, member ?? undefined);
    this.contexts.set(token, context);
    return context;
  }

  async loadKey(token: string): Promise<KeyContext | undefined> {
    const cached = this.cachedKey(token);
    if (cached !== undefined) return cached ?? undefined;
    let pending = this.loading.get(token);
    if (!pending) {
      pending = this.fetchKey(token).finally(() => this.loading.delete(token));
      this.loading.set(token, pending);
    }
    return pending;
  }

  private async fetchKey(token: string): Promise<KeyContext | undefined> {
    const key = await store.findKey(this.sql, token);
    if (!key) {
      if (this.unknownKeys.size >= unknownKeyLimit) this.unknownKeys.clear();
      this.unknownKeys.set(token, Date.now() + unknownKeyTtlMs);
      return undefined;
    }
    this.cacheKey(key);
    const user = key.user_id === null ? undefined : await this.loadUser(key.user_id);
    const team = key.team_id === null ? undefined : await this.loadTeam(key.team_id);
    const member = key.team_id !== null && key.user_id !== null ? await this.loadMember(key.team_id, key.user_id) : undefined;
    return this.context(key, user, team, member);
  }

  private context(key: KeyRow, user: UserRow | undefined, team: TeamRow | undefined, member: MemberRow | undefined): KeyContext {
    return {
      member,
      memberAccount: member ? this.account("member", memberId(member.team_id, member.user_id), memberBudget(member)) : undefined,
      key,
      keyAccount: this.account("key", key.token, key),
      user,
      userAccount: user ? this.account("user", user.user_id, user) : undefined,
      team,
      teamAccount: team ? this.account("team", team.team_id, team) : undefined,
    };
  }

  async loadUser(userId: string): Promise<UserRow | undefined> {
    const cached = this.users.get(userId);
    if (cached !== undefined) return cached ?? undefined;
    const row = await store.findUser(this.sql, userId);
    this.cacheUser(userId, row);
    return row;
  }

  async loadTeam(teamId: string): Promise<TeamRow | undefined> {
    const cached = this.teams.get(teamId);
    if (cached !== undefined) return cached ?? undefined;
    const row = await store.findTeam(this.sql, teamId);
    this.cacheTeam(teamId, row);
    return row;
  }

  async loadMember(teamId: string, userId: string): Promise<MemberRow | undefined> {
    const name = memberId(teamId, userId);
    const cached = this.members.get(name);
    if (cached !== undefined) return cached ?? undefined;
    const row = await store.findMember(this.sql, teamId, userId);
    this.cacheMember(teamId, userId, row);
    return row;
  }

  /** Hears of admin writes (the `put*`/`forget*` calls), to tell other instances. */
  listen(listener: DirectoryListener): void {
    this.listener = listener;
  }

  putMember(teamId: string, userId: string, member: MemberRow | undefined): void {
    this.cacheMember(teamId, userId, member);
    this.listener?.changed({ kind: "member", id: memberId(teamId, userId) });
  }

  private cacheMember(teamId: string, userId: string, member: MemberRow | undefined): void {
    const name = memberId(teamId, userId);
    this.contexts.clear();
    this.members.set(name, member ?? null);
    if (member) this.syncAccount("member", name, memberBudget(member));
    else this.dropAccount("member", name);
  }

  /** Caches a key row written by an admin route, keeping the in-memory spend authoritative. */
  putKey(key: KeyRow): void {
    this.cacheKey(key);
    this.listener?.changed({ kind: "key", id: key.token });
  }

  private cacheKey(key: KeyRow): void {
    this.contexts.clear();
    this.keys.set(key.token, key);
    this.unknownKeys.delete(key.token);
    this.syncAccount("key", key.token, key);
  }

  putUser(userId: string, user: UserRow | undefined): void {
    this.cacheUser(userId, user);
    this.listener?.changed({ kind: "user", id: userId });
  }

  private cacheUser(userId: string, user: UserRow | undefined): void {
    this.contexts.clear();
    this.users.set(userId, user ?? null);
    if (user) this.syncAccount("user", userId, user);
  }

  putTeam(teamId: string, team: TeamRow | undefined): void {
    this.cacheTeam(teamId, team);
    this.listener?.changed({ kind: "team", id: teamId });
  }

  private cacheTeam(teamId: string, team: TeamRow | undefined): void {
    this.contexts.clear();
    this.teams.set(teamId, team ?? null);
    if (team) this.syncAccount("team", teamId, team);
  }

  forgetKey(token: string): void {
    this.contexts.clear();
    this.keys.delete(token);
    this.dropAccount("key", token);
    this.listener?.changed({ kind: "key", id: token });
  }

  forgetUser(userId: string): void {
    this.contexts.clear();
    this.users.delete(userId);
    this.dropAccount("user", userId);
    this.listener?.changed({ kind: "user", id: userId });
  }

  /**
   * Another instance changed this row: drop the cached copy so the next request reads it from
   * Postgres. Spend accounts stay, since they hold spend not yet flushed.
   */
  evict(change: DirectoryChange): void {
    this.contexts.clear();
    if (change.kind === "key") {
      this.keys.delete(change.id);
      this.unknownKeys.delete(change.id);
    } else if (change.kind === "user") this.users.delete(change.id);
    else if (change.kind === "team") this.teams.delete(change.id);
    else this.members.delete(change.id);
  }

  /** Forgets every cached row, after missing other instances' changes (Redis was away). */
  evictAll(): void {
    this.contexts.clear();
    this.keys.clear();
    this.unknownKeys.clear();
    this.users.clear();
    this.teams.clear();
    this.members.clear();
  }

  /** An admin's explicit spend for an account, written to Postgres as an absolute value. */
  setSpend(account: SpendAccount, nanos: number): void {
    account.setSpend(nanos);
    this.touched(account);
    this.listener?.spendSet(account);
  }

  /** Starts a new budget period if due, unless a shared store decides that (`periodsShared`). */
  resetIfDue(account: SpendAccount, now: Date): void {
    if (this.periodsShared()) return;
    if (account.resetIfDue(now)) this.touched(account);
  }

  /** The spend account of an entity, created from its row's stored spend on first sight. */
  account(kind: SpendKind, id: string, row: BudgetColumns): SpendAccount {
    const name = `${kind}:${id}`;
    let account = this.accounts.get(name);
    if (!account) {
      account = new SpendAccount(kind, id, decimalToNanos(row.spend));
      account.setBudget(row.max_budget, row.budget_duration, row.budget_reset_at);
      this.accounts.set(name, account);
    }
    return account;
  }

  private syncAccount(kind: SpendKind, id: string, row: BudgetColumns): void {
    const account = this.account(kind, id, row);
    // A row read back after an admin write may carry a reset time this process has already
    // passed (the reset is flushed later); the later of the two is the current period.
    const keepOwnReset =
      account.budgetDuration === row.budget_duration &&
      account.budgetResetAt !== null &&
      (row.budget_reset_at === null || row.budget_reset_at.getTime() < account.budgetResetAt.getTime());
    account.setBudget(row.max_budget, row.budget_duration, keepOwnReset ? account.budgetResetAt : row.budget_reset_at);
  }

  private dropAccount(kind: SpendKind, id: string): void {
    const name = `${kind}:${id}`;
    const account = this.accounts.get(name);
    if (account) this.dirty.delete(account);
    this.accounts.delete(name);
    this.contexts.clear();
  }

  existingAccount(kind: SpendKind, id: string): SpendAccount | undefined {
    return this.accounts.get(`${kind}:${id}`);
  }

  unflushedAccounts(): number {
    return this.dirty.size + this.writingAccounts;
  }

  /** Marks an account as having spend Postgres does not know yet. */
  touched(account: SpendAccount): void {
    if (account.dirty) this.dirty.add(account);
  }

  /** Starts a new budget period on every account whose reset time has passed. */
  resetDueBudgets(now: Date): void {
    if (this.periodsShared()) return;
    for (const account of this.accounts.values()) {
      if (account.resetIfDue(now)) this.dirty.add(account);
    }
  }

  /**
   * Writes the spend Postgres has not seen. Flushes run one at a time; a failed one puts its
   * changes back so the next one retries them, and nothing recorded in memory is lost.
   */
  flushSpend(): Promise<void> {
    const run = this.flushing.then(async () => {
      if (this.dirty.size === 0) return;
      const taken = [...this.dirty].map((account) => ({ account, write: account.takeFlush() }));
      this.dirty.clear();
      const writes: SpendWrite[] = taken.map((entry) => entry.write);
      this.writingAccounts = writes.length;
      try {
        await store.applySpendWrites(this.sql, writes);
      } catch (err) {
        for (const { account, write } of taken) {
          account.restoreFlush(write);
          this.dirty.add(account);
        }
        this.log.error({ err, accounts: writes.length }, "spend flush failed; will retry");
      } finally {
        this.writingAccounts = 0;
      }
    });
    this.flushing = run.catch(() => undefined);
    return run;
  }
}

/** A membership's budget in the shape of the other budget-bearing rows (no reset period). */
function memberBudget(member: MemberRow): BudgetColumns {
  return { spend: member.spend, max_budget: member.max_budget_in_team, budget_duration: null, budget_reset_at: null };
}

interface BudgetColumns {
  spend: number;
  max_budget: number | null;
  budget_duration: string | null;
  budget_reset_at: Date | null;
}
