import { errors as undiciErrors, Pool } from "undici";
import { z } from "zod";
import { currentRequestId } from "../request-id";

/**
 * A typed client of the LiteLLM admin API, used against our gateway and a real LiteLLM proxy
 * alike. Money crosses this edge as dollars (LiteLLM's floats) and is integer cents on our side.
 *
 * Every failure is a GatewayError that says whether trying again can help: network errors,
 * timeouts, 5xx and 429 are retryable; any other 4xx is permanent and carries the gateway's own
 * message, because retrying a request the gateway refused will not change its mind.
 */

export class GatewayError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
  ) {
    super(message);
    this.name = "GatewayError";
  }
}

export interface LiteLLMClientOptions {
  /** Admin listener of our gateway, or a LiteLLM proxy; may carry a path prefix. */
  baseUrl: string;
  masterKey: string;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  connections?: number;
}

export const centsToDollars = (cents: number): number => cents / 100;
/** Spend comes back as fractional dollars; cents are rounded to the nearest cent for display. */
export const dollarsToCents = (dollars: number): number => Math.round(dollars * 100);

export interface KeyLimits {
  alias?: string | null;
  maxBudgetCents?: number | null;
  budgetDuration?: string | null;
  rpmLimit?: number | null;
  tpmLimit?: number | null;
  /** Empty means every model the gateway offers. */
  models?: string[];
  metadata?: Record<string, unknown>;
  /** The team whose budget and model list the key also answers to; null takes it out of one. */
  teamId?: string | null;
}

const keyResponseSchema = z.object({ token: z.string().min(1) }).passthrough();

const keyInfoSchema = z.object({
  key: z.string(),
  info: z
    .object({
      key_alias: z.string().nullable().optional(),
      spend: z.number().nullable().optional(),
      max_budget: z.number().nullable().optional(),
      budget_duration: z.string().nullable().optional(),
      rpm_limit: z.number().nullable().optional(),
      tpm_limit: z.number().nullable().optional(),
      models: z.array(z.string()).nullable().optional(),
      user_id: z.string().nullable().optional(),
      blocked: z.boolean().nullable().optional(),
    })
    .passthrough(),
});

const userInfoSchema = z.object({
  user_id: z.string().nullable().optional(),
  user_info: z
    .object({
      user_id: z.string().optional(),
      max_budget: z.number().nullable().optional(),
      spend: z.number().nullable().optional(),
    })
    .passthrough()
    .nullable()
    .optional(),
});

const modelsSchema = z.object({ data: z.array(z.object({ id: z.string() }).passthrough()) });

const spendLogRowSchema = z
  .object({
    request_id: z.string(),
    api_key: z.string().nullable().optional(),
    user: z.string().nullable().optional(),
    model: z.string().nullable().optional(),
    spend: z.number().nullable().optional(),
    prompt_tokens: z.number().nullable().optional(),
    completion_tokens: z.number().nullable().optional(),
    total_tokens: z.number().nullable().optional(),
    startTime: z.string(),
    status: z.string().nullable().optional(),
  })
  .passthrough();
export type SpendLogRow = z.infer<typeof spendLogRowSchema>;

// Users, keys and teams as LiteLLM's list and info endpoints show them (fields we read; the rest
// passes through). Real LiteLLM leaves many of them null, so every field is optional here.
const money = z.number().nullable().optional();
const count = z.number().int().nullable().optional();
const names = z.array(z.string()).nullable().optional();
const record = z.record(z.string(), z.unknown()).nullable().optional();

const userRowSchema = z.looseObject({
  user_id: z.string(),
  user_email: z.string().nullable().optional(),
  user_alias: z.string().nullable().optional(),
  user_role: z.string().nullable().optional(),
  max_budget: money,
  spend: money,
  budget_duration: z.string().nullable().optional(),
  models: names,
  rpm_limit: count,
  tpm_limit: count,
  teams: z.array(z.union([z.string(), z.looseObject({ team_id: z.string() })])).nullable().optional(),
  metadata: record,
  key_count: count,
});

const keyRowSchema = z.looseObject({
  token: z.string().nullable().optional(),
  key_name: z.string().nullable().optional(),
  key_alias: z.string().nullable().optional(),
  spend: money,
  max_budget: money,
  budget_duration: z.string().nullable().optional(),
  models: names,
  user_id: z.string().nullable().optional(),
  team_id: z.string().nullable().optional(),
  rpm_limit: count,
  tpm_limit: count,
  expires: z.string().nullable().optional(),
  blocked: z.boolean().nullable().optional(),
  metadata: record,
});

