import { createHash, randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { chatBody, withGateway } from "./support/harness";

const h = withGateway();

const sha256 = (value: string) => createHash("sha256").update(value).digest("hex");
const unique = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;

interface KeyResponse {
  key: string;
  token: string;
  token_id: string;
  key_name: string;
  key_alias: string | null;
  max_budget: number | null;
  budget_duration: string | null;
  budget_reset_at: string | null;
  rpm_limit: number | null;
  tpm_limit: number | null;
  models: string[];
  metadata: Record<string, unknown>;
  user_id: string | null;
  team_id: string | null;
  blocked: boolean | null;
  expires: string | null;
  spend: number;
}

describe("/key/*", () => {
  it("generates an sk- key, stores only its SHA-256, and answers with LiteLLM's fields", async () => {
    const alias = unique("alias");
    const res = await h.admin("/key/generate", {
      key_alias: alias,
      max_budget: 10,
      budget_duration: "monthly",
      rpm_limit: 100,
      tpm_limit: 10_000,
      models: ["gpt-test"],
      metadata: { purpose: "tests" },
      user_id: "key-owner",
    });
    expect(res.status).toBe(200);
    const key = res.body as KeyResponse;
    expect(key.key).toMatch(/^sk-[A-Za-z0-9_-]{22}$/);
    expect(key.token).toBe(sha256(key.key));
    expect(key.token_id).toBe(key.token);
    expect(key.key_name).toBe(`sk-...${key.key.slice(-4)}`);
    expect(key).toMatchObject({
      key_alias: alias,
      max_budget: 10,
      budget_duration: "monthly",
      rpm_limit: 100,
      tpm_limit: 10_000,
      models: ["gpt-test"],
      metadata: { purpose: "tests" },
      user_id: "key-owner",
      spend: 0,
    });
    const reset = new Date(key.budget_reset_at ?? "");
    expect(reset.getUTCDate()).toBe(1);
    expect(reset.getUTCHours()).toBe(0);
    const stored = await h.postgres.db.query<{ token: string }>(`select token from gateway.keys where key_alias = $1`, [alias]);
    expect(stored.rows[0]?.token).toBe(key.token);
    const anywhere = await h.postgres.db.query(`select 1 from gateway.keys where token = $1 or key_name = $1`, [key.key]);
    expect(anywhere.rows).toHaveLength(0);
  });

  it("accepts the caller's own secret, which then works on the public API", async () => {
    const secret = `sk-${randomUUID()}`;
    const res = await h.admin("/key/generate", { key: secret });
    expect(res.status).toBe(200);
    expect((res.body as KeyResponse).key).toBe(secret);
    expect((await h.call("/v1/chat/completions", { key: secret, body: chatBody("mock-model") })).status).toBe(200);
  });

  it("refuses a caller-supplied secret that does not start with sk-", async () => {
    const res = await h.admin("/key/generate", { key: "abcd-not-a-key-wxyz" });
    expect(res.status).toBe(400);
    expect((res.body as { error: { message: string } }).error.message).toBe(
      "Invalid key format. LiteLLM Virtual Key must start with 'sk-'. Received: abcd****wxyz",
    );
  });

  it("refuses a second key with the same alias", async () => {
    const alias = unique("dup");
    await h.newKey({ key_alias: alias });
    const res = await h.admin("/key/generate", { key_alias: alias });
    expect(res.status).toBe(400);
    expect((res.body as { error: { message: string; param: string } }).error).toMatchObject({
      message: `Key with alias '${alias}' already exists. Unique key aliases across all keys are required.`,
      param: "key_alias",
    });
  });

  it("/key/update changes only the fields given, by raw key or by hash", async () => {
    const { key, token } = await h.newKey({ rpm_limit: 5, metadata: { a: 1 } });
    const byRaw = await h.admin("/key/update", { key, max_budget: 2 });
    expect(byRaw.status).toBe(200);
    const byHash = await h.admin("/key/update", { key: token, tpm_limit: 50 });
    expect(byHash.body).toMatchObject({ key: token, token, rpm_limit: 5, max_budget: 2, tpm_limit: 50, metadata: { a: 1 } });
  });

  it("/key/info answers for any key to the admin, and 404 in the envelope for an unknown one", async () => {
    const { key, token } = await h.newKey({ key_alias: unique("info") });
    const byHash = await h.admin(`/key/info?key=${token}`);
    expect(byHash.status).toBe(200);
    expect(byHash.body).toMatchObject({ key: token, info: { key_name: `sk-...${key.slice(-4)}` } });
    const missing = await h.admin(`/key/info?key=sk-does-not-exist`);
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ error: { message: "Key not found in database", type: "not_found_error", param: "key", code: "404" } });
  });

  it("/key/list pages through keys, filtered by user, as hashes or full objects", async () => {
    const owner = unique("lister");
    const tokens = [];
    for (let index = 0; index < 3; index += 1) tokens.push((await h.newKey({ user_id: owner })).token);
    const page = await h.admin(`/key/list?user_id=${owner}&size=2&page=1`);
    expect(page.body).toMatchObject({ total_count: 3, current_page: 1, total_pages: 2 });
    const pageBody = page.body as { keys: string[] };
    expect(pageBody.keys).toHaveLength(2);
    expect(tokens).toEqual(expect.arrayContaining(pageBody.keys));
    const full = await h.admin(`/key/list?user_id=${owner}&return_full_object=true&size=10`);
    const fullKeys = (full.body as { keys: { token: string; user_id: string }[] }).keys;
    expect(fullKeys.map((key) => key.token).sort()).toEqual([...tokens].sort());
  });

  it("/key/delete accepts keys by raw secret, by hash, or by alias", async () => {
    const alias = unique("gone");
    const first = await h.newKey();
    const second = await h.newKey();
    await h.newKey({ key_alias: alias });
    const res = await h.admin("/key/delete", { keys: [first.key, second.token], key_aliases: [alias] });
    expect(res.body).toEqual({ deleted_keys: [first.key, second.token, alias] });
    expect((await h.admin(`/key/info?key=${second.token}`)).status).toBe(404);
    expect((await h.admin("/key/delete", { keys: [first.key] })).status).toBe(404);
  });
});

