import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pino from "pino";
import { createKey, createModelCatalog, updateKey, type KeyServices } from "../../lib/keys/manage";
import { keyToken } from "../../lib/keys/secret";
import { createSyncContext } from "../../lib/sync/context";
import { runSyncPass } from "../../lib/sync/worker";
import { appRoutes, post } from "../support/app";
import { databaseUrl, describeWithDatabase, uniqueEmail } from "../support/db";
import { freePort, masterKey, startGateway, waitFor, type RunningGateway } from "../gateway/support/gateway";
import { mockGatewayConfig } from "../support/gateway-config";


type Routes = Awaited<ReturnType<typeof appRoutes>> & {
  manage: typeof import("../../app/api/keys/manage/route");
  sync: typeof import("../../app/api/keys/sync/route");
};

function request(method: string, path: string, cookie: string, body?: unknown): Request {
  return new Request(`http://localhost:3000${path}`, {
    method,
    headers: { cookie, "content-type": "application/json" },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
}

describeWithDatabase("key provisioning against the real gateway", (db) => {
  let gateway: RunningGateway;
  let routes: Routes;

  beforeAll(async () => {
    gateway = await startGateway({ config: mockGatewayConfig, databaseUrl });
    process.env.LITELLM_BASE_URL = gateway.adminUrl;
    process.env.LITELLM_MASTER_KEY = masterKey;
    const base = await appRoutes();
    routes = { ...base, manage: await import("../../app/api/keys/manage/route"), sync: await import("../../app/api/keys/sync/route") };
  });
  afterAll(async () => {
    await gateway?.stop();
  });

  async function signUp(): Promise<{ cookie: string; userId: string }> {
    const response = await routes.signup(post("/api/auth/signup", { email: uniqueEmail("keys"), password: "correct horse" }));
    const cookie = (response.headers.getSetCookie()[0] ?? "").split(";")[0] ?? "";
    return { cookie, userId: (await response.json()).user.id };
  }

  const chat = (secret: string, model = "mock-small") =>
    fetch(`${gateway.publicUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
      body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }], max_tokens: 5 }),
    });

  it("a created key works on the gateway at once, and its secret is stored nowhere in plaintext", async () => {
    const { cookie, userId } = await signUp();
    const response = await routes.manage.POST(request("POST", "/api/keys/manage", cookie, { alias: "laptop", models: ["mock-small"], rpm_limit: 50 }));
    expect(response.status).toBe(201);
    const created = await response.json();
    expect(created).toMatchObject({ alias: "laptop", sync_status: "synced", models: ["mock-small"], rpm_limit: 50, max_budget: 1000 });
    expect(created.secret).toMatch(/^sk-[\w-]{43}$/);
    expect(created.key).toBe(`sk-…${created.secret.slice(-4)}`);

    expect((await chat(created.secret)).status).toBe(200);
    expect((await chat(created.secret, "mock-large")).status).toBe(403);

    // The signup placeholder became this key: still one row for the user.
    const rows = await db()`select id, is_placeholder, secret_ciphertext, litellm_key_id from public.virtual_keys where user_id = ${userId}`;
    expect(rows).toEqual([{ id: created.id, is_placeholder: false, secret_ciphertext: null, litellm_key_id: keyToken(created.secret) }]);

    const tables = await db()<{ name: string }[]>`
      select format('%I.%I', table_schema, table_name) as name from information_schema.tables
      where table_schema in ('public', 'auth', 'gateway', 'supabase_migrations') and table_type = 'BASE TABLE'`;
    for (const { name } of tables) {
      const [hit] = await db().unsafe(`select count(*)::int as n from ${name} t where to_jsonb(t)::text like $1`, [`%${created.secret.slice(3)}%`]);
      expect(hit?.n, `${name} holds the secret`).toBe(0);
    }
  });

  it("lists only the caller's keys, masked, with limits and sync state", async () => {
    const alice = await signUp();
    const bob = await signUp();
    await routes.manage.POST(request("POST", "/api/keys/manage", alice.cookie, { alias: "alice-key" }));
    await routes.manage.POST(request("POST", "/api/keys/manage", bob.cookie, { alias: "bob-key" }));
    const listed = await (await routes.manage.GET(request("GET", "/api/keys/manage", alice.cookie))).json();
    expect(listed.keys.map((key: { alias: string }) => key.alias)).toEqual(["alice-key"]);
    expect(listed.keys[0]).toMatchObject({ key: expect.stringMatching(/^sk-…/), max_budget: 1000, remaining: 1000, status: "active", sync_status: "synced" });
    expect(JSON.stringify(listed)).not.toMatch(/secret/);
  });

  it("an edit that names no field to change is a 400 and pushes nothing", async () => {
    const { cookie } = await signUp();
    const created = await (await routes.manage.POST(request("POST", "/api/keys/manage", cookie, { alias: "still" }))).json();
    const [before] = await db()`select desired_version from public.virtual_keys where id = ${created.id}`;
    const response = await routes.manage.PATCH(request("PATCH", "/api/keys/manage", cookie, { id: created.id }));
    expect(response.status).toBe(400);
    expect((await response.json()).error.message).toMatch(/nothing to change/);
    const [after] = await db()`select desired_version from public.virtual_keys where id = ${created.id}`;
    expect(after).toEqual(before);
  });

  it("an edit reaches the gateway as absolute values", async () => {
    const { cookie } = await signUp();
    const created = await (await routes.manage.POST(request("POST", "/api/keys/manage", cookie, { alias: "edit-me" }))).json();
    const response = await routes.manage.PATCH(
      request("PATCH", "/api/keys/manage", cookie, { id: created.id, alias: "edited", max_budget: 250, rpm_limit: 7, models: ["mock-large"] }),
    );
    expect(response.status).toBe(200);
    const info = await fetch(`${gateway.adminUrl}/key/info?key=${keyToken(created.secret)}`, { headers: { authorization: `Bearer ${masterKey}` } });
    expect((await info.json()).info).toMatchObject({ key_alias: `edited-${created.id.slice(0, 8)}`, max_budget: 2.5, rpm_limit: 7, models: ["mock-large"] });
  });

  it("a revoked key is refused by the gateway", async () => {
    const { cookie } = await signUp();
    const created = await (await routes.manage.POST(request("POST", "/api/keys/manage", cookie, { alias: "doomed" }))).json();
    expect((await chat(created.secret)).status).toBe(200);
    const response = await routes.manage.DELETE(request("DELETE", "/api/keys/manage", cookie, { id: created.id }));
    expect(response.status).toBe(200);
    expect((await response.json()).status).toBe("revoked");
    expect((await chat(created.secret)).status).toBe(401);
  });

  it("two users may give their keys the same name", async () => {
    const alice = await signUp();
    const bob = await signUp();
    const first = await routes.manage.POST(request("POST", "/api/keys/manage", alice.cookie, { alias: "Laptop" }));
    const second = await routes.manage.POST(request("POST", "/api/keys/manage", bob.cookie, { alias: "Laptop" }));
    expect([first.status, second.status]).toEqual([201, 201]);
    expect((await second.json()).alias).toBe("Laptop");
  });

  it("the user's gateway budget is their credit balance", async () => {
    const { cookie, userId } = await signUp();
    await routes.manage.POST(request("POST", "/api/keys/manage", cookie, { alias: "budget" }));
    const info = await fetch(`${gateway.adminUrl}/user/info?user_id=${userId}`, { headers: { authorization: `Bearer ${masterKey}` } });
    expect((await info.json()).user_info).toMatchObject({ max_budget: 5 });
  });

  describe("another user's key", () => {
    it("cannot be edited, revoked or synced: 404, and nothing changes", async () => {
      const alice = await signUp();
      const bob = await signUp();
      const created = await (await routes.manage.POST(request("POST", "/api/keys/manage", alice.cookie, { alias: "alice-only" }))).json();
      const attempts = [
        await routes.manage.PATCH(request("PATCH", "/api/keys/manage", bob.cookie, { id: created.id, rpm_limit: 1 })),
        await routes.manage.DELETE(request("DELETE", "/api/keys/manage", bob.cookie, { id: created.id })),
        await routes.sync.POST(request("POST", "/api/keys/sync", bob.cookie, { keyId: created.id, action: "update" })),
      ];
      expect(attempts.map((r) => r.status)).toEqual([404, 404, 404]);
      const [row] = await db()`select rpm_limit, revoked_at from public.virtual_keys where id = ${created.id}`;
      expect(row).toEqual({ rpm_limit: 100, revoked_at: null });
      expect((await chat(created.secret)).status).toBe(200);
    });

    it("does not appear in the caller's sync status", async () => {
      const alice = await signUp();
      const bob = await signUp();
      await routes.manage.POST(request("POST", "/api/keys/manage", alice.cookie, { alias: "alice-sync" }));
      const body = await (await routes.sync.GET(request("GET", "/api/keys/sync", bob.cookie))).json();
      expect(body.keys).toEqual([]);
    });
  });

  it.each([
    ["no alias", {}, /^alias: /],
    ["an empty alias", { alias: " " }, /^alias: must not be empty/],
    ["a fractional budget", { alias: "a", max_budget: 10.5 }, /^max_budget: must be whole cents/],
    ["a negative budget", { alias: "a", max_budget: -1 }, /^max_budget: /],
    ["a budget too large to be whole cents", { alias: "a", max_budget: 1e20 }, /^max_budget: Too big/],
    ["a bad duration", { alias: "a", budget_duration: "fortnightly" }, /^budget_duration: must be like 30s/],
    ["a zero rpm", { alias: "a", rpm_limit: 0 }, /^rpm_limit: /],
    ["a string tpm", { alias: "a", tpm_limit: "lots" }, /^tpm_limit: /],
    ["an unknown field", { alias: "a", spend: 0 }, /spend/],
    ["a model the gateway does not offer", { alias: "a", models: ["gpt-9"] }, /^models: the gateway does not offer gpt-9/],
    ["malformed JSON", "{", /valid JSON/],
  ])("creating with %s answers 400 naming the field and creates nothing", async (_case, body, message) => {
    const { cookie, userId } = await signUp();
    const response = await routes.manage.POST(request("POST", "/api/keys/manage", cookie, body));
    expect(response.status).toBe(400);
    expect((await response.json()).error.message).toMatch(message);
    const rows = await db()`select is_placeholder from public.virtual_keys where user_id = ${userId}`;
    expect(rows).toEqual([{ is_placeholder: true }]);
  });

  it("/api/health reports the database, the gateway and the sync breaker", async () => {
    const { GET } = await import("../../app/api/health/route");
    const response = await GET(new Request("http://localhost:3000/api/health"));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      status: "ok",
      database: { ok: true },
      gateway: { ok: true },
      sync: { breaker: "closed" },
    });
  });

  it("a body not sent as JSON is refused with 415 and creates nothing, so another site's form cannot post one", async () => {
    const { cookie, userId } = await signUp();
    for (const type of ["text/plain", "application/x-www-form-urlencoded", null]) {
      const response = await routes.manage.POST(
        new Request("http://localhost:3000/api/keys/manage", {
          method: "POST",
          headers: type === null ? { cookie } : { cookie, "content-type": type },
          body: JSON.stringify({ alias: "cross-site" }),
        }),
      );
      expect(response.status).toBe(415);
      expect((await response.json()).error.message).toContain("application/json");
    }
    const [row] = await db()`select count(*)::int as n from public.virtual_keys where user_id = ${userId} and not is_placeholder`;
    expect(row?.n).toBe(0);
    const charset = await routes.manage.POST(
      new Request("http://localhost:3000/api/keys/manage", {
        method: "POST",
        headers: { cookie, "content-type": "application/json; charset=utf-8" },
        body: JSON.stringify({ alias: "same-site" }),
      }),
    );
    expect(charset.status).toBe(201);
  });

  it("key routes answer 401 without a session", async () => {
    const responses = [
      await routes.manage.GET(request("GET", "/api/keys/manage", "")),
      await routes.manage.POST(request("POST", "/api/keys/manage", "", { alias: "x" })),
      await routes.sync.GET(request("GET", "/api/keys/sync", "")),
    ];
    expect(responses.map((r) => r.status)).toEqual([401, 401, 401]);
  });

  it("with the gateway stopped, changes are saved as pending, retried with growing attempts behind an opening breaker, and converge to the newest values when it is started again", async () => {
    const log = pino({ level: "silent" });
    const ports = { public: await freePort(), admin: await freePort() };
    let second = await startGateway({ config: mockGatewayConfig, databaseUrl, ports });
    const sync = createSyncContext({
      sql: db(), log, litellmBaseUrl: second.adminUrl, litellmMasterKey: masterKey, keyEncryptionSecret: "k".repeat(64),
      requestTimeoutMs: 1000, breaker: { failuresToOpen: 5, halfOpenAfterMs: 200 },
    });
    const services: KeyServices = { sql: db(), sync, models: createModelCatalog(sync.client), keyEncryptionSecret: "k".repeat(64) };
    const { userId } = await signUp();
    await second.stop();

    const created = await createKey(services, userId, { alias: "offline", rpm_limit: 10 });
    expect(created.key.sync_status).toBe("pending");
    expect(created.message).toMatch(/will be applied automatically/);
    const edited = await updateKey(services, userId, { id: created.key.id, rpm_limit: 20, alias: "offline-2" });
    expect(edited.key.sync_status).not.toBe("synced");

    // Time passing, compressed: make the rows due instead of waiting out their backoff.
    const makeDue = async () => {
      await db()`update public.virtual_keys set next_sync_at = now() where id = ${created.key.id} and next_sync_at is not null`;
      await db()`update public.gateway_users set next_sync_at = now() where user_id = ${userId} and next_sync_at is not null`;
    };
    const attempts: number[] = [];
    for (let pass = 0; pass < 6; pass++) {
      await makeDue();
      await runSyncPass(sync);
      const [row] = await db()`select sync_attempts from public.virtual_keys where id = ${created.key.id}`;
      attempts.push(Number(row?.sync_attempts));
    }
    expect(attempts).toEqual([...attempts].sort((a, b) => a - b));
    const [failing] = await db()`select sync_status, sync_attempts, last_sync_error, next_sync_at from public.virtual_keys where id = ${created.key.id}`;
    expect(failing?.sync_status).toBe("failed");
    expect(failing?.sync_attempts).toBeGreaterThanOrEqual(3);
    expect(failing?.last_sync_error).toMatch(/cannot reach the gateway|circuit open/);
    expect(failing?.next_sync_at).not.toBeNull();
    expect(sync.breaker.state()).toBe("open");

    second = await startGateway({ config: mockGatewayConfig, databaseUrl, ports });
    try {
      await waitFor(async () => {
        await makeDue();
        await runSyncPass(sync);
        const [row] = await db()`select sync_status from public.virtual_keys where id = ${created.key.id}`;
        return row?.sync_status === "synced" ? true : undefined;
      }, 20_000, "the key to sync");
      expect(sync.breaker.state()).toBe("closed");
      const info = await sync.client.keyInfo(keyToken(created.secret ?? ""));
      expect(info).toMatchObject({ alias: `offline-2-${created.key.id.slice(0, 8)}`, rpmLimit: 20 });
      const reply = await fetch(`${second.publicUrl}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${created.secret}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "mock-small", messages: [{ role: "user", content: "hi" }], max_tokens: 5 }),
      });
      expect(reply.status).toBe(200);
    } finally {
      await sync.client.close();
      await second.stop();
    }
  });
});