const teamRowSchema = z.looseObject({
  team_id: z.string(),
  team_alias: z.string().nullable().optional(),
  max_budget: money,
  budget_duration: z.string().nullable().optional(),
  models: names,
  rpm_limit: count,
  tpm_limit: count,
  spend: money,
  metadata: record,
  members_with_roles: z
    .array(z.looseObject({ user_id: z.string().nullable().optional(), role: z.string().nullable().optional() }))
    .nullable()
    .optional(),
});

// Older LiteLLM versions answer /user/list with a bare array; newer ones page it.
const userListSchema = z.union([
  z.array(userRowSchema).transform((users) => ({ users, total_pages: 1 })),
  z.looseObject({ users: z.array(userRowSchema), total_pages: z.number().int().nullable().optional() }),
]);
const keyListSchema = z.looseObject({
  keys: z.array(z.union([z.string(), keyRowSchema])),
  total_pages: z.number().int().nullable().optional(),
});
const userDetailsSchema = z.looseObject({
  user_id: z.string().nullable().optional(),
  user_info: userRowSchema.nullable().optional(),
  keys: z.array(keyRowSchema).nullable().optional(),
  teams: z.array(teamRowSchema).nullable().optional(),
});
const newUserSchema = z.looseObject({
  user_id: z.string(),
  key: z.string().nullable().optional(),
  token: z.string().nullable().optional(),
});
const generatedKeySchema = z.looseObject({ key: z.string().min(1), token: z.string().nullable().optional() });
const teamInfoSchema = z.looseObject({ team_id: z.string(), team_info: teamRowSchema });
const readinessSchema = z.looseObject({ status: z.string().optional(), db: z.string().nullable().optional() });
const endpointHealthSchema = z.looseObject({
  healthy_count: z.number().int().optional(),
  unhealthy_count: z.number().int().optional(),
  unhealthy_endpoints: z.array(z.looseObject({ model: z.string().optional(), error: z.unknown().optional() })).optional(),
});

/** A gateway user, money in cents. */
export interface GatewayUser {
  userId: string;
  email: string | null;
  alias: string | null;
  role: string | null;
  maxBudgetCents: number | null;
  spendCents: number;
  budgetDuration: string | null;
  models: string[];
  rpmLimit: number | null;
  tpmLimit: number | null;
  teamIds: string[];
  metadata: Record<string, unknown>;
  keyCount: number | null;
}

/** A gateway key as an admin sees it: its token (the hash), never its secret. */
export interface GatewayKey {
  token: string | null;
  keyName: string | null;
  alias: string | null;
  spendCents: number;
  maxBudgetCents: number | null;
  budgetDuration: string | null;
  models: string[];
  userId: string | null;
  teamId: string | null;
  rpmLimit: number | null;
  tpmLimit: number | null;
  expires: string | null;
  blocked: boolean;
}

export interface GatewayTeam {
  teamId: string;
  alias: string | null;
  maxBudgetCents: number | null;
  budgetDuration: string | null;
  models: string[];
  rpmLimit: number | null;
  tpmLimit: number | null;
  spendCents: number;
  metadata: Record<string, unknown>;
  memberIds: string[];
}

/** Fields of a user the CLI sets; undefined leaves a field as it is. */
export interface UserFields {
  email?: string | null;
  alias?: string | null;
  maxBudgetCents?: number | null;
  budgetDuration?: string | null;
  models?: string[];
  rpmLimit?: number | null;
  tpmLimit?: number | null;
  metadata?: Record<string, unknown>;
}

export interface TeamFields {
  alias?: string | null;
  maxBudgetCents?: number | null;
  budgetDuration?: string | null;
  models?: string[];
  rpmLimit?: number | null;
  tpmLimit?: number | null;
  metadata?: Record<string, unknown>;
}

const centsOrNull = (dollars: number | null | undefined): number | null =>
  dollars === null || dollars === undefined ? null : dollarsToCents(dollars);

function toUser(row: z.infer<typeof userRowSchema>): GatewayUser {
  return {
    userId: row.user_id,
    email: row.user_email ?? null,
    alias: row.user_alias ?? null,
    role: row.user_role ?? null,
    maxBudgetCents: centsOrNull(row.max_budget),
    spendCents: dollarsToCents(row.spend ?? 0),
    budgetDuration: row.budget_duration ?? null,
    models: row.models ?? [],
    rpmLimit: row.rpm_limit ?? null,
    tpmLimit: row.tpm_limit ?? null,
    teamIds: (row.teams ?? []).map((team) => (typeof team === "string" ? team : team.team_id)),
    metadata: row.metadata ?? {},
    keyCount: row.key_count ?? null,
  };
}

