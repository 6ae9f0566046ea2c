import { randomBytes } from "node:crypto";
import { z } from "zod";
import type { Sql } from "../../lib/db/client";
import { abbreviateKey, hashKey, tokenOf, type Caller } from "../auth";
import { addDuration, budgetResetAt, parseDuration } from "../budget";
import type { Gateway } from "../context";
import { GatewayError, badRequest, notFound } from "../errors";
import { validate } from "../http";
import { ok, type Route, type RouteCall } from "../routes";
import type { KeyRow } from "../rows";
import { dollarsToNanos } from "../spend";
import * as store from "../store";
import { keyView } from "../views";
import { checkBudget, dollars, duration, isUniqueViolation, limit, metadata, modelList, nullableString, pageOf } from "./common";

/** /key/* — virtual keys, stored only as the SHA-256 of their secret. */

const keyFields = {
  key_alias: nullableString,
  duration,
  models: modelList,
  aliases: z.record(z.string(), z.unknown()).optional(),
  max_budget: dollars,
  budget_duration: duration,
  user_id: nullableString,
  team_id: nullableString,
  max_parallel_requests: limit,
  tpm_limit: limit,
  rpm_limit: limit,
  metadata,
  blocked: z.boolean().nullable().optional(),
  spend: z.number().min(0).optional(),
};

export const generateKeySchema = z.looseObject({ key: z.string().min(1).optional(), ...keyFields });
export type GenerateKeyRequest = z.infer<typeof generateKeySchema>;

const updateKeySchema = z.looseObject({ key: z.string().min(1), ...keyFields });
const keyRefSchema = z.object({ key: z.string().min(1) });
const deleteSchema = z
  .object({
    keys: z.array(z.string().min(1)).optional(),
    key_aliases: z.array(z.string().min(1)).optional(),
    key: z.string().min(1).optional(),
  })
  .refine((body) => (body.keys?.length ?? 0) + (body.key_aliases?.length ?? 0) + (body.key ? 1 : 0) > 0, {
    message: "give keys, key_aliases or key",
  });

// LiteLLM's default: 16 random bytes, url-safe base64 → "sk-" + 22 characters.
export function newSecret(): string {
  return `sk-${randomBytes(16).toString("base64url")}`;
}

function masked(value: string): string {
  return value.length <= 8 ? "****" : `${value.slice(0, 4)}****${value.slice(-4)}`;
}

export function callerName(caller: Caller | null): string {
  if (!caller || caller.kind === "master") return "default_user_id";
  return caller.context.key.user_id ?? caller.context.key.token;
}

async function checkAliasFree(sql: Sql, alias: string | null | undefined, exceptToken?: string): Promise<void> {
  if (!alias) return;
  const existing = await store.findKeyByAlias(sql, alias);
  if (existing && existing.token !== exceptToken) throw aliasTaken(alias);
}

function aliasTaken(alias: string): GatewayError {
  return new GatewayError(
    400,
    "bad_request_error",
    `Key with alias '${alias}' already exists. Unique key aliases across all keys are required.`,
    "key_alias",
  );
}

async function checkTeamExists(gateway: Gateway, teamId: string | null | undefined): Promise<void> {
  if (!teamId) return;
  if (!(await gateway.directory.loadTeam(teamId))) throw badRequest(`Team not found, passed team_id=${teamId}`, "team_id");
}

function expiresAt(value: string | null | undefined, now: Date): Date | null {
  if (!value || value === "-1") return null;
  const parsed = parseDuration(value);
  return parsed ? addDuration(now, parsed) : null;
}

