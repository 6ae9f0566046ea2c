import { randomUUID } from "node:crypto";
import { z } from "zod";
import { budgetResetAt } from "../budget";
import type { Gateway } from "../context";
import { GatewayError, badRequest, notFound } from "../errors";
import { validate } from "../http";
import { ok, type Route, type RouteCall } from "../routes";
import type { TeamRow } from "../rows";
import * as store from "../store";
import { keyView, membershipView, teamView, userView } from "../views";
import { checkBudget, dollars, duration, isUniqueViolation, limit, metadata, modelList, nullableString } from "./common";
import { toJson } from "./keys";
import { ensureUser } from "./users";

/** /team/* — teams, whose budget, limits and model list apply to every key in them. */

const memberSchema = z
  .object({
    role: z.enum(["admin", "user"]).default("user"),
    user_id: z.string().min(1).optional(),
    user_email: z.string().min(1).optional(),
  })
  .refine((member) => member.user_id !== undefined || member.user_email !== undefined, {
    message: "each member needs a user_id or a user_email",
  });

const teamFields = {
  team_alias: nullableString,
  metadata,
  tpm_limit: limit,
  rpm_limit: limit,
  max_parallel_requests: limit,
  max_budget: dollars,
  budget_duration: duration,
  models: modelList,
  blocked: z.boolean().optional(),
};

const newTeamSchema = z.looseObject({
  team_id: z.string().min(1).optional(),
  members_with_roles: z.array(memberSchema).optional(),
  ...teamFields,
});
const updateTeamSchema = z.looseObject({ team_id: z.string().min(1), ...teamFields });
const memberAddSchema = z.object({
  team_id: z.string().min(1),
  member: z.union([memberSchema, z.array(memberSchema).min(1)]),
  max_budget_in_team: z.number().min(0).nullable().optional(),
});
const memberDeleteSchema = z
  .object({ team_id: z.string().min(1), user_id: z.string().min(1).optional(), user_email: z.string().min(1).optional() })
  .refine((body) => body.user_id !== undefined || body.user_email !== undefined, {
    message: "give user_id or user_email",
  });

async function teamOrNotFound(gateway: Gateway, teamId: string): Promise<TeamRow> {
  const team = await store.findTeam(gateway.sql, teamId);
  if (!team) throw notFound(`Team not found, passed team_id=${teamId}`, "team_id");
  return team;
}

async function fullTeamView(gateway: Gateway, team: TeamRow) {
  return teamView(gateway, team, await store.teamMembers(gateway.sql, [team.team_id]));
}

