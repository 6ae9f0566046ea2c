import type { Gateway } from "./context";
import type { KeyRow, MemberRow, SpendLogRow, TeamRow, UserRow } from "./rows";
import { memberId, nanosToDollars, type SpendAccount } from "./spend";

/**
 * Rows as LiteLLM's admin API shows them. Spend and reset time come from the in-memory
 * account, which is ahead of the stored row until the next flush.
 */

const iso = (date: Date | null) => (date ? date.toISOString() : null);

function current(gateway: Gateway, account: SpendAccount): { spend: number; budget_reset_at: string | null } {
  gateway.directory.resetIfDue(account, new Date());
  return { spend: nanosToDollars(account.spentNanos), budget_reset_at: iso(account.budgetResetAt) };
}

export function keyView(gateway: Gateway, key: KeyRow, options: { withToken: boolean } = { withToken: false }) {
  const { spend, budget_reset_at } = current(gateway, gateway.directory.account("key", key.token, key));
  return {
    ...(options.withToken ? { token: key.token } : {}),
    key_name: key.key_name,
    key_alias: key.key_alias,
    spend,
    max_budget: key.max_budget,
    expires: iso(key.expires),
    models: key.models,
    aliases: key.aliases,
    config: {},
    user_id: key.user_id,
    team_id: key.team_id,
    permissions: {},
    max_parallel_requests: key.max_parallel_requests,
    metadata: key.metadata,
    blocked: key.blocked,
    tpm_limit: key.tpm_limit,
    rpm_limit: key.rpm_limit,
    budget_duration: key.budget_duration,
    budget_reset_at,
    allowed_cache_controls: [],
    allowed_routes: [],
    model_spend: {},
    model_max_budget: {},
    soft_budget_cooldown: false,
    budget_id: null,
    organization_id: null,
    created_at: iso(key.created_at),
    created_by: key.created_by,
    updated_at: iso(key.updated_at),
    updated_by: key.updated_by,
    litellm_budget_table: null,
  };
}

export function userView(gateway: Gateway, user: UserRow, teams: string[]) {
  const { spend, budget_reset_at } = current(gateway, gateway.directory.account("user", user.user_id, user));
  return {
    user_id: user.user_id,
    user_email: user.user_email,
    user_alias: user.user_alias,
    user_role: user.user_role,
    max_budget: user.max_budget,
    spend,
    budget_duration: user.budget_duration,
    budget_reset_at,
    models: user.models,
    tpm_limit: user.tpm_limit,
    rpm_limit: user.rpm_limit,
    max_parallel_requests: user.max_parallel_requests,
    teams,
    metadata: user.metadata,
    model_max_budget: {},
    model_spend: {},
    organization_memberships: [],
    sso_user_id: null,
    created_at: iso(user.created_at),
    updated_at: iso(user.updated_at),
  };
}

export function teamView(gateway: Gateway, team: TeamRow, members: MemberRow[]) {
  const { spend, budget_reset_at } = current(gateway, gateway.directory.account("team", team.team_id, team));
  const own = members.filter((member) => member.team_id === team.team_id);
  return {
    team_id: team.team_id,
    team_alias: team.team_alias,
    admins: own.filter((member) => member.role === "admin").map((member) => member.user_id),
    members: own.map((member) => member.user_id),
    members_with_roles: own.map((member) => ({
      role: member.role,
      user_id: member.user_id,
      user_email: member.user_email ?? null,
    })),
    metadata: team.metadata,
    tpm_limit: team.tpm_limit,
    rpm_limit: team.rpm_limit,
    max_budget: team.max_budget,
    budget_duration: team.budget_duration,
    budget_reset_at,
    models: team.models,
    spend,
    max_parallel_requests: team.max_parallel_requests,
    blocked: team.blocked,
    organization_id: null,
    model_id: null,
    created_at: iso(team.created_at),
    updated_at: iso(team.updated_at),
  };
}

export function membershipView(gateway: Gateway, member: MemberRow) {
  const account = gateway.directory.existingAccount("member", memberId(member.team_id, member.user_id));
  return {
    user_id: member.user_id,
    team_id: member.team_id,
    budget_id: null,
    spend: account ? nanosToDollars(account.spentNanos) : member.spend,
    max_budget_in_team: member.max_budget_in_team,
    litellm_budget_table: member.max_budget_in_team === null ? null : { max_budget: member.max_budget_in_team },
  };
}

export function spendLogView(row: SpendLogRow) {
  return {
    request_id: row.request_id,
    call_type: row.call_type,
    api_key: row.api_key,
    spend: row.spend,
    total_tokens: row.total_tokens,
    prompt_tokens: row.prompt_tokens,
    completion_tokens: row.completion_tokens,
    startTime: row.start_time.toISOString(),
    endTime: row.end_time.toISOString(),
    completionStartTime: row.end_time.toISOString(),
    model: row.model,
    model_id: row.model_id,
    model_group: row.model_group,
    custom_llm_provider: row.custom_llm_provider,
    api_base: row.api_base,
    user: row.user_id,
    team_id: row.team_id,
    end_user: row.end_user,
    metadata: row.metadata,
    cache_hit: "False",
    cache_key: "",
    request_tags: [],
    requester_ip_address: null,
    messages: {},
    response: {},
    status: row.status,
  };
}
