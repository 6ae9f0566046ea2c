import { randomUUID } from "node:crypto";
import { z } from "zod";
import { budgetResetAt } from "../budget";
import type { Gateway } from "../context";
import { GatewayError, badRequest, conflict, notFound } from "../errors";
import { validate } from "../http";
import { ok, type Route, type RouteCall } from "../routes";
import type { UserRow } from "../rows";
import { dollarsToNanos } from "../spend";
import * as store from "../store";
import { keyView, teamView, userView } from "../views";
import { checkBudget, dollars, duration, isUniqueViolation, limit, metadata, modelList, nullableString, pageOf } from "./common";
import { callerName, generateKey, toJson } from "./keys";

/** /user/* — gateway users, whose budget every key of theirs without a team draws on. */

const roles = z.enum(["proxy_admin", "proxy_admin_viewer", "internal_user", "internal_user_viewer", "team", "customer"]);

const userFields = {
  user_email: nullableString,
  user_alias: nullableString,
  user_role: roles.optional(),
  max_budget: dollars,
  budget_duration: duration,
  models: modelList,
  tpm_limit: limit,
  rpm_limit: limit,
  max_parallel_requests: limit,
  metadata,
  spend: z.number().min(0).optional(),
};

const newUserSchema = z.looseObject({
  user_id: z.string().min(1).optional(),
  ...userFields,
  teams: z.array(z.union([z.string().min(1), z.looseObject({ team_id: z.string().min(1) })])).optional(),
  auto_create_key: z.boolean().default(true),
  key_alias: nullableString,
  duration,
});

const updateUserSchema = z
  .looseObject({ user_id: z.string().min(1).optional(), ...userFields })
  .refine((body) => body.user_id !== undefined || typeof body.user_email === "string", {
    message: "Either user id or user email must be provided",
  });

const deleteUsersSchema = z.object({ user_ids: z.array(z.string().min(1)).min(1) });

export async function ensureUser(gateway: Gateway, userId: string | undefined, email: string | undefined): Promise<UserRow> {
  if (userId) {
    const existing = await store.findUser(gateway.sql, userId);
    if (existing) return existing;
  } else if (email) {
    const existing = await store.findUserByEmail(gateway.sql, email);
    if (existing) return existing;
  }
  const row = await store.insertUser(gateway.sql, { user_id: userId ?? randomUUID(), user_email: email ?? null });
  gateway.directory.putUser(row.user_id, row);
  return row;
}