describe("/user/*", () => {
  it("/user/new creates the user and a key for it; /user/info shows budget, spend, keys and teams", async () => {
    const userId = unique("user");
    const res = await h.admin("/user/new", { user_id: userId, user_email: `${userId}@example.test`, max_budget: 20, rpm_limit: 50, models: ["gpt-test"] });
    expect(res.status).toBe(200);
    const created = res.body as { key: string; user_id: string; max_budget: number; models: string[] };
    expect(created).toMatchObject({ user_id: userId, max_budget: 20, models: ["gpt-test"] });
    expect(created.key).toMatch(/^sk-/);
    await h.client(created.key).chat.completions.create(chatBody());
    // The caller's own /user/info, as our users' guide shows it: budget and spend at the top.
    const own = await h.call("/user/info", { key: created.key });
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ user_id: userId, max_budget: 20, rpm_limit: 50, models: ["gpt-test"], user_info: { user_id: userId } });
    expect((own.body as { spend: number }).spend).toBeGreaterThan(0);
    expect((own.body as { keys: unknown[] }).keys).toHaveLength(1);
  });

  it("/user/new refuses a duplicate user id with 409", async () => {
    const userId = unique("dup-user");
    await h.admin("/user/new", { user_id: userId, auto_create_key: false });
    const again = await h.admin("/user/new", { user_id: userId });
    expect(again.status).toBe(409);
    expect((again.body as { error: { message: string } }).error.message).toBe(`User with id ${userId} already exists`);
  });

  it("/user/update changes the budget and the next request sees it", async () => {
    const userId = unique("upd-user");
    const created = (await h.admin("/user/new", { user_id: userId, max_budget: 0 })).body as { key: string };
    expect((await h.call("/v1/chat/completions", { key: created.key, body: chatBody() })).status).toBe(402);
    const updated = await h.admin("/user/update", { user_id: userId, max_budget: 5 });
    expect(updated.body).toMatchObject({ user_id: userId, data: { max_budget: 5 } });
    expect((await h.call("/v1/chat/completions", { key: created.key, body: chatBody() })).status).toBe(200);
  });

  it("/user/list pages users with their key counts", async () => {
    const userId = unique("listed");
    await h.admin("/user/new", { user_id: userId });
    const res = await h.admin(`/user/list?user_ids=${userId}`);
    expect(res.body).toMatchObject({ total: 1, page: 1, page_size: 25, users: [{ user_id: userId, key_count: 1 }] });
  });

  it("/user/delete removes the user and revokes their keys", async () => {
    const userId = unique("deleted");
    const created = (await h.admin("/user/new", { user_id: userId })).body as { key: string };
    expect((await h.call("/v1/chat/completions", { key: created.key, body: chatBody() })).status).toBe(200);
    const res = await h.admin("/user/delete", { user_ids: [userId] });
    expect(res).toMatchObject({ status: 200, body: 1 });
    expect((await h.call("/v1/chat/completions", { key: created.key, body: chatBody() })).status).toBe(401);
    expect((await h.admin(`/user/info?user_id=${userId}`)).status).toBe(404);
  });
});

