import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { keyToken } from "../../lib/keys/secret";
import { appRoutes, post } from "../support/app";
import { databaseUrl, describeWithDatabase, uniqueEmail } from "../support/db";
import { startFakePaystack, type FakePaystack } from "../support/fake-paystack";
import { mockGatewayConfig } from "../support/gateway-config";
import { parseMetrics, total, type Sample } from "../support/prometheus";
import { spawnWorker } from "../support/worker";
import { freePort, masterKey, startGateway, waitFor, type RunningGateway } from "../gateway/support/gateway";

/**
 * The operator's view of a full journey: signup, key creation pushed to the real gateway, LLM
 * calls with the key, a Paystack payment and admin actions. Afterwards both metrics endpoints
 * show that traffic, the captured logs of the app and the gateway hold no secret, and the
 * gateway's log line for a push carries the request id of the app request that caused it.
 */

const password = "observability-journey-Pa55phrase!";
// mock-small's prices in the shared mock config, US dollars per token.
const mockPrices = { input: 0.000001, output: 0.000002 };

type Routes = Awaited<ReturnType<typeof appRoutes>> & {
  manage: typeof import("../../app/api/keys/manage/route");
  keySync: typeof import("../../app/api/keys/sync/route");
  initialize: typeof import("../../app/api/payments/initialize/route").POST;
  webhook: typeof import("../../app/api/payments/webhook/route").POST;
  metrics: typeof import("../../app/api/metrics/route").GET;
  adminCredits: typeof import("../../app/api/admin/users/credits/route").POST;
  adminSync: typeof import("../../app/api/admin/sync/route");
  adminUsers: typeof import("../../app/api/admin/users/route").GET;
};