async function newUser(call: RouteCall) {
  const { gateway } = call;
  const body = await call.json();
  checkBudget(body);
  const request = validate(newUserSchema, body);
  const userId = request.user_id ?? randomUUID();
  if (await store.findUser(gateway.sql, userId)) throw conflict(`User with id ${userId} already exists`, "user_id");
  if (request.user_email && (await store.findUserByEmail(gateway.sql, request.user_email))) {
    throw conflict(`User with email ${request.user_email} already exists`, "user_email");
  }
  const teamIds = (request.teams ?? []).map((team) => (typeof team === "string" ? team : team.team_id));
  for (const teamId of teamIds) {
    if (!(await gateway.directory.loadTeam(teamId))) throw badRequest(`Team not found, passed team_id=${teamId}`, "teams");
  }
  const now = new Date();
  let row: UserRow;
  try {
    row = await store.insertUser(gateway.sql, {
      user_id: userId,
      user_email: request.user_email ?? null,
      user_alias: request.user_alias ?? null,
      user_role: request.user_role ?? "internal_user",
      max_budget: request.max_budget ?? null,
      spend: request.spend ?? 0,
      budget_duration: request.budget_duration ?? null,
      budget_reset_at: budgetResetAt(request.budget_duration, now),
      models: request.models ?? [],
      tpm_limit: request.tpm_limit ?? null,
      rpm_limit: request.rpm_limit ?? null,
      max_parallel_requests: request.max_parallel_requests ?? null,
      metadata: gateway.sql.json(toJson(request.metadata ?? {})),
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict(`User with id ${userId} already exists`, "user_id");
    throw err;
  }
  for (const teamId of teamIds) {
    await store.upsertMember(gateway.sql, { teamId, userId, role: "user", maxBudgetInTeam: null });
    gateway.directory.putMember(teamId, userId, await store.findMember(gateway.sql, teamId, userId));
  }
  gateway.directory.putUser(userId, row);
  const key = request.auto_create_key
    ? await generateKey(
        gateway,
        { user_id: userId, models: request.models ?? [], key_alias: request.key_alias, duration: request.duration },
        call.caller,
      )
    : null;
  return {
    ...userView(gateway, row, teamIds),
    key: key?.key ?? "",
    token: key?.token ?? null,
    key_alias: key?.key_alias ?? null,
    expires: key?.expires ?? null,
  };
}

/** A user's info with their keys and teams; a key holder sees only their own user. */
async function userInfo(call: RouteCall) {
  const { gateway, caller } = call;
  if (!caller) throw new GatewayError(401, "auth_error", "Authentication Error, No api key passed in.");
  const asked = call.query.get("user_id") ?? undefined;
  const isAdmin = caller.kind === "master" || caller.context.user?.user_role === "proxy_admin";
  const ownId = caller.kind === "key" ? (caller.context.key.user_id ?? undefined) : undefined;
  const userId = asked ?? ownId;
  if (!isAdmin && asked !== undefined && asked !== ownId) throw notFound(`User ${asked} not found`, "user_id");
  if (userId === undefined) {
    if (caller.kind === "key") {
      return { user_id: null, user_info: null, keys: [keyView(gateway, caller.context.key, { withToken: true })], teams: [] };
    }
    const teams = await store.listTeams(gateway.sql, undefined);
    const members = await store.teamMembers(gateway.sql, teams.map((team) => team.team_id));
    return { user_id: null, user_info: null, keys: [], teams: teams.map((team) => teamView(gateway, team, members)) };
  }
  const user = await store.findUser(gateway.sql, userId);
  const keys = await store.keysOfUser(gateway.sql, userId);
  if (!user && keys.length === 0) throw notFound(`User ${userId} not found`, "user_id");
  const teamIds = user ? await store.teamIdsOfUser(gateway.sql, userId) : [];
  const teams = (await Promise.all(teamIds.map((id) => store.findTeam(gateway.sql, id)))).filter((team) => team !== undefined);
  const members = await store.teamMembers(gateway.sql, teamIds);
  const info = user ? userView(gateway, user, teamIds) : null;
  return {
    user_id: userId,
    // Our users' guide shows budget, spend, limits and models at the top level; LiteLLM nests
    // them in user_info. Both are here, so either kind of client reads what it expects.
    max_budget: info?.max_budget ?? null,
    spend: info?.spend ?? 0,
    rpm_limit: info?.rpm_limit ?? null,
    tpm_limit: info?.tpm_limit ?? null,
    models: info?.models ?? [],
    budget_duration: info?.budget_duration ?? null,
    budget_reset_at: info?.budget_reset_at ?? null,
    user_info: info,
    keys: keys.map((key) => ({ ...keyView(gateway, key, { withToken: true }), team_alias: null })),
    teams: teams.map((team) => teamView(gateway, team, members)),
  };
}

const listQuerySchema = z.object({
  role: z.string().optional(),
  user_ids: z.string().optional(),
  user_email: z.string().optional(),
  team: z.string().optional(),
  sort_by: z.enum(["user_id", "user_email", "created_at", "spend", "user_alias", "user_role"]).optional(),
  sort_order: z.enum(["asc", "desc"]).default("asc"),
});

async function listUsers(call: RouteCall) {
  const { gateway } = call;
  const { page, size } = pageOf(call.query, "page_size", 25);
  const query = validate(listQuerySchema, Object.fromEntries(call.query));
  const { rows, total } = await store.listUsers(gateway.sql, {
    role: query.role,
    userIds: query.user_ids?.split(",").map((id) => id.trim()).filter((id) => id !== ""),
    userEmail: query.user_email,
    team: query.team,
    sortBy: query.sort_by,
    sortOrder: query.sort_order,
    limit: size,
    offset: (page - 1) * size,
  });
  const users = await Promise.all(
    rows.map(async (row) => ({ ...userView(gateway, row, await store.teamIdsOfUser(gateway.sql, row.user_id)), key_count: row.key_count })),
  );
  return { users, total, page, page_size: size, total_pages: Math.ceil(total / size) };
}

async function updateUser(call: RouteCall) {
  const { gateway } = call;
  const body = await call.json();
  checkBudget(body);
  const request = validate(updateUserSchema, body);
  const existing = request.user_id
    ? await store.findUser(gateway.sql, request.user_id)
    : await store.findUserByEmail(gateway.sql, request.user_email ?? "");
  if (!existing) throw notFound(`User not found, passed user_id=${request.user_id ?? request.user_email ?? ""}`, "user_id");
  const now = new Date();
  const changes: store.Columns = {};
  if (request.user_email !== undefined) changes.user_email = request.user_email;
  if (request.user_alias !== undefined) changes.user_alias = request.user_alias;
  if (request.user_role !== undefined) changes.user_role = request.user_role;
  if (request.max_budget !== undefined) changes.max_budget = request.max_budget;
  if (request.budget_duration !== undefined) {
    changes.budget_duration = request.budget_duration;
    changes.budget_reset_at = budgetResetAt(request.budget_duration, now);
  }
  if (request.models !== undefined) changes.models = request.models;
  if (request.tpm_limit !== undefined) changes.tpm_limit = request.tpm_limit;
  if (request.rpm_limit !== undefined) changes.rpm_limit = request.rpm_limit;
  if (request.max_parallel_requests !== undefined) changes.max_parallel_requests = request.max_parallel_requests;
  if (request.metadata !== undefined) changes.metadata = gateway.sql.json(toJson(request.metadata));
  let row: UserRow | undefined;
  try {
    row = await store.updateUser(gateway.sql, existing.user_id, changes);
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict(`User with email ${request.user_email ?? ""} already exists`, "user_email");
    throw err;
  }
  if (!row) throw notFound(`User not found, passed user_id=${existing.user_id}`, "user_id");
  gateway.directory.putUser(row.user_id, row);
  if (request.spend !== undefined) {
    gateway.directory.setSpend(gateway.directory.account("user", row.user_id, row), dollarsToNanos(request.spend));
  }
  const teams = await store.teamIdsOfUser(gateway.sql, row.user_id);
  return { user_id: row.user_id, data: userView(gateway, row, teams), updated_by: callerName(call.caller) };
}

async function deleteUsers(call: RouteCall) {
  const { gateway } = call;
  const request = validate(deleteUsersSchema, await call.json());
  const { users, keyTokens } = await store.deleteUsers(gateway.sql, request.user_ids);
  if (users.length === 0) throw notFound(`User not found, passed user_id=${request.user_ids.join(",")}`, "user_ids");
  for (const token of keyTokens) gateway.directory.forgetKey(token);
  for (const user of users) gateway.directory.forgetUser(user.user_id);
  // LiteLLM answers with the number of users deleted, as a bare JSON number.
  return users.length;
}

export const userRoutes: Record<string, Route> = {
  "/user/new": { method: "POST", access: "admin", public: false, handle: async (call) => ok(await newUser(call)) },
  "/user/info": { method: "GET", access: "key", public: true, handle: async (call) => ok(await userInfo(call)) },
  "/user/list": { method: "GET", access: "admin", public: false, handle: async (call) => ok(await listUsers(call)) },
  "/user/update": { method: "POST", access: "admin", public: false, handle: async (call) => ok(await updateUser(call)) },
  "/user/delete": { method: "POST", access: "admin", public: false, handle: async (call) => ok(await deleteUsers(call)) },
};