describe("/team/*", () => {
  it("creates a team with members, adds and removes members, and shows keys and memberships", async () => {
    const admin = unique("team-admin");
    const res = await h.admin("/team/new", {
      team_alias: "Coding",
      max_budget: 20,
      rpm_limit: 50,
      models: ["gpt-test"],
      members_with_roles: [{ role: "admin", user_id: admin }],
    });
    expect(res.status).toBe(200);
    const team = res.body as { team_id: string; members_with_roles: { role: string; user_id: string }[] };
    expect(team).toMatchObject({ team_alias: "Coding", max_budget: 20, rpm_limit: 50, models: ["gpt-test"], spend: 0, blocked: false });
    expect(team.members_with_roles).toEqual([{ role: "admin", user_id: admin, user_email: null }]);

    const member = unique("member");
    const added = await h.admin("/team/member_add", { team_id: team.team_id, member: { role: "user", user_id: member } });
    expect(added.status).toBe(200);
    expect((added.body as { members: string[] }).members.sort()).toEqual([admin, member].sort());
    const again = await h.admin("/team/member_add", { team_id: team.team_id, member: { role: "user", user_id: member } });
    expect((again.body as { error: { type: string } }).error.type).toBe("team_member_already_in_team");

    const { token } = await h.newKey({ team_id: team.team_id, user_id: member });
    const info = await h.admin(`/team/info?team_id=${team.team_id}`);
    const infoBody = info.body as { team_info: { team_alias: string }; keys: { key_name: string }[]; team_memberships: { user_id: string }[] };
    expect(infoBody.team_info.team_alias).toBe("Coding");
    expect(infoBody.keys).toHaveLength(1);
    expect(infoBody.team_memberships.map((row) => row.user_id).sort()).toEqual([admin, member].sort());
    expect(JSON.stringify(infoBody)).not.toContain(token);

    const removed = await h.admin("/team/member_delete", { team_id: team.team_id, user_id: member });
    expect((removed.body as { members: string[] }).members).toEqual([admin]);

    const updated = await h.admin("/team/update", { team_id: team.team_id, max_budget: 30 });
    expect(updated.body).toMatchObject({ team_id: team.team_id, data: { max_budget: 30 } });
    const list = await h.admin("/team/list");
    expect((list.body as { team_id: string }[]).some((row) => row.team_id === team.team_id)).toBe(true);
  });

  it("refuses a duplicate team id", async () => {
    const teamId = unique("team");
    await h.admin("/team/new", { team_id: teamId });
    const again = await h.admin("/team/new", { team_id: teamId });
    expect(again.status).toBe(400);
    expect((again.body as { error: { message: string } }).error.message).toBe(
      `Team id = ${teamId} already exists. Please use a different team id.`,
    );
  });
});

describe("/model/info", () => {
  it("lists deployments with prices and never the upstream's API key", async () => {
    const res = await h.admin("/model/info");
    const text = JSON.stringify(res.body);
    expect(text).not.toContain("upstream-secret-key");
    const entry = (res.body as { data: { model_name: string; model_info: { input_cost_per_token: number; mode: string } }[] }).data.find(
      (row) => row.model_name === "gpt-test",
    );
    expect(entry?.model_info).toMatchObject({ input_cost_per_token: 0.000001, mode: "chat" });
  });
});