/** Creates a key (with a caller-supplied secret or a new one) and returns LiteLLM's response. */
export async function generateKey(gateway: Gateway, request: GenerateKeyRequest, caller: Caller | null) {
  if (request.key !== undefined && !request.key.startsWith("sk-")) {
    throw badRequest(`Invalid key format. LiteLLM Virtual Key must start with 'sk-'. Received: ${masked(request.key)}`, "key");
  }
  const secret = request.key ?? newSecret();
  const token = hashKey(secret);
  if (token === gateway.masterKeyHash) throw badRequest("A virtual key cannot be the master key.", "key");
  await checkAliasFree(gateway.sql, request.key_alias);
  await checkTeamExists(gateway, request.team_id);
  const now = new Date();
  const by = callerName(caller);
  let row: KeyRow;
  try {
    row = await store.insertKey(gateway.sql, {
      token,
      key_name: abbreviateKey(secret),
      key_alias: request.key_alias ?? null,
      user_id: request.user_id ?? null,
      team_id: request.team_id ?? null,
      models: request.models ?? [],
      aliases: gateway.sql.json(toJson(request.aliases ?? {})),
      max_budget: request.max_budget ?? null,
      spend: request.spend ?? 0,
      budget_duration: request.budget_duration ?? null,
      budget_reset_at: budgetResetAt(request.budget_duration, now),
      expires: expiresAt(request.duration, now),
      tpm_limit: request.tpm_limit ?? null,
      rpm_limit: request.rpm_limit ?? null,
      max_parallel_requests: request.max_parallel_requests ?? null,
      metadata: gateway.sql.json(toJson(request.metadata ?? {})),
      blocked: request.blocked ?? null,
      created_by: by,
      updated_by: by,
    });
  } catch (err) {
    if (isUniqueViolation(err)) {
      const detail = String((err as { constraint_name?: string }).constraint_name ?? "");
      if (detail.includes("alias")) throw aliasTaken(request.key_alias ?? "");
      throw badRequest("A key with this secret already exists.", "key");
    }
    throw err;
  }
  gateway.directory.putKey(row);
  return { key: secret, token, token_id: token, ...keyView(gateway, row), soft_budget: null, tags: null, enforced_params: null };
}

/** JSON values from a validated body, typed for sql.json. */
export function toJson(value: Record<string, unknown>): Parameters<Sql["json"]>[0] {
  return value as Parameters<Sql["json"]>[0];
}

async function keyOrNotFound(gateway: Gateway, keyOrHash: string): Promise<KeyRow> {
  const row = await store.findKey(gateway.sql, tokenOf(keyOrHash));
  if (!row) throw notFound("Key not found in database", "key");
  return row;
}

async function updateKey(call: RouteCall) {
  const { gateway } = call;
  const body = await call.json();
  checkBudget(body);
  const request = validate(updateKeySchema, body);
  const existing = await keyOrNotFound(gateway, request.key);
  if (request.key_alias !== undefined) await checkAliasFree(gateway.sql, request.key_alias, existing.token);
  if (request.team_id !== undefined) await checkTeamExists(gateway, request.team_id);
  const now = new Date();
  const changes: store.Columns = { updated_by: callerName(call.caller) };
  if (request.key_alias !== undefined) changes.key_alias = request.key_alias;
  if (request.user_id !== undefined) changes.user_id = request.user_id;
  if (request.team_id !== undefined) changes.team_id = request.team_id;
  if (request.models !== undefined) changes.models = request.models;
  if (request.aliases !== undefined) changes.aliases = gateway.sql.json(toJson(request.aliases));
  if (request.max_budget !== undefined) changes.max_budget = request.max_budget;
  if (request.budget_duration !== undefined) {
    changes.budget_duration = request.budget_duration;
    changes.budget_reset_at = budgetResetAt(request.budget_duration, now);
  }
  if (request.duration !== undefined) changes.expires = expiresAt(request.duration, now);
  if (request.tpm_limit !== undefined) changes.tpm_limit = request.tpm_limit;
  if (request.rpm_limit !== undefined) changes.rpm_limit = request.rpm_limit;
  if (request.max_parallel_requests !== undefined) changes.max_parallel_requests = request.max_parallel_requests;
  if (request.metadata !== undefined) changes.metadata = gateway.sql.json(toJson(request.metadata));
  if (request.blocked !== undefined) changes.blocked = request.blocked;
  const row = await writeKey(gateway, existing.token, changes);
  if (request.spend !== undefined) setSpend(gateway, row, request.spend);
  return { key: request.key, token: row.token, ...keyView(gateway, row) };
}

async function writeKey(gateway: Gateway, token: string, changes: store.Columns): Promise<KeyRow> {
  let row: KeyRow | undefined;
  try {
    row = await store.updateKey(gateway.sql, token, changes);
  } catch (err) {
    if (isUniqueViolation(err)) throw aliasTaken(String(changes.key_alias ?? ""));
    throw err;
  }
  if (!row) throw notFound("Key not found in database", "key");
  // Reload the key's user and team too: the key may have moved to another one.
  gateway.directory.putKey(row);
  if (row.user_id) await gateway.directory.loadUser(row.user_id);
  if (row.team_id) await gateway.directory.loadTeam(row.team_id);
  return row;
}

function setSpend(gateway: Gateway, row: KeyRow, spendDollars: number): void {
  gateway.directory.setSpend(gateway.directory.account("key", row.token, row), dollarsToNanos(spendDollars));
}

async function setBlocked(call: RouteCall, blocked: boolean) {
  const { gateway } = call;
  const request = validate(keyRefSchema, await call.json());
  const existing = await keyOrNotFound(gateway, request.key);
  const row = await writeKey(gateway, existing.token, { blocked, updated_by: callerName(call.caller) });
  return { token: row.token, ...keyView(gateway, row) };
}