function toKey(row: z.infer<typeof keyRowSchema>): GatewayKey {
  return {
    token: row.token ?? null,
    keyName: row.key_name ?? null,
    alias: row.key_alias ?? null,
    spendCents: dollarsToCents(row.spend ?? 0),
    maxBudgetCents: centsOrNull(row.max_budget),
    budgetDuration: row.budget_duration ?? null,
    models: row.models ?? [],
    userId: row.user_id ?? null,
    teamId: row.team_id ?? null,
    rpmLimit: row.rpm_limit ?? null,
    tpmLimit: row.tpm_limit ?? null,
    expires: row.expires ?? null,
    blocked: row.blocked === true,
  };
}

function toTeam(row: z.infer<typeof teamRowSchema>): GatewayTeam {
  return {
    teamId: row.team_id,
    alias: row.team_alias ?? null,
    maxBudgetCents: centsOrNull(row.max_budget),
    budgetDuration: row.budget_duration ?? null,
    models: row.models ?? [],
    rpmLimit: row.rpm_limit ?? null,
    tpmLimit: row.tpm_limit ?? null,
    spendCents: dollarsToCents(row.spend ?? 0),
    metadata: row.metadata ?? {},
    memberIds: (row.members_with_roles ?? []).flatMap((member) => (member.user_id ? [member.user_id] : [])),
  };
}

/** The limits users, teams and keys share, in LiteLLM's names and dollars; absent fields stay absent. */
interface LimitFields {
  maxBudgetCents?: number | null;
  budgetDuration?: string | null;
  models?: string[];
  rpmLimit?: number | null;
  tpmLimit?: number | null;
  metadata?: Record<string, unknown>;
}

function limitBody(fields: LimitFields): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (fields.maxBudgetCents !== undefined) body.max_budget = fields.maxBudgetCents === null ? null : centsToDollars(fields.maxBudgetCents);
  if (fields.budgetDuration !== undefined) body.budget_duration = fields.budgetDuration;
  if (fields.models !== undefined) body.models = fields.models;
  if (fields.rpmLimit !== undefined) body.rpm_limit = fields.rpmLimit;
  if (fields.tpmLimit !== undefined) body.tpm_limit = fields.tpmLimit;
  if (fields.metadata !== undefined) body.metadata = fields.metadata;
  return body;
}

function userBody(fields: UserFields): Record<string, unknown> {
  return {
    ...limitBody(fields),
    ...(fields.email !== undefined ? { user_email: fields.email } : {}),
    ...(fields.alias !== undefined ? { user_alias: fields.alias } : {}),
  };
}

function teamBody(fields: TeamFields): Record<string, unknown> {
  return { ...limitBody(fields), ...(fields.alias !== undefined ? { team_alias: fields.alias } : {}) };
}

export interface KeyInfo {
  alias: string | null;
  spendCents: number;
  maxBudgetCents: number | null;
  budgetDuration: string | null;
  rpmLimit: number | null;
  tpmLimit: number | null;
  models: string[];
  userId: string | null;
  blocked: boolean;
}

function requestIdHeader(): Record<string, string> {
  const requestId = currentRequestId();
  return requestId ? { "x-request-id": requestId } : {};
}

