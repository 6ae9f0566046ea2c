import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appRoutes, post } from "../support/app";
import { databaseUrl, describeWithDatabase, uniqueEmail } from "../support/db";
import { freePort, masterKey, startGateway, type RunningGateway } from "../gateway/support/gateway";
import { mockGatewayConfig } from "../support/gateway-config";

type Routes = Awaited<ReturnType<typeof appRoutes>> & {
  manage: typeof import("../../app/api/keys/manage/route");
  sync: typeof import("../../app/api/admin/sync/route");
  users: typeof import("../../app/api/admin/users/route");
  credits: typeof import("../../app/api/admin/users/credits/route");
};

function request(method: string, path: string, cookie: string, body?: unknown): Request {
  return new Request(`http://localhost:3000${path}`, {
    method,
    headers: { cookie, "content-type": "application/json" },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
}

describeWithDatabase("admin APIs: sync failures, users and credit adjustments", (db) => {
  let gateway: RunningGateway | undefined;
  let ports: { public: number; admin: number };
  let routes: Routes;
  let admin: { cookie: string; userId: string };

  beforeAll(async () => {
    ports = { public: await freePort(), admin: await freePort() };
    gateway = await startGateway({ config: mockGatewayConfig, databaseUrl, ports });
    process.env.LITELLM_BASE_URL = gateway.adminUrl;
    process.env.LITELLM_MASTER_KEY = masterKey;
    const base = await appRoutes();
    routes = {
      ...base,
      manage: await import("../../app/api/keys/manage/route"),
      sync: await import("../../app/api/admin/sync/route"),
      users: await import("../../app/api/admin/users/route"),
      credits: await import("../../app/api/admin/users/credits/route"),
    };
    // ADMIN_EMAILS (test/support/app.ts) makes this address an admin at signup; it may exist from another file.
    await signUp("boss-admin@example.test");
    const login = await routes.login(post("/api/auth/login", { email: "boss-admin@example.test", password: "correct horse" }));
    const cookie = (login.headers.getSetCookie()[0] ?? "").split(";")[0] ?? "";
    admin = { cookie, userId: (await login.json()).user.id };
  });
  afterAll(async () => {
    await gateway?.stop();
  });

  async function signUp(email = uniqueEmail("admin-test")): Promise<{ cookie: string; userId: string }> {
    const response = await routes.signup(post("/api/auth/signup", { email, password: "correct horse" }));
    const cookie = (response.headers.getSetCookie()[0] ?? "").split(";")[0] ?? "";
    const body = await response.json();
    return { cookie, userId: body.user?.id };
  }

  describe("security", () => {
    it("every admin route answers 401 without a session and 403 to a user who is not an admin", async () => {
      const user = await signUp();
      const calls = (cookie: string) => [
        routes.sync.GET(request("GET", "/api/admin/sync", cookie)),
        routes.sync.POST(request("POST", "/api/admin/sync", cookie, { all: true })),
        routes.users.GET(request("GET", "/api/admin/users", cookie)),
        routes.credits.POST(request("POST", "/api/admin/users/credits", cookie, { user_id: user.userId, amount: 1000, reason: "free money" })),
      ];
      expect((await Promise.all(calls(""))).map((r) => r.status)).toEqual([401, 401, 401, 401]);
      expect((await Promise.all(calls(user.cookie))).map((r) => r.status)).toEqual([403, 403, 403, 403]);
      const [row] = await db()`select count(*)::int as n from public.credit_transactions where user_id = ${user.userId}`;
      expect(row?.n).toBe(1);
    });
  });

  describe("credit adjustments", () => {
    it("an adjustment is one ledger entry with the reason, a unique reference and the admin who made it", async () => {
      const user = await signUp();
      const response = await routes.credits.POST(request("POST", "/api/admin/users/credits", admin.cookie, { user_id: user.userId, amount: 250, reason: "Refund for outage" }));
      expect(response.status).toBe(201);
      expect(await response.json()).toMatchObject({ user_id: user.userId, amount: 250, balance: 750, reference: expect.stringMatching(/^adjustment:/) });
      const rows = await db()`select amount, kind, description, created_by from public.credit_transactions where user_id = ${user.userId} and kind = 'adjustment'`;
      expect(rows).toEqual([{ amount: 250, kind: "adjustment", description: "Refund for outage", created_by: admin.userId }]);
      const [budget] = await db()`select sync_status from public.gateway_users where user_id = ${user.userId}`;
      expect(budget?.sync_status).toBeDefined();
    });

    it("a repeated adjustment with the same idempotency key is recorded once", async () => {
      const user = await signUp();
      const body = { user_id: user.userId, amount: -100, reason: "Duplicate grant", idempotency_key: `retry-${user.userId}` };
      const first = await routes.credits.POST(request("POST", "/api/admin/users/credits", admin.cookie, body));
      const second = await routes.credits.POST(request("POST", "/api/admin/users/credits", admin.cookie, body));
      expect([first.status, second.status]).toEqual([201, 200]);
      const [row] = await db()`select sum(amount)::int as balance from public.credit_transactions where user_id = ${user.userId}`;
      expect(row?.balance).toBe(400);
    });

    it("a debit below zero and an unknown user are refused, and nothing is written", async () => {
      const user = await signUp();
      const tooMuch = await routes.credits.POST(request("POST", "/api/admin/users/credits", admin.cookie, { user_id: user.userId, amount: -501, reason: "too much" }));
      expect(tooMuch.status).toBe(400);
      expect((await tooMuch.json()).error).toMatchObject({ field: "amount" });
      const unknown = await routes.credits.POST(
        request("POST", "/api/admin/users/credits", admin.cookie, { user_id: "00000000-0000-4000-8000-000000000000", amount: 5, reason: "ghost" }),
      );
      expect(unknown.status).toBe(404);
      const [row] = await db()`select count(*)::int as n from public.credit_transactions where user_id = ${user.userId}`;
      expect(row?.n).toBe(1);
    });

    const bad: [string, unknown, string][] = [
      ["a zero amount", { amount: 0, reason: "nothing" }, "amount"],
      ["a fractional amount", { amount: 1.5, reason: "half" }, "amount"],
      ["a non-numeric amount", { amount: "100", reason: "text" }, "amount"],
      ["a huge amount", { amount: 1e12, reason: "huge" }, "amount"],
      ["an empty reason", { amount: 5, reason: "  " }, "reason"],
      ["a missing user", { amount: 5, reason: "who" }, "user_id"],
    ];
    it.each(bad)("%s is refused with a 400 naming %s", async (_name, body, field) => {
      const user = await signUp();
      const payload = field === "user_id" ? body : { user_id: user.userId, ...(body as object) };
      const response = await routes.credits.POST(request("POST", "/api/admin/users/credits", admin.cookie, payload));
      expect(response.status).toBe(400);
      expect((await response.json()).error.field).toBe(field);
    });
  });

  it("lists users with credits, spend and keys, and finds them by email", async () => {
    const email = uniqueEmail("findme");
    await signUp(email);
    const response = await routes.users.GET(request("GET", `/api/admin/users?q=${encodeURIComponent(email.slice(0, 14))}`, admin.cookie));
    expect(response.status).toBe(200);
    const { users } = await response.json();
    expect(users).toEqual([expect.objectContaining({ email, credits: 500, spend: 0, keys: 0 })]);
    const badLimit = await routes.users.GET(request("GET", "/api/admin/users?limit=lots", admin.cookie));
    expect(badLimit.status).toBe(400);
    expect((await badLimit.json()).error.field).toBe("limit");
  });

  it("a key edited while the gateway is down shows as failed with its error, and a retry after the gateway returns syncs it", async () => {
    const user = await signUp();
    const created = await (await routes.manage.POST(request("POST", "/api/keys/manage", user.cookie, { alias: "ops" }))).json();
    await gateway?.stop();
    gateway = undefined;

    const edit = await routes.manage.PATCH(request("PATCH", "/api/keys/manage", user.cookie, { id: created.id, rpm_limit: 42 }));
    expect(edit.status).toBe(202);
    // Two operator retries while the gateway is still down: the third failed attempt marks it failed.
    for (let i = 0; i < 2; i++) {
      const retry = await routes.sync.POST(request("POST", "/api/admin/sync", admin.cookie, { kind: "key", id: created.id }));
      expect((await retry.json()).failed).toBe(1);
    }
    const listed = await (await routes.sync.GET(request("GET", "/api/admin/sync", admin.cookie))).json();
    const problem = listed.problems.find((entry: { id: string }) => entry.id === created.id);
    expect(problem).toMatchObject({ kind: "key", email: expect.stringContaining("admin-test"), sync_status: "failed", attempts: 3, desired: { rpm_limit: 42 } });
    expect(problem.last_error).toBeTruthy();
    expect(problem.confirmed.version).toBeLessThan(problem.desired.version);

    gateway = await startGateway({ config: mockGatewayConfig, databaseUrl, ports });
    const retry = await routes.sync.POST(request("POST", "/api/admin/sync", admin.cookie, { kind: "key", id: created.id }));
    expect(await retry.json()).toMatchObject({ synced: 1, failed: 0 });
    const [row] = await db()`select sync_status, sync_attempts from public.virtual_keys where id = ${created.id}`;
    expect(row).toEqual({ sync_status: "synced", sync_attempts: 0 });
    const after = await (await routes.sync.GET(request("GET", "/api/admin/sync", admin.cookie))).json();
    expect(after.problems.some((entry: { id: string }) => entry.id === created.id)).toBe(false);
  });

  it("a retry names an unknown row with 404 and a malformed one with 400", async () => {
    const missing = await routes.sync.POST(request("POST", "/api/admin/sync", admin.cookie, { kind: "key", id: "00000000-0000-4000-8000-000000000000" }));
    expect(missing.status).toBe(404);
    const malformed = await routes.sync.POST(request("POST", "/api/admin/sync", admin.cookie, { kind: "team", id: "x" }));
    expect(malformed.status).toBe(400);
    // Every wrong body names what is wrong, not just "Invalid input".
    const uuid = "00000000-0000-4000-8000-000000000000";
    const cases: [unknown, string, RegExp][] = [
      [{}, "kind", /key or user.*"all": true/],
      [{ all: false }, "all", /must be true/],
      [{ all: "yes" }, "all", /must be true/],
      [{ kind: "team", id: uuid }, "kind", /must be key or user/],
      [{ kind: "key" }, "id", /required/],
      [{ all: true, kind: "key", id: uuid }, "all", /not both/],
    ];
    for (const [body, field, message] of cases) {
      const response = await routes.sync.POST(request("POST", "/api/admin/sync", admin.cookie, body));
      expect(response.status).toBe(400);
      const { error } = await response.json();
      expect({ body, field: error.field }).toEqual({ body, field });
      expect(error.message).toMatch(message);
    }
    const unknown = await routes.sync.POST(request("POST", "/api/admin/sync", admin.cookie, { keyId: "x" }));
    expect((await unknown.json()).error.message).toContain("keyId");
  });
});