async function deleteKeys(call: RouteCall) {
  const { gateway } = call;
  const request = validate(deleteSchema, await call.json());
  const given = [...(request.keys ?? []), ...(request.key ? [request.key] : [])];
  const tokens = given.map(tokenOf);
  for (const alias of request.key_aliases ?? []) {
    const row = await store.findKeyByAlias(gateway.sql, alias);
    if (row) tokens.push(row.token);
  }
  const deleted = await store.deleteKeys(gateway.sql, tokens);
  if (deleted.length === 0) throw notFound("No keys found", "keys");
  for (const row of deleted) gateway.directory.forgetKey(row.token);
  return { deleted_keys: [...given, ...(request.key_aliases ?? [])] };
}

/** A key's own info, or any key's for an admin; someone else's key looks like a missing one. */
async function keyInfo(call: RouteCall) {
  const { gateway, caller } = call;
  const asked = call.query.get("key");
  if (!caller) throw new GatewayError(401, "auth_error", "Authentication Error, No api key passed in.");
  if (caller.kind === "key" && (asked === null || tokenOf(asked) === caller.hash)) {
    return { key: asked ?? caller.hash, info: keyView(gateway, caller.context.key) };
  }
  if (asked === null) throw notFound("Key not found in database", "key");
  const row = await store.findKey(gateway.sql, tokenOf(asked));
  if (!row || !mayReadKey(caller, row)) throw notFound("Key not found in database", "key");
  gateway.directory.putKey(row);
  return { key: asked, info: keyView(gateway, row) };
}

function mayReadKey(caller: Caller, row: KeyRow): boolean {
  if (caller.kind === "master" || caller.context.user?.user_role === "proxy_admin") return true;
  const own = caller.context.key;
  // Unlike LiteLLM, two keys without a user are not each other's owners.
  return (own.user_id !== null && own.user_id === row.user_id) || (own.team_id !== null && own.team_id === row.team_id);
}

const listQuerySchema = z.object({
  user_id: z.string().optional(),
  team_id: z.string().optional(),
  key_alias: z.string().optional(),
  key_hash: z.string().optional(),
  return_full_object: z.enum(["true", "false"]).optional(),
  sort_by: z.enum(["spend", "max_budget", "created_at", "updated_at", "token", "key_alias"]).default("created_at"),
  sort_order: z.enum(["asc", "desc"]).default("desc"),
});

async function listKeys(call: RouteCall) {
  const { gateway, caller } = call;
  const { page, size } = pageOf(call.query, "size", 10);
  const query = validate(listQuerySchema, Object.fromEntries(call.query));
  let userId = query.user_id;
  if (caller?.kind === "key" && caller.context.user?.user_role !== "proxy_admin") {
    if (!caller.context.key.user_id) throw new GatewayError(403, "permission_error", "A key without a user_id cannot list keys.");
    userId = caller.context.key.user_id;
  }
  const { rows, total } = await store.listKeys(gateway.sql, {
    userId,
    teamId: query.team_id,
    keyAlias: query.key_alias,
    keyHash: query.key_hash === undefined ? undefined : tokenOf(query.key_hash),
    sortBy: query.sort_by,
    sortOrder: query.sort_order,
    limit: size,
    offset: (page - 1) * size,
  });
  const full = query.return_full_object === "true";
  return {
    keys: rows.map((row) => (full ? keyView(gateway, row, { withToken: true }) : row.token)),
    total_count: total,
    current_page: page,
    total_pages: Math.ceil(total / size),
  };
}

export const keyRoutes: Record<string, Route> = {
  "/key/generate": {
    method: "POST",
    access: "admin",
    public: false,
    handle: async (call) => {
      const body = await call.json();
      checkBudget(body);
      return ok(await generateKey(call.gateway, validate(generateKeySchema, body), call.caller));
    },
  },
  "/key/update": { method: "POST", access: "admin", public: false, handle: async (call) => ok(await updateKey(call)) },
  "/key/block": { method: "POST", access: "admin", public: false, handle: async (call) => ok(await setBlocked(call, true)) },
  "/key/unblock": { method: "POST", access: "admin", public: false, handle: async (call) => ok(await setBlocked(call, false)) },
  "/key/delete": { method: "POST", access: "admin", public: false, handle: async (call) => ok(await deleteKeys(call)) },
  "/key/info": { method: "GET", access: "key", public: true, handle: async (call) => ok(await keyInfo(call)) },
  "/key/list": { method: "GET", access: "key", public: false, handle: async (call) => ok(await listKeys(call)) },
};
