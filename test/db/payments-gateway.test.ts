import pino from "pino";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createSyncContext } from "../../lib/sync/context";
import { runSyncPass } from "../../lib/sync/worker";
import { appRoutes, post } from "../support/app";
import { databaseUrl, describeWithDatabase, uniqueEmail } from "../support/db";
import { startFakePaystack, type FakePaystack } from "../support/fake-paystack";
import { freePort, masterKey, startGateway, waitFor, type RunningGateway } from "../gateway/support/gateway";
import { mockGatewayConfig } from "../support/gateway-config";

describeWithDatabase("a credited payment reaches the user's gateway budget", (db) => {
  let paystack: FakePaystack;
  let routes: Awaited<ReturnType<typeof appRoutes>> & {
    initialize: typeof import("../../app/api/payments/initialize/route").POST;
    webhook: typeof import("../../app/api/payments/webhook/route").POST;
  };
  const log = pino({ level: "silent" });
  const kek = "k".repeat(64);

  beforeAll(async () => {
    paystack = await startFakePaystack();
    process.env.PAYSTACK_SECRET_KEY = paystack.secretKey;
    process.env.PAYSTACK_BASE_URL = paystack.url;
    process.env.PAYMENTS_CURRENCY = "USD";
    process.env.PAYMENTS_PRICE_PER_CREDIT = "1";
    const base = await appRoutes();
    routes = {
      ...base,
      initialize: (await import("../../app/api/payments/initialize/route")).POST,
      webhook: (await import("../../app/api/payments/webhook/route")).POST,
    };
  });
  afterAll(async () => {
    await paystack?.close();
  });

  async function buyCredits(credits: number): Promise<string> {
    const signup = await routes.signup(post("/api/auth/signup", { email: uniqueEmail("budget"), password: "correct horse" }));
    const cookie = (signup.headers.getSetCookie()[0] ?? "").split(";")[0] ?? "";
    const userId: string = (await signup.json()).user.id;
    const started = await routes.initialize(post("/api/payments/initialize", { credits }, { cookie }));
    const { reference } = await started.json();
    paystack.pay(reference);
    const body = paystack.eventBody("charge.success", reference);
    const delivered = await routes.webhook(
      new Request("http://localhost:3000/api/payments/webhook", {
        method: "POST",
        headers: { "content-type": "application/json", "x-paystack-signature": paystack.sign(body) },
        body,
      }),
    );
    expect(delivered.status).toBe(200);
    return userId;
  }

  /** The user's max_budget as the gateway's own admin API reports it, in dollars. */
  async function gatewayMaxBudget(adminUrl: string, userId: string): Promise<number | undefined> {
    const response = await fetch(`${adminUrl}/user/info?user_id=${userId}`, { headers: { authorization: `Bearer ${masterKey}` } });
    if (!response.ok) return undefined;
    return (await response.json()).user_info?.max_budget;
  }

  const balanceDollars = async (userId: string) =>
    Number((await db()`select coalesce(sum(amount), 0)::int as n from public.credit_transactions where user_id = ${userId}`)[0]?.n) / 100;

  it("after a credited payment, the real gateway's max_budget for the user equals their credits in dollars", async () => {
    const gateway: RunningGateway = await startGateway({ config: mockGatewayConfig, databaseUrl });
    try {
      const sync = createSyncContext({ sql: db(), log, litellmBaseUrl: gateway.adminUrl, litellmMasterKey: masterKey, keyEncryptionSecret: kek });
      const userId = await buyCredits(1000);
      expect(await balanceDollars(userId)).toBe(15);
      await waitFor(async () => {
        await runSyncPass(sync);
        return (await gatewayMaxBudget(gateway.adminUrl, userId)) === 15 ? true : undefined;
      }, 20_000, "the user's budget to reach the gateway");
      const [row] = await db()`select sync_status, synced_budget_cents from public.gateway_users where user_id = ${userId}`;
      expect(row).toEqual({ sync_status: "synced", synced_budget_cents: "1500" });
    } finally {
      await gateway.stop();
    }
  });

  it("with the gateway down the payment is still credited, and the budget converges once the gateway is back", async () => {
    const ports = { public: await freePort(), admin: await freePort() };
    let gateway = await startGateway({ config: mockGatewayConfig, databaseUrl, ports });
    const sync = createSyncContext({
      sql: db(), log, litellmBaseUrl: gateway.adminUrl, litellmMasterKey: masterKey, keyEncryptionSecret: kek,
      requestTimeoutMs: 1000, breaker: { failuresToOpen: 5, halfOpenAfterMs: 200 },
    });
    await gateway.stop();

    const userId = await buyCredits(2500);
    expect(await balanceDollars(userId)).toBe(30);
    // Time passing, compressed: make the row due instead of waiting out its backoff.
    const makeDue = () => db()`update public.gateway_users set next_sync_at = now() where user_id = ${userId} and next_sync_at is not null`;
    await makeDue();
    await runSyncPass(sync);
    const [failing] = await db()`select sync_status, sync_attempts, last_sync_error from public.gateway_users where user_id = ${userId}`;
    expect(failing?.sync_status).not.toBe("synced");
    expect(Number(failing?.sync_attempts)).toBeGreaterThanOrEqual(1);
    expect(failing?.last_sync_error).toBeTruthy();

    gateway = await startGateway({ config: mockGatewayConfig, databaseUrl, ports });
    try {
      await waitFor(async () => {
        await makeDue();
        await runSyncPass(sync);
        return (await gatewayMaxBudget(gateway.adminUrl, userId)) === 30 ? true : undefined;
      }, 20_000, "the user's budget to converge");
      const [row] = await db()`select sync_status from public.gateway_users where user_id = ${userId}`;
      expect(row?.sync_status).toBe("synced");
    } finally {
      await gateway.stop();
    }
  });
});