export function createLiteLLMClient(options: LiteLLMClientOptions) {
  const base = new URL(options.baseUrl);
  const prefix = base.pathname.replace(/\/+$/, "");
  const requestTimeoutMs = options.requestTimeoutMs ?? 5_000;
  const pool = new Pool(base.origin, {
    connections: options.connections ?? 16,
    connect: { timeout: options.connectTimeoutMs ?? 2_000 },
    headersTimeout: requestTimeoutMs,
    bodyTimeout: requestTimeoutMs,
    keepAliveTimeout: 30_000,
  });

  async function call<S extends z.ZodType>(
    method: "GET" | "POST",
    path: string,
    schema: S,
    body?: unknown,
    query?: Record<string, string | undefined>,
  ): Promise<z.infer<S>> {
    const search = new URLSearchParams(
      Object.entries(query ?? {}).filter((entry): entry is [string, string] => entry[1] !== undefined),
    ).toString();
    let response;
    try {
      response = await pool.request({
        method,
        path: `${prefix}${path}${search ? `?${search}` : ""}`,
        headers: {
          authorization: `Bearer ${options.masterKey}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          // The app request this call serves, so the gateway's log line for it can be found.
          ...requestIdHeader(),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(requestTimeoutMs),
      });
    } catch (err) {
      throw networkError(err, `${base.origin}${prefix}${path}`);
    }
    const text = await response.body.text().catch((err: unknown) => {
      throw networkError(err, `${base.origin}${prefix}${path}`);
    });
    if (response.statusCode >= 400) throw statusError(response.statusCode, text, path);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new GatewayError(`${path}: the gateway answered ${response.statusCode} with a body that is not JSON`, true, response.statusCode);
    }
    const result = schema.safeParse(parsed);
    if (!result.success) {
      throw new GatewayError(`${path}: unexpected response shape (${result.error.issues[0]?.message ?? "invalid"})`, false, response.statusCode);
    }
    return result.data;
  }

  function keyFields(limits: KeyLimits): Record<string, unknown> {
    return {
      ...limitBody(limits),
      ...(limits.alias !== undefined ? { key_alias: limits.alias } : {}),
      ...(limits.teamId !== undefined ? { team_id: limits.teamId } : {}),
    };
  }

  return {
    baseUrl: `${base.origin}${prefix}`,

    async liveliness(): Promise<void> {
      await call("GET", "/health/liveliness", z.unknown());
    },

    /** Model names the gateway offers (the master key sees all of them). */
    async models(): Promise<string[]> {
      const body = await call("GET", "/v1/models", modelsSchema);
      return body.data.map((model) => model.id);
    },

    /** Registers a key whose secret we generated; answers the gateway's token (the hash). */
    async generateKey(input: KeyLimits & { secret: string; userId: string }): Promise<{ token: string }> {
      const body = await call("POST", "/key/generate", keyResponseSchema, {
        key: input.secret,
        user_id: input.userId,
        ...keyFields(input),
      });
      return { token: body.token };
    },

    /** Sets the key's limits to exactly these values (absolute, so a repeat changes nothing). */
    async updateKey(token: string, limits: KeyLimits): Promise<void> {
      await call("POST", "/key/update", z.unknown(), { key: token, ...keyFields(limits) });
    },

    /** Deletes the key; a key the gateway no longer has counts as deleted. */
    async deleteKey(token: string): Promise<void> {
      try {
        await call("POST", "/key/delete", z.unknown(), { keys: [token] });
      } catch (err) {
        if (err instanceof GatewayError && err.status === 404) return;
        throw err;
      }
    },

    /** The key as the gateway has it, or null when it has none. */
    async keyInfo(token: string): Promise<KeyInfo | null> {
      try {
        const { info } = await call("GET", "/key/info", keyInfoSchema, undefined, { key: token });
        return {
          alias: info.key_alias ?? null,
          spendCents: dollarsToCents(info.spend ?? 0),
          maxBudgetCents: info.max_budget === null || info.max_budget === undefined ? null : dollarsToCents(info.max_budget),
          budgetDuration: info.budget_duration ?? null,
          rpmLimit: info.rpm_limit ?? null,
          tpmLimit: info.tpm_limit ?? null,
          models: info.models ?? [],
          userId: info.user_id ?? null,
          blocked: info.blocked === true,
        };
      } catch (err) {
        if (err instanceof GatewayError && err.status === 404) return null;
        throw err;
      }
    },

    /**
     * Makes the gateway user exist with exactly this budget (no reset): update, and create when
     * the gateway does not know the user yet. Never lets /user/new create a key of its own.
     */
    async upsertUser(input: { userId: string; email?: string; maxBudgetCents: number }): Promise<void> {
      const fields = { user_id: input.userId, max_budget: centsToDollars(input.maxBudgetCents), budget_duration: null };
      const exists = (await this.userInfo(input.userId)) !== null;
      if (exists) {
        await call("POST", "/user/update", z.unknown(), fields);
        return;
      }
      try {
        await call("POST", "/user/new", z.unknown(), { ...fields, user_email: input.email, auto_create_key: false });
      } catch (err) {
        // Another push created it between our look-up and our create: update instead.
        if (!(err instanceof GatewayError && err.status === 409)) throw err;
        await call("POST", "/user/update", z.unknown(), fields);
      }
    },

    async userInfo(userId: string): Promise<{ maxBudgetCents: number | null; spendCents: number } | null> {
      try {
        const body = await call("GET", "/user/info", userInfoSchema, undefined, { user_id: userId });
        const info = body.user_info;
        if (!info) return null;
        return {
          maxBudgetCents: info.max_budget === null || info.max_budget === undefined ? null : dollarsToCents(info.max_budget),
          spendCents: dollarsToCents(info.spend ?? 0),
        };
      } catch (err) {
        if (err instanceof GatewayError && err.status === 404) return null;
        throw err;
      }
    },

    /** Spend-log rows (not summarised) for a user or key between two dates, inclusive. */
    async spendLogs(filter: { userId?: string; token?: string; startDate: string; endDate: string }): Promise<SpendLogRow[]> {
      return call("GET", "/spend/logs", z.array(spendLogRowSchema), undefined, {
        user_id: filter.userId,
        api_key: filter.token,
        start_date: filter.startDate,
        end_date: filter.endDate,
        summarize: "false",
      });
    },

    /** Whether the gateway and its database are ready (LiteLLM's /health/readiness). */
    async readiness(): Promise<{ status: string | null; db: string | null }> {
      const body = await call("GET", "/health/readiness", readinessSchema);
      return { status: body.status ?? null, db: body.db ?? null };
    },

    /** Upstream deployments' health (LiteLLM's /health, which real LiteLLM guards with the master key). */
    async endpointHealth(): Promise<{ healthy: number; unhealthy: number; errors: string[] }> {
      const body = await call("GET", "/health", endpointHealthSchema);
      return {
        healthy: body.healthy_count ?? 0,
        unhealthy: body.unhealthy_count ?? 0,
        errors: (body.unhealthy_endpoints ?? []).map((endpoint) => `${endpoint.model ?? "?"}: ${String(endpoint.error ?? "unhealthy")}`),
      };
    },

    /**
     * Creates a gateway user. With `autoCreateKey` the gateway also makes a key for them and
     * answers its secret, once.
     */
    async newUser(
      input: UserFields & { userId?: string; teamIds?: string[]; autoCreateKey: boolean; keyAlias?: string },
    ): Promise<{ userId: string; key: string | null; token: string | null }> {
      const body = await call("POST", "/user/new", newUserSchema, {
        ...userBody(input),
        ...(input.userId === undefined ? {} : { user_id: input.userId }),
        ...(input.teamIds === undefined ? {} : { teams: input.teamIds }),
        ...(input.keyAlias === undefined ? {} : { key_alias: input.keyAlias }),
        auto_create_key: input.autoCreateKey,
      });
      return { userId: body.user_id, key: body.key ? body.key : null, token: body.token ?? null };
    },

    /** Sets these fields of the user; false when the gateway has no such user. */
    async updateUser(userId: string, fields: UserFields): Promise<boolean> {
      try {
        await call("POST", "/user/update", z.unknown(), { user_id: userId, ...userBody(fields) });
        return true;
      } catch (err) {
        if (err instanceof GatewayError && err.status === 404) return false;
        throw err;
      }
    },

    /** Deletes the users and their keys; false when the gateway had none of them. */
    async deleteUsers(userIds: string[]): Promise<boolean> {
      try {
        await call("POST", "/user/delete", z.unknown(), { user_ids: userIds });
        return true;
      } catch (err) {
        if (err instanceof GatewayError && err.status === 404) return false;
        throw err;
      }
    },

    /** A user with their keys and teams, or null when the gateway has no such user. */
    async userDetails(userId: string): Promise<{ user: GatewayUser; keys: GatewayKey[]; teams: GatewayTeam[] } | null> {
      try {
        const body = await call("GET", "/user/info", userDetailsSchema, undefined, { user_id: userId });
        if (!body.user_info) return null;
        return { user: toUser(body.user_info), keys: (body.keys ?? []).map(toKey), teams: (body.teams ?? []).map(toTeam) };
      } catch (err) {
        if (err instanceof GatewayError && err.status === 404) return null;
        throw err;
      }
    },

    /** One page of users (pages count from 1); `userEmail` narrows to addresses containing it. */
    async listUsers(options: { page: number; pageSize: number; userEmail?: string }): Promise<{ users: GatewayUser[]; totalPages: number }> {
      const body = await call("GET", "/user/list", userListSchema, undefined, {
        page: String(options.page),
        page_size: String(options.pageSize),
        user_email: options.userEmail,
      });
      return { users: body.users.map(toUser), totalPages: body.total_pages ?? 1 };
    },

    /** One page of keys with their limits; never their secrets. */
    async listKeys(options: { page: number; size: number; userId?: string; keyAlias?: string }): Promise<{ keys: GatewayKey[]; totalPages: number }> {
      const body = await call("GET", "/key/list", keyListSchema, undefined, {
        page: String(options.page),
        size: String(options.size),
        user_id: options.userId,
        key_alias: options.keyAlias,
        return_full_object: "true",
      });
      const keys = body.keys.map((key) => (typeof key === "string" ? toKey({ token: key }) : toKey(key)));
      return { keys, totalPages: body.total_pages ?? 1 };
    },

    /** Creates a key whose secret the gateway makes (or ours, when given); answers it once. */
    async createKey(input: KeyLimits & { userId?: string | null; secret?: string }): Promise<{ key: string; token: string | null }> {
      const body = await call("POST", "/key/generate", generatedKeySchema, {
        ...(input.secret === undefined ? {} : { key: input.secret }),
        ...(input.userId === undefined ? {} : { user_id: input.userId }),
        ...keyFields(input),
      });
      return { key: body.key, token: body.token ?? null };
    },

    /** Deletes keys given by secret or token; false when the gateway had none of them. */
    async deleteKeys(keys: string[]): Promise<boolean> {
      try {
        await call("POST", "/key/delete", z.unknown(), { keys });
        return true;
      } catch (err) {
        if (err instanceof GatewayError && err.status === 404) return false;
        throw err;
      }
    },

    async newTeam(teamId: string, fields: TeamFields): Promise<GatewayTeam> {
      return toTeam(await call("POST", "/team/new", teamRowSchema, { team_id: teamId, ...teamBody(fields) }));
    },

    async updateTeam(teamId: string, fields: TeamFields): Promise<void> {
      await call("POST", "/team/update", z.unknown(), { team_id: teamId, ...teamBody(fields) });
    },

    /** The team, or null when the gateway has no such team. */
    async teamInfo(teamId: string): Promise<GatewayTeam | null> {
      try {
        const body = await call("GET", "/team/info", teamInfoSchema, undefined, { team_id: teamId });
        return toTeam(body.team_info);
      } catch (err) {
        if (err instanceof GatewayError && err.status === 404) return null;
        throw err;
      }
    },

    async listTeams(): Promise<GatewayTeam[]> {
      const body = await call("GET", "/team/list", z.array(teamRowSchema));
      return body.map(toTeam);
    },

    async addTeamMember(teamId: string, userId: string, role: "admin" | "user" = "user"): Promise<void> {
      await call("POST", "/team/member_add", z.unknown(), { team_id: teamId, member: { user_id: userId, role } });
    },

    /** Takes the user out of the team; a user who was not in it counts as removed. */
    async removeTeamMember(teamId: string, userId: string): Promise<void> {
      try {
        await call("POST", "/team/member_delete", z.unknown(), { team_id: teamId, user_id: userId });
      } catch (err) {
        if (err instanceof GatewayError && err.status === 404) return;
        throw err;
      }
    },

    close(): Promise<void> {
      return pool.close();
    },
  };
}

export type LiteLLMClient = ReturnType<typeof createLiteLLMClient>;

function networkError(err: unknown, url: string): GatewayError {
  if (err instanceof GatewayError) return err;
  const code = (err as { code?: string }).code;
  const name = err instanceof Error ? err.name : "";
  if (name === "TimeoutError" || name === "AbortError" || err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError) {
    return new GatewayError(`the gateway at ${url} did not answer in time`, true);
  }
  if (err instanceof undiciErrors.ConnectTimeoutError) return new GatewayError(`could not connect to the gateway at ${url} in time`, true);
  return new GatewayError(`cannot reach the gateway at ${url}${code ? ` (${code})` : ""}`, true);
}

/** LiteLLM's error bodies come in several shapes; this finds the human message in any of them. */
function statusError(status: number, text: string, path: string): GatewayError {
  let message = text.slice(0, 300);
  try {
    const body = JSON.parse(text) as { error?: unknown; detail?: unknown; message?: unknown };
    const error = body.error ?? body.detail ?? body.message;
    if (typeof error === "string") message = error;
    else if (error && typeof error === "object") {
      const inner = (error as { message?: unknown; error?: unknown }).message ?? (error as { error?: unknown }).error;
      if (typeof inner === "string") message = inner;
    }
  } catch {
    // not JSON: keep the text
  }
  const retryable = status >= 500 || status === 429;
  const hint = status === 401 ? " (check LITELLM_MASTER_KEY)" : "";
  return new GatewayError(`${path}: gateway answered ${status}: ${message}${hint}`, retryable, status);
}
