import { GatewayError, type GatewayKey, type GatewayUser, type KeyLimits, type LiteLLMClient, type UserFields } from "../lib/litellm/client";
import { reasonOf } from "./gateway";
import { tierTeamPrefix, type Tier } from "./tiers";

/**
 * Onboarding one person into a tier, as absolute desired state: their gateway user (id = email,
 * the tier's budget and models), membership of the tier's team and of no other tier team, and
 * one key of theirs (alias `onboard-<email>`) carrying the tier's budget, rate limit and models.
 * The current state is read first and only differences are written, so a second run of the same
 * input changes nothing and says so.
 */

export interface OnboardRequest {
  email: string;
  tier: Tier;
  /** The person's display name; undefined leaves the gateway's as it is. */
  alias: string | undefined;
}

export type OnboardStatus = "created" | "updated" | "unchanged" | "would-create" | "would-update" | "failed";

export interface OnboardResult {
  email: string;
  tier: string;
  status: OnboardStatus;
  /** What changed, or why the row failed. */
  detail: string;
  userId: string | null;
  /** The key's secret: only when this run created the key, and shown only this once. */
  key: string | null;
}

export const onboardKeyAlias = (email: string) => `onboard-${email}`;

function userFieldsOf(request: OnboardRequest, existing: GatewayUser | null): UserFields {
  return {
    email: request.email,
    ...(request.alias === undefined ? {} : { alias: request.alias }),
    maxBudgetCents: request.tier.maxBudgetCents,
    budgetDuration: request.tier.budgetDuration,
    models: request.tier.models,
    metadata: { ...(existing?.metadata ?? {}), tier: request.tier.slug },
  };
}

function keyLimitsOf(request: OnboardRequest): KeyLimits {
  const { tier } = request;
  return {
    alias: onboardKeyAlias(request.email),
    teamId: tier.teamId,
    maxBudgetCents: tier.maxBudgetCents,
    budgetDuration: tier.budgetDuration,
    rpmLimit: tier.rpmLimit,
    tpmLimit: tier.tpmLimit,
    models: tier.models,
  };
}

const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((item) => b.includes(item));

function userChanges(request: OnboardRequest, user: GatewayUser): string[] {
  const changes: string[] = [];
  if (user.email !== request.email) changes.push("email");
  if (request.alias !== undefined && user.alias !== request.alias) changes.push("alias");
  if (user.maxBudgetCents !== request.tier.maxBudgetCents) changes.push("budget");
  if (user.budgetDuration !== request.tier.budgetDuration) changes.push("budget period");
  if (!sameSet(user.models, request.tier.models)) changes.push("models");
  if (user.metadata.tier !== request.tier.slug) changes.push("tier");
  return changes;
}

function keyChanges(request: OnboardRequest, key: GatewayKey): string[] {
  const { tier } = request;
  const changes: string[] = [];
  if (key.teamId !== tier.teamId) changes.push("key team");
  if (key.maxBudgetCents !== tier.maxBudgetCents) changes.push("key budget");
  if (key.budgetDuration !== tier.budgetDuration) changes.push("key budget period");
  if (key.rpmLimit !== tier.rpmLimit) changes.push("key rpm");
  if (key.tpmLimit !== tier.tpmLimit) changes.push("key tpm");
  if (!sameSet(key.models, tier.models)) changes.push("key models");
  return changes;
}

/** Finds an existing user with this email whose id is not the email (made before onboarding). */
async function userIdByEmail(client: LiteLLMClient, email: string): Promise<string | null> {
  for (let page = 1; ; page++) {
    const { users, totalPages } = await client.listUsers({ page, pageSize: 100, userEmail: email });
    const match = users.find((user) => user.email?.toLowerCase() === email);
    if (match) return match.userId;
    if (page >= totalPages) return null;
  }
}

export async function onboardUser(client: LiteLLMClient, request: OnboardRequest, options: { dryRun: boolean }): Promise<OnboardResult> {
  const base = { email: request.email, tier: request.tier.slug };
  try {
    let userId = request.email;
    let details = await client.userDetails(userId);
    if (!details) {
      const otherId = await userIdByEmail(client, request.email);
      if (otherId !== null) {
        userId = otherId;
        details = await client.userDetails(otherId);
      }
    }
    if (!details) {
      if (options.dryRun) return { ...base, status: "would-create", detail: "new user, team membership and key", userId, key: null };
      await client.newUser({ userId, ...userFieldsOf(request, null), teamIds: [request.tier.teamId], autoCreateKey: false });
      const created = await client.createKey({ userId, ...keyLimitsOf(request) });
      return { ...base, status: "created", detail: "new user, team membership and key", userId, key: created.key };
    }

    const { user, keys } = details;
    const otherTierTeams = user.teamIds.filter((id) => id.startsWith(tierTeamPrefix) && id !== request.tier.teamId);
    const joinTeam = !user.teamIds.includes(request.tier.teamId);
    const key = keys.find((candidate) => candidate.alias === onboardKeyAlias(request.email)) ?? null;
    const changes = [
      ...userChanges(request, user),
      ...(joinTeam || otherTierTeams.length > 0 ? ["team"] : []),
      ...(key ? keyChanges(request, key) : ["new key"]),
    ];
    if (changes.length === 0) return { ...base, status: "unchanged", detail: "", userId, key: null };
    if (options.dryRun) return { ...base, status: "would-update", detail: changes.join(", "), userId, key: null };

    if (userChanges(request, user).length > 0) await client.updateUser(userId, userFieldsOf(request, user));
    for (const teamId of otherTierTeams) await client.removeTeamMember(teamId, userId);
    if (joinTeam) await addMember(client, request.tier.teamId, userId);
    let secret: string | null = null;
    if (!key) secret = (await client.createKey({ userId, ...keyLimitsOf(request) })).key;
    else if (keyChanges(request, key).length > 0) {
      if (!key.token) throw new Error(`the gateway did not show the token of key ${key.alias ?? ""}, so it cannot be updated`);
      await client.updateKey(key.token, keyLimitsOf(request));
    }
    return { ...base, status: "updated", detail: changes.join(", "), userId, key: secret };
  } catch (err) {
    return { ...base, status: "failed", detail: reasonOf(err), userId: null, key: null };
  }
}

/** Adding a member who is already in the team (a concurrent run) is not a failure. */
async function addMember(client: LiteLLMClient, teamId: string, userId: string): Promise<void> {
  try {
    await client.addTeamMember(teamId, userId);
  } catch (err) {
    if (err instanceof GatewayError && err.status === 400 && /already a member/i.test(err.message)) return;
    throw err;
  }
}

/** Runs `work` over `items` with at most `concurrency` at a time, keeping results in input order. */
export async function mapConcurrently<T, R>(
  items: readonly T[],
  concurrency: number,
  work: (item: T, index: number) => Promise<R>,
  onDone?: (done: number) => void,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let done = 0;
  async function worker(): Promise<void> {
    for (;;) {
      const index = next++;
      if (index >= items.length) return;
      results[index] = await work(items[index] as T, index);
      onDone?.(++done);
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