describeWithDatabase("observability of a full journey", (db) => {
  let gateway: RunningGateway;
  let paystack: FakePaystack;
  let routes: Routes;
  let logFile: string;

  beforeAll(async () => {
    gateway = await startGateway({ config: mockGatewayConfig, databaseUrl, env: { LOG_LEVEL: "info" } });
    paystack = await startFakePaystack();
    logFile = path.join(await mkdtemp(path.join(tmpdir(), "app-logs-")), "app.log");
    Object.assign(process.env, {
      LITELLM_BASE_URL: gateway.adminUrl,
      LITELLM_MASTER_KEY: masterKey,
      PAYSTACK_SECRET_KEY: paystack.secretKey,
      PAYSTACK_BASE_URL: paystack.url,
      PAYMENTS_CURRENCY: "USD",
      PAYMENTS_PRICE_PER_CREDIT: "1",
      LOG_FILE: logFile,
    });
    const base = await appRoutes({ logLevel: "info" });
    routes = {
      ...base,
      manage: await import("../../app/api/keys/manage/route"),
      keySync: await import("../../app/api/keys/sync/route"),
      initialize: (await import("../../app/api/payments/initialize/route")).POST,
      webhook: (await import("../../app/api/payments/webhook/route")).POST,
      metrics: (await import("../../app/api/metrics/route")).GET,
      adminCredits: (await import("../../app/api/admin/users/credits/route")).POST,
      adminSync: await import("../../app/api/admin/sync/route"),
      adminUsers: (await import("../../app/api/admin/users/route")).GET,
    };
  });
  afterAll(async () => {
    delete process.env.LOG_FILE;
    await paystack?.close();
    await gateway?.stop();
  });

  const request = (method: string, url: string, cookie: string, body?: unknown, headers: Record<string, string> = {}) =>
    new Request(`http://localhost:3000${url}`, {
      method,
      headers: { cookie, "content-type": "application/json", ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  async function signUp(email: string): Promise<{ cookie: string; userId: string }> {
    const response = await routes.signup(post("/api/auth/signup", { email, password }));
    expect(response.status).toBe(201);
    const cookie = (response.headers.getSetCookie()[0] ?? "").split(";")[0] ?? "";
    return { cookie, userId: (await response.json()).user.id };
  }

  async function scrapeApp(): Promise<Sample[]> {
    const response = await routes.metrics(new Request("http://localhost:3000/api/metrics"));
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/plain");
    return parseMetrics(await response.text());
  }

  async function scrapeGateway(): Promise<Sample[]> {
    const response = await fetch(`${gateway.adminUrl}/metrics`);
    return parseMetrics(await response.text());
  }

  /** Tokens and cost of one chat call, read from what the gateway answered. */
  async function chat(secret: string, stream: boolean): Promise<{ prompt: number; completion: number }> {
    const response = await fetch(`${gateway.publicUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
      body: JSON.stringify({
        model: "mock-small",
        messages: [{ role: "user", content: "How many credits do I have left?" }],
        max_tokens: 12,
        ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
      }),
    });
    expect(response.status).toBe(200);
    const text = await response.text();
    const usage = stream
      ? text
          .split("\n")
          .filter((line) => line.startsWith("data: {"))
          .map((line) => JSON.parse(line.slice(6)) as { usage?: { prompt_tokens: number; completion_tokens: number } | null })
          .find((chunk) => chunk.usage)?.usage
      : (JSON.parse(text) as { usage: { prompt_tokens: number; completion_tokens: number } }).usage;
    if (!usage) throw new Error("no usage in the answer");
    return { prompt: usage.prompt_tokens, completion: usage.completion_tokens };
  }

  it("metrics, logs and request ids tell the journey's story without a secret", async () => {
    const before = await scrapeApp();
    const delta = (after: Sample[], name: string, where: Record<string, string> = {}) => total(after, name, where) - total(before, name, where);

    // Signup and a key, pushed to the gateway within the request that created it.
    const user = await signUp(uniqueEmail("observe"));
    const createId = `journey-create-${Date.now()}`;
    const created = await routes.manage.POST(request("POST", "/api/keys/manage", user.cookie, { alias: "observed" }, { "x-request-id": createId }));
    expect(created.status).toBe(201);
    expect(created.headers.get("x-request-id")).toBe(createId);
    const key = (await created.json()) as { id: string; secret: string };
    expect((await routes.keySync.GET(request("GET", "/api/keys/sync", user.cookie))).status).toBe(200);

    // LLM calls with the key, straight to the gateway.
    const usages = [await chat(key.secret, false), await chat(key.secret, false), await chat(key.secret, true)];

    // A payment: initialized, paid, its webhook delivered twice, and one forged delivery.
    const started = await routes.initialize(request("POST", "/api/payments/initialize", user.cookie, { credits: 1000 }));
    expect(started.status).toBe(201);
    const { reference } = (await started.json()) as { reference: string };
    paystack.pay(reference);
    const body = paystack.eventBody("charge.success", reference);
    const deliver = (signature: string) =>
      routes.webhook(
        new Request("http://localhost:3000/api/payments/webhook", {
          method: "POST",
          headers: { "content-type": "application/json", "x-paystack-signature": signature },
          body,
        }),
      );
    expect((await deliver(paystack.sign(body))).status).toBe(200);
    expect((await deliver(paystack.sign(body))).status).toBe(200);
    expect((await deliver("0".repeat(128))).status).toBe(401);

    // Admin actions.
    const boss = await signUp("boss-observe@example.test");
    const adjusted = await routes.adminCredits(request("POST", "/api/admin/users/credits", boss.cookie, { user_id: user.userId, amount: 25, reason: "observability journey" }));
    expect(adjusted.status).toBe(201);
    expect((await routes.adminSync.GET(request("GET", "/api/admin/sync", boss.cookie))).status).toBe(200);
    expect((await routes.adminSync.POST(request("POST", "/api/admin/sync", boss.cookie, { all: true }))).status).toBe(200);
    expect((await routes.adminUsers(request("GET", "/api/admin/users?q=observe", boss.cookie))).status).toBe(200);
    expect((await routes.logout(request("POST", "/api/auth/logout", user.cookie))).status).toBe(200);

    // (a) the app's /api/metrics shows that traffic.
    const after = await scrapeApp();
    const http = "creditgate_http_request_duration_seconds_count";
    expect(delta(after, http, { route: "/api/auth/signup", method: "POST", status: "201" })).toBe(2);
    expect(delta(after, http, { route: "/api/keys/manage", method: "POST", status: "201" })).toBe(1);
    expect(delta(after, http, { route: "/api/payments/webhook", method: "POST", status: "200" })).toBe(2);
    expect(delta(after, http, { route: "/api/payments/webhook", method: "POST", status: "401" })).toBe(1);
    expect(delta(after, http, { route: "/api/admin/users/credits", method: "POST", status: "201" })).toBe(1);
    expect(delta(after, "creditgate_webhook_events_total", { result: "credited" })).toBe(1);
    expect(delta(after, "creditgate_webhook_events_total", { result: "no_change" })).toBe(1);
    expect(delta(after, "creditgate_webhook_events_total", { result: "rejected" })).toBe(1);
    expect(delta(after, "creditgate_payments_credited_minor_total", { currency: "USD" })).toBe(1000);
    const pushes = delta(after, "creditgate_sync_push_total", { kind: "key", outcome: "synced" });
    expect(pushes).toBeGreaterThanOrEqual(1);
    expect(delta(after, "creditgate_sync_push_duration_seconds_count", { kind: "key", outcome: "synced" })).toBe(pushes);
    expect(total(after, "creditgate_breaker_state")).toBe(0);
    for (const kind of ["key", "user"]) {
      for (const status of ["pending", "synced", "failed"]) {
        expect(after.some((sample) => sample.name === "creditgate_sync_rows" && sample.labels.kind === kind && sample.labels.status === status)).toBe(true);
      }
    }
    // The gauge is read from the database at scrape time (other files share the database, so
    // the two reads are compared until they agree).
    await waitFor(async () => {
      const scraped = total(await scrapeApp(), "creditgate_sync_rows", { kind: "key", status: "synced" });
      const [row] = await db()<{ n: number }[]>`select count(*)::int as n from public.virtual_keys where not is_placeholder and sync_status = 'synced'`;
      return scraped === row?.n && scraped >= 1 ? true : undefined;
    }, 20_000, "creditgate_sync_rows to match the database");
    const appText = await (await routes.metrics(new Request("http://localhost:3000/api/metrics"))).text();
    for (const personal of [user.userId, "boss-observe@example.test", "observe-", reference]) expect(appText).not.toContain(personal);

    // (a) the gateway's /metrics shows the key's tokens and spend, summed over the calls made.
    const token = keyToken(key.secret);
    const gatewaySamples = await scrapeGateway();
    const prompt = usages.reduce((sum, usage) => sum + usage.prompt, 0);
    const completion = usages.reduce((sum, usage) => sum + usage.completion, 0);
    const where = { hashed_api_key: token, model: "mock-small" };
    expect(total(gatewaySamples, "litellm_proxy_total_requests_metric_total", { hashed_api_key: token, status_code: "200" })).toBe(3);
    expect(total(gatewaySamples, "litellm_input_tokens_metric_total", where)).toBe(prompt);
    expect(total(gatewaySamples, "litellm_output_tokens_metric_total", where)).toBe(completion);
    expect(total(gatewaySamples, "litellm_total_tokens_metric_total", where)).toBe(prompt + completion);
    expect(total(gatewaySamples, "litellm_spend_metric_total", where)).toBeCloseTo(prompt * mockPrices.input + completion * mockPrices.output, 12);
    expect(total(gatewaySamples, "litellm_remaining_user_budget_metric", { user: user.userId })).toBeGreaterThan(0);

    // (c) the gateway logged the push of the new key under the app request's id.
    const gatewayLines = () =>
      gateway
        .output()
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    const pushed = await waitFor(() => {
      const lines = gatewayLines().filter((line) => line.requestId === createId);
      return lines.some((line) => line.path === "/key/generate") ? lines : undefined;
    }, 10_000, "the gateway's line for the key push");
    expect(pushed.find((line) => line.path === "/key/generate")).toMatchObject({ msg: "request", method: "POST", status: 200 });
    const appLog = await readFile(logFile, "utf8");
    const appLines = appLog.split("\n").filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(appLines.find((line) => line.requestId === createId && line.msg === "request")).toMatchObject({ route: "/api/keys/manage", method: "POST", status: 201 });

    // (b) no secret in what the app and the gateway printed.
    const captured = `${appLog}\n${gateway.output()}`;
    expect(appLines.length).toBeGreaterThan(10);
    const secrets = [
      key.secret,
      key.secret.slice(3),
      masterKey,
      password,
      paystack.secretKey,
      process.env.AUTH_JWT_SECRET ?? "unset",
      process.env.KEY_ENCRYPTION_SECRET ?? "unset",
      user.cookie.split("=")[1] ?? "unset",
    ];
    for (const secret of secrets) expect(captured).not.toContain(secret);
  });

  it("the worker serves its own /metrics with its breaker, behind METRICS_TOKEN when set", async () => {
    const port = await freePort();
    const metricsToken = "worker-metrics-token-0123456789";
    let output = "";
    const worker: ChildProcess = spawnWorker({
      databaseUrl,
      gateway,
      keyEncryptionSecret: process.env.KEY_ENCRYPTION_SECRET,
      env: { WORKER_METRICS_PORT: String(port), METRICS_TOKEN: metricsToken, SYNC_IDLE_MS: "200", LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    worker.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    worker.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    try {
      const url = `http://127.0.0.1:${port}/metrics`;
      const text = await waitFor(async () => {
        const response = await fetch(url, { headers: { authorization: `Bearer ${metricsToken}` } });
        return response.ok ? response.text() : undefined;
      }, 30_000, "the worker's metrics endpoint");
      const samples = parseMetrics(text);
      expect(total(samples, "creditgate_breaker_state")).toBe(0);
      expect(text).toContain("# TYPE creditgate_sync_push_total counter");
      expect(text).toContain("# TYPE creditgate_sync_push_duration_seconds histogram");
      expect(samples.some((sample) => sample.name === "creditgate_process_cpu_seconds_total")).toBe(true);
      // Rows are the app's to report: a sum over both processes must not count them twice.
      expect(samples.some((sample) => sample.name === "creditgate_sync_rows")).toBe(false);
      expect((await fetch(url)).status).toBe(401);
      expect((await fetch(url, { headers: { authorization: "Bearer wrong-token-000000000" } })).status).toBe(401);
    } finally {
      worker.kill("SIGTERM");
      if (worker.exitCode === null) await once(worker, "exit");
    }
    expect(output).toContain('"msg":"sync worker started"');
    for (const secret of [masterKey, metricsToken, process.env.KEY_ENCRYPTION_SECRET ?? "unset"]) expect(output).not.toContain(secret);
  });
});
