import { describe, expect, it } from "vitest";
import { masterKey } from "./support/gateway";
import { withGateway } from "./support/harness";

const h = withGateway();

const adminRoutes: [string, "GET" | "POST"][] = [
  ["/key/generate", "POST"],
  ["/key/update", "POST"],
  ["/key/delete", "POST"],
  ["/key/block", "POST"],
  ["/key/unblock", "POST"],
  ["/user/new", "POST"],
  ["/user/list", "GET"],
  ["/user/update", "POST"],
  ["/user/delete", "POST"],
  ["/team/new", "POST"],
  ["/team/update", "POST"],
  ["/team/list", "GET"],
  ["/team/member_add", "POST"],
  ["/team/member_delete", "POST"],
  ["/spend/logs", "GET"],
  ["/global/spend", "GET"],
];

async function adminCall(path: string, method: string, authorization?: string, extraHeaders: Record<string, string> = {}) {
  const headers: Record<string, string> = { "content-type": "application/json", ...extraHeaders };
  if (authorization) headers.authorization = authorization;
  const res = await fetch(`${h.gateway.adminUrl}${path}`, { method, headers, body: method === "POST" ? "{}" : undefined });
  return { status: res.status, body: (await res.json()) as { error?: { type: string; message: string } } };
}

describe("the admin listener requires the master key", () => {
  it.each(adminRoutes)("%s without a key is 401", async (path, method) => {
    const res = await adminCall(path, method);
    expect(res.status).toBe(401);
    expect(res.body.error?.type).toBe("auth_error");
  });

  it.each(adminRoutes)("%s with a virtual key is 401, in LiteLLM's words", async (path, method) => {
    const { key } = await h.newKey({ user_id: "ordinary-user" });
    const res = await adminCall(path, method, `Bearer ${key}`);
    expect(res.status).toBe(401);
    expect(res.body.error?.message).toContain("Only proxy admin can be used to generate, delete, update info for new keys/users/teams.");
  });

  it("the master key is also accepted in x-litellm-api-key", async () => {
    const res = await adminCall("/team/list", "GET", undefined, { "x-litellm-api-key": masterKey });
    expect(res.status).toBe(200);
  });

  it("a wrong master key is refused without being echoed", async () => {
    const res = await adminCall("/team/list", "GET", "Bearer sk-test-master-wrong-000");
    expect(res.status).toBe(401);
    expect(JSON.stringify(res.body)).not.toContain("sk-test-master-wrong-000");
  });
});

describe("the public listener serves no admin route", () => {
  it.each(adminRoutes)("%s is 404 on the public port even with the master key", async (path, method) => {
    const res = await fetch(`${h.gateway.publicUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${masterKey}`, "content-type": "application/json" },
      body: method === "POST" ? "{}" : undefined,
    });
    expect(res.status).toBe(404);
  });
});

describe("a key holder sees only their own key and user", () => {
  it("another user's key looks like a missing one", async () => {
    const mine = await h.newKey({ user_id: "owner-a" });
    const theirs = await h.newKey({ user_id: "owner-b" });
    const res = await h.call(`/key/info?key=${theirs.token}`, { key: mine.key });
    expect(res.status).toBe(404);
  });

  it("another user's info looks like a missing user", async () => {
    await h.admin("/user/new", { user_id: "info-a", auto_create_key: false });
    await h.admin("/user/new", { user_id: "info-b", auto_create_key: false });
    const { key } = await h.newKey({ user_id: "info-a" });
    const res = await h.call("/user/info?user_id=info-b", { key });
    expect(res.status).toBe(404);
  });

  it("two keys without a user cannot read each other", async () => {
    const first = await h.newKey();
    const second = await h.newKey();
    expect((await h.call(`/key/info?key=${second.token}`, { key: first.key })).status).toBe(404);
  });
});