async function newTeam(call: RouteCall) {
  const { gateway } = call;
  const body = await call.json();
  checkBudget(body);
  const request = validate(newTeamSchema, body);
  const teamId = request.team_id ?? randomUUID();
  const duplicate = () =>
    badRequest(`Team id = ${teamId} already exists. Please use a different team id.`, "team_id");
  if (await store.findTeam(gateway.sql, teamId)) throw duplicate();
  let team: TeamRow;
  try {
    team = await store.insertTeam(gateway.sql, {
      team_id: teamId,
      team_alias: request.team_alias ?? null,
      models: request.models ?? [],
      max_budget: request.max_budget ?? null,
      budget_duration: request.budget_duration ?? null,
      budget_reset_at: budgetResetAt(request.budget_duration, new Date()),
      tpm_limit: request.tpm_limit ?? null,
      rpm_limit: request.rpm_limit ?? null,
      max_parallel_requests: request.max_parallel_requests ?? null,
      blocked: request.blocked ?? false,
      metadata: gateway.sql.json(toJson(request.metadata ?? {})),
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw duplicate();
    throw err;
  }
  for (const member of request.members_with_roles ?? []) {
    const user = await ensureUser(gateway, member.user_id, member.user_email);
    await store.upsertMember(gateway.sql, { teamId, userId: user.user_id, role: member.role, maxBudgetInTeam: null });
    gateway.directory.putMember(teamId, user.user_id, await store.findMember(gateway.sql, teamId, user.user_id));
  }
  gateway.directory.putTeam(teamId, team);
  return fullTeamView(gateway, team);
}

async function updateTeam(call: RouteCall) {
  const { gateway } = call;
  const body = await call.json();
  checkBudget(body);
  const request = validate(updateTeamSchema, body);
  await teamOrNotFound(gateway, request.team_id);
  const changes: store.Columns = {};
  if (request.team_alias !== undefined) changes.team_alias = request.team_alias;
  if (request.metadata !== undefined) changes.metadata = gateway.sql.json(toJson(request.metadata));
  if (request.tpm_limit !== undefined) changes.tpm_limit = request.tpm_limit;
  if (request.rpm_limit !== undefined) changes.rpm_limit = request.rpm_limit;
  if (request.max_parallel_requests !== undefined) changes.max_parallel_requests = request.max_parallel_requests;
  if (request.max_budget !== undefined) changes.max_budget = request.max_budget;
  if (request.budget_duration !== undefined) {
    changes.budget_duration = request.budget_duration;
    changes.budget_reset_at = budgetResetAt(request.budget_duration, new Date());
  }
  if (request.models !== undefined) changes.models = request.models;
  if (request.blocked !== undefined) changes.blocked = request.blocked;
  const team = await store.updateTeam(gateway.sql, request.team_id, changes);
  if (!team) throw notFound(`Team not found, passed team_id=${request.team_id}`, "team_id");
  gateway.directory.putTeam(team.team_id, team);
  return { team_id: team.team_id, data: await fullTeamView(gateway, team) };
}

async function teamInfo(call: RouteCall) {
  const { gateway, caller } = call;
  const teamId = call.query.get("team_id");
  if (!teamId) throw badRequest("team_id is required", "team_id");
  if (!caller) throw new GatewayError(401, "auth_error", "Authentication Error, No api key passed in.");
  const team = await teamOrNotFound(gateway, teamId);
  const members = await store.teamMembers(gateway.sql, [teamId]);
  if (caller.kind === "key" && caller.context.user?.user_role !== "proxy_admin") {
    const { key } = caller.context;
    const isMember = key.team_id === teamId || members.some((member) => member.user_id === key.user_id);
    if (!isMember) throw notFound(`Team not found, passed team_id=${teamId}`, "team_id");
  }
  const keys = await store.keysOfTeam(gateway.sql, teamId);
  return {
    team_id: teamId,
    team_info: { ...teamView(gateway, team, members), team_member_budget_table: null },
    keys: keys.map((key) => keyView(gateway, key)),
    team_memberships: members.map((member) => membershipView(gateway, member)),
  };
}

async function listTeams(call: RouteCall) {
  const { gateway } = call;
  const userId = call.query.get("user_id") ?? undefined;
  const teams = await store.listTeams(gateway.sql, userId);
  const members = await store.teamMembers(gateway.sql, teams.map((team) => team.team_id));
  return teams.map((team) => teamView(gateway, team, members));
}

async function addMembers(call: RouteCall) {
  const { gateway } = call;
  const request = validate(memberAddSchema, await call.json());
  const team = await teamOrNotFound(gateway, request.team_id);
  const wanted = Array.isArray(request.member) ? request.member : [request.member];
  const existing = await store.teamMembers(gateway.sql, [team.team_id]);
  const updatedUsers = [];
  for (const member of wanted) {
    const user = await ensureUser(gateway, member.user_id, member.user_email);
    if (existing.some((row) => row.user_id === user.user_id)) {
      throw new GatewayError(
        400,
        "team_member_already_in_team",
        `User ${user.user_id} is already a member of team ${team.team_id}`,
        "member",
      );
    }
    await store.upsertMember(gateway.sql, {
      teamId: team.team_id,
      userId: user.user_id,
      role: member.role,
      maxBudgetInTeam: request.max_budget_in_team ?? null,
    });
    gateway.directory.putMember(team.team_id, user.user_id, await store.findMember(gateway.sql, team.team_id, user.user_id));
    updatedUsers.push(userView(gateway, user, await store.teamIdsOfUser(gateway.sql, user.user_id)));
  }
  const members = await store.teamMembers(gateway.sql, [team.team_id]);
  const addedIds = new Set(updatedUsers.map((user) => user.user_id));
  return {
    ...teamView(gateway, team, members),
    updated_users: updatedUsers,
    updated_team_memberships: members
      .filter((member) => addedIds.has(member.user_id))
      .map((member) => membershipView(gateway, member)),
  };
}

async function deleteMember(call: RouteCall) {
  const { gateway } = call;
  const request = validate(memberDeleteSchema, await call.json());
  const team = await teamOrNotFound(gateway, request.team_id);
  const userId =
    request.user_id ?? (await store.findUserByEmail(gateway.sql, request.user_email ?? ""))?.user_id ?? undefined;
  const removed = userId !== undefined && (await store.deleteMember(gateway.sql, team.team_id, userId));
  if (!removed) throw notFound(`User is not a member of team ${team.team_id}`, "user_id");
  gateway.directory.putMember(team.team_id, userId, undefined);
  return fullTeamView(gateway, team);
}

export const teamRoutes: Record<string, Route> = {
  "/team/new": { method: "POST", access: "admin", public: false, handle: async (call) => ok(await newTeam(call)) },
  "/team/update": { method: "POST", access: "admin", public: false, handle: async (call) => ok(await updateTeam(call)) },
  "/team/info": { method: "GET", access: "key", public: false, handle: async (call) => ok(await teamInfo(call)) },
  "/team/list": { method: "GET", access: "admin", public: false, handle: async (call) => ok(await listTeams(call)) },
  "/team/member_add": { method: "POST", access: "admin", public: false, handle: async (call) => ok(await addMembers(call)) },
  "/team/member_delete": { method: "POST", access: "admin", public: false, handle: async (call) => ok(await deleteMember(call)) },
};
