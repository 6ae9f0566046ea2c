import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runUsageImport } from "../../lib/analytics/import";
import { createLiteLLMClient } from "../../lib/litellm/client";
import { appRoutes, post } from "../support/app";
import { databaseUrl, describeWithDatabase, uniqueEmail } from "../support/db";
import { freePort, masterKey, startGateway, type RunningGateway } from "../gateway/support/gateway";
import { mockGatewayConfig } from "../support/gateway-config";

type Routes = Awaited<ReturnType<typeof appRoutes>> & {
  manage: typeof import("../../app/api/keys/manage/route");
  usage: typeof import("../../app/api/analytics/usage/route");
};

function request(method: string, path: string, cookie: string, body?: unknown): Request {
  return new Request(`http://localhost:3000${path}`, {
    method,
    headers: { cookie, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

const today = () => new Date().toISOString().slice(0, 10);

describeWithDatabase("usage analytics imported from the real gateway", (db) => {
  let gateway: RunningGateway;
  let routes: Routes;
  const log = pino({ level: "silent" });

  beforeAll(async () => {
    gateway = await startGateway({ config: mockGatewayConfig, databaseUrl });
    process.env.LITELLM_BASE_URL = gateway.adminUrl;
    process.env.LITELLM_MASTER_KEY = masterKey;
    const base = await appRoutes();
    routes = { ...base, manage: await import("../../app/api/keys/manage/route"), usage: await import("../../app/api/analytics/usage/route") };
  });
  afterAll(async () => {
    await gateway?.stop();
  });

  const client = () => createLiteLLMClient({ baseUrl: gateway.adminUrl, masterKey, requestTimeoutMs: 5_000 });

  async function signUp(): Promise<{ cookie: string; userId: string }> {
    const response = await routes.signup(post("/api/auth/signup", { email: uniqueEmail("usage"), password: "correct horse" }));
    const cookie = (response.headers.getSetCookie()[0] ?? "").split(";")[0] ?? "";
    return { cookie, userId: (await response.json()).user.id };
  }

  async function createKey(cookie: string, alias: string): Promise<{ id: string; secret: string }> {
    const response = await routes.manage.POST(request("POST", "/api/keys/manage", cookie, { alias }));
    expect(response.status).toBe(201);
    return response.json();
  }

  async function chat(secret: string, model: string) {
    const response = await fetch(`${gateway.publicUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
      body: JSON.stringify({ model, messages: [{ role: "user", content: "hello there" }], max_tokens: 5 }),
    });
    expect(response.status).toBe(200);
    return (await response.json()) as { usage: { prompt_tokens: number; completion_tokens: number } };
  }

  const usage = async (cookie: string, query = "") => routes.usage.GET(request("GET", `/api/analytics/usage${query}`, cookie));

  it("requests made with a key show up per day, model and key after an import, and a second import counts nothing twice", async () => {
    const { cookie, userId } = await signUp();
    const laptop = await createKey(cookie, "laptop");
    const server = await createKey(cookie, "server");
    const replies = [await chat(laptop.secret, "mock-small"), await chat(laptop.secret, "mock-large"), await chat(server.secret, "mock-small")];

    const importer = { sql: db(), client: client(), log };
    expect(await runUsageImport(importer, { userId })).toMatchObject({ users: 1, imported: 1, failed: 0 });
    await runUsageImport(importer, { userId });
    await importer.client.close();

    const response = await usage(cookie);
    expect(response.status).toBe(200);
    const report = await response.json();
    const tokens = replies.reduce((sum, reply) => sum + reply.usage.prompt_tokens + reply.usage.completion_tokens, 0);
    expect(report.totals).toMatchObject({ requests: 3, total_tokens: tokens });
    expect(report.totals.spend_micros).toBeGreaterThan(0);
    expect(report.freshness.status).toBe("fresh");
    expect(report.days).toHaveLength(30);
    expect(report.days.at(-1)).toMatchObject({ day: today(), requests: 3 });
    expect(report.models.map((row: { model: string }) => row.model).sort()).toEqual(["mock-large", "mock-small"]);
    expect(Object.fromEntries(report.keys.map((row: { alias: string; requests: number }) => [row.alias, row.requests]))).toEqual({ laptop: 2, server: 1 });

    const onlyLaptopSmall = await (await usage(cookie, `?model=mock-small&key=${laptop.id}`)).json();
    expect(onlyLaptopSmall.totals.requests).toBe(1);
    expect(onlyLaptopSmall.available_models.sort()).toEqual(["mock-large", "mock-small"]);
  });

  it("the import refreshes each key's spend from the gateway", async () => {
    const { cookie, userId } = await signUp();
    const key = await createKey(cookie, "spender");
    await chat(key.secret, "mock-large");
    const importer = { sql: db(), client: client(), log };
    await runUsageImport(importer, { userId });
    await importer.client.close();
    const [row] = await db()<{ spend_cents: number; spend_updated_at: Date | null }[]>`select spend_cents, spend_updated_at from public.virtual_keys where id = ${key.id}`;
    expect(row?.spend_updated_at).not.toBeNull();
    const listed = await (await routes.manage.GET(request("GET", "/api/keys/manage", cookie))).json();
    expect(listed.keys[0].spend).toBe(row?.spend_cents);
  });

  it("a user sees only their own usage", async () => {
    const alice = await signUp();
    const bob = await signUp();
    const key = await createKey(alice.cookie, "alice");
    await chat(key.secret, "mock-small");
    const importer = { sql: db(), client: client(), log };
    await runUsageImport(importer, { userId: alice.userId });
    await importer.client.close();
    const report = await (await usage(bob.cookie)).json();
    expect(report.totals.requests).toBe(0);
    expect(report.freshness.status).toBe("never");
    const filtered = await (await usage(bob.cookie, `?key=${key.id}`)).json();
    expect(filtered.totals.requests).toBe(0);
  });

  it("when the gateway cannot be reached the rollups stay and the report says they are local only", async () => {
    const { cookie, userId } = await signUp();
    const key = await createKey(cookie, "offline");
    await chat(key.secret, "mock-small");
    const live = { sql: db(), client: client(), log };
    await runUsageImport(live, { userId });
    await live.client.close();

    const deadClient = createLiteLLMClient({ baseUrl: `http://127.0.0.1:${await freePort()}`, masterKey, requestTimeoutMs: 1_000 });
    const result = await runUsageImport({ sql: db(), client: deadClient, log }, { userId });
    await deadClient.close();
    expect(result).toMatchObject({ imported: 0, failed: 1 });

    const report = await (await usage(cookie)).json();
    expect(report.totals.requests).toBe(1);
    expect(report.freshness.status).toBe("local_only");
    expect(report.freshness.last_error).toBeTruthy();
  });

  it("row-level security keeps one user's rollups and import state from another, even asked for by id", async () => {
    const alice = await signUp();
    const bob = await signUp();
    const key = await createKey(alice.cookie, "private");
    await chat(key.secret, "mock-small");
    const importer = { sql: db(), client: client(), log };
    await runUsageImport(importer, { userId: alice.userId });
    await importer.client.close();
    const { withUserTransaction } = await import("../../lib/db/transactions");
    const seen = await withUserTransaction(db(), { sub: bob.userId, email: "bob@example.test", role: "authenticated" }, async (tx) => {
      const [usageRows] = await tx<{ n: number }[]>`select count(*)::int as n from public.usage_daily where user_id = ${alice.userId}`;
      const [imports] = await tx<{ n: number }[]>`select count(*)::int as n from public.usage_imports where user_id = ${alice.userId}`;
      return { usage: usageRows?.n, imports: imports?.n };
    });
    expect(seen).toEqual({ usage: 0, imports: 0 });
    const own = await withUserTransaction(db(), { sub: alice.userId, email: "alice@example.test", role: "authenticated" }, (tx) => tx<{ n: number }[]>`select count(*)::int as n from public.usage_daily`);
    expect(own[0]?.n).toBe(1);
  });

  it("answers 401 without a session", async () => {
    const response = await routes.usage.GET(new Request("http://localhost:3000/api/analytics/usage"));
    expect(response.status).toBe(401);
  });

  describe("bad queries are refused with a 400 naming the field", () => {
    const cases: [string, string, string][] = [
      ["?start_date=yesterday", "start_date", "must be a date like 2026-11-23"],
      ["?end_date=2026-02-30", "end_date", "must be a real date"],
      ["?start_date=2026-11-20&end_date=2026-11-01", "start_date", "must not be after end_date"],
      ["?start_date=2020-01-01&end_date=2026-11-01", "start_date", "must be at most 366 days before end_date"],
      ["?key=not-a-uuid", "key", "must be a key id"],
      [`?model=${"m".repeat(201)}`, "model", "must be at most 200 characters"],
    ];
    it.each(cases)("%s → %s", async (query, field, message) => {
      const { cookie } = await signUp();
      const response = await usage(cookie, query);
      expect(response.status).toBe(400);
      const body = await response.json();
      expect(body.error).toMatchObject({ type: "invalid_request", field, message: `${field}: ${message}` });
    });
  });
});
