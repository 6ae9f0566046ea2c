import { createHmac, randomBytes } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withUserTransaction } from "../../lib/db/transactions";
import { fulfilPayment } from "../../lib/payments/fulfil";
import { reconcilePendingPayments } from "../../lib/payments/reconcile";
import type { PaymentServices } from "../../lib/payments/services";
import { appRoutes, post } from "../support/app";
import { describeWithDatabase, uniqueEmail } from "../support/db";
import { startFakePaystack, type FakePaystack } from "../support/fake-paystack";

type Routes = Awaited<ReturnType<typeof appRoutes>> & {
  initialize: typeof import("../../app/api/payments/initialize/route").POST;
  webhook: typeof import("../../app/api/payments/webhook/route").POST;
  list: typeof import("../../app/api/payments/route").GET;
  admin: typeof import("../../app/api/admin/payments/route").GET;
  reconcile: typeof import("../../app/api/admin/payments/reconcile/route").POST;
  payments: () => PaymentServices;
};

describeWithDatabase("payments through Paystack", (db) => {
  let paystack: FakePaystack;
  let routes: Routes;

  beforeAll(async () => {
    paystack = await startFakePaystack();
    process.env.PAYSTACK_SECRET_KEY = paystack.secretKey;
    process.env.PAYSTACK_BASE_URL = paystack.url;
    process.env.PAYMENTS_CURRENCY = "NGN";
    process.env.PAYMENTS_PRICE_PER_CREDIT = "150";
    process.env.PAYMENTS_MIN_CREDITS = "100";
    process.env.PAYMENTS_MAX_CREDITS = "50000";
    const base = await appRoutes();
    const services = await import("../../lib/payments/services");
    routes = {
      ...base,
      initialize: (await import("../../app/api/payments/initialize/route")).POST,
      webhook: (await import("../../app/api/payments/webhook/route")).POST,
      list: (await import("../../app/api/payments/route")).GET,
      admin: (await import("../../app/api/admin/payments/route")).GET,
      reconcile: (await import("../../app/api/admin/payments/reconcile/route")).POST,
      payments: services.requirePaymentServices,
    };
  });
  afterAll(async () => {
    await paystack?.close();
  });

  async function signUp(email = uniqueEmail("pay")): Promise<{ cookie: string; userId: string }> {
    const response = await routes.signup(post("/api/auth/signup", { email, password: "correct horse" }));
    const cookie = (response.headers.getSetCookie()[0] ?? "").split(";")[0] ?? "";
    return { cookie, userId: (await response.json()).user.id };
  }

  async function startPayment(cookie: string, credits: number): Promise<string> {
    const response = await routes.initialize(post("/api/payments/initialize", { credits }, { cookie }));
    expect(response.status).toBe(201);
    return (await response.json()).reference;
  }

  const deliver = (body: string, headers: Record<string, string> = { "x-paystack-signature": paystack.sign(body) }) =>
    routes.webhook(new Request("http://localhost:3000/api/payments/webhook", { method: "POST", headers: { "content-type": "application/json", ...headers }, body }));

  const balance = async (userId: string) =>
    Number((await db()`select coalesce(sum(amount), 0)::int as n from public.credit_transactions where user_id = ${userId}`)[0]?.n);
  const purchases = async (userId: string) =>
    db()`select amount, kind, reference from public.credit_transactions where user_id = ${userId} and kind = 'purchase'`;
  const payment = async (reference: string) =>
    (await db()`select status, review_reason, credits, amount_subunits, currency, paid_at from public.payments where reference = ${reference}`)[0];
  const eventCount = async () => Number((await db()`select count(*)::int as n from public.payment_events`)[0]?.n);
  const budgetVersion = async (userId: string) =>
    Number((await db()`select desired_version from public.gateway_users where user_id = ${userId}`)[0]?.desired_version);

  describe("initialize", () => {
    it("fixes the price from configuration on a pending payment and returns Paystack's checkout", async () => {
      const { cookie, userId } = await signUp();
      const response = await routes.initialize(post("/api/payments/initialize", { credits: 1000 }, { cookie }));
      expect(response.status).toBe(201);
      const body = await response.json();
      expect(body).toEqual({ reference: expect.stringMatching(/^cg-[\w.=-]+$/), authorization_url: expect.stringMatching(/^https:\/\/checkout\.paystack\.com\//) });
      expect(await payment(body.reference)).toMatchObject({ status: "pending", credits: 1000, amount_subunits: "150000", currency: "NGN", paid_at: null });
      expect(paystack.transactions.get(body.reference)).toMatchObject({ amount: 150000, currency: "NGN" });
      expect(await balance(userId)).toBe(500);
    });

    it.each([
      [{ credits: 99 }, "credits: must be at least 100"],
      [{ credits: 50001 }, "credits: must be at most 50000"],
      [{ credits: 10.5 }, "credits: must be a whole number of credits"],
      [{ credits: "1000" }, "credits: must be a whole number of credits"],
      [{}, "credits: must be a whole number of credits"],
    ])("refuses %j with a 400 naming the field, and records nothing", async (body, message) => {
      const { cookie, userId } = await signUp();
      const response = await routes.initialize(post("/api/payments/initialize", body, { cookie }));
      expect(response.status).toBe(400);
      expect((await response.json()).error).toMatchObject({ type: "invalid_request", field: "credits", message });
      expect(await db()`select 1 from public.payments where user_id = ${userId}`).toHaveLength(0);
    });

    it("needs a session", async () => {
      const response = await routes.initialize(post("/api/payments/initialize", { credits: 1000 }));
      expect(response.status).toBe(401);
    });
  });

  describe("webhook signatures", () => {
    const forgeries: [string, (body: string) => { body: string; headers: Record<string, string> }][] = [
      ["signed with another key", (body) => ({ body, headers: { "x-paystack-signature": createHmac("sha512", "sk_test_someone_else").update(body).digest("hex") } })],
      ["without a signature", (body) => ({ body, headers: {} })],
      ["signed with SHA-256 instead of SHA-512", (body) => ({ body, headers: { "x-paystack-signature": createHmac("sha256", paystack.secretKey).update(body).digest("hex") } })],
      ["in the timestamped form", (body) => ({ body, headers: { "x-paystack-signature": `t=${Math.floor(Date.now() / 1000)},v1=k1:${paystack.sign(body)}` } })],
      ["altered after signing", (body) => ({ body: body.replace('"amount":150000', '"amount":150001'), headers: { "x-paystack-signature": paystack.sign(body) } })],
      ["with an empty signature", (body) => ({ body, headers: { "x-paystack-signature": "" } })],
    ];

    it.each(forgeries)("an event %s is refused with 401 and nothing is written", async (_name, forge) => {
      const { cookie, userId } = await signUp();
      const reference = await startPayment(cookie, 1000);
      paystack.pay(reference);
      const events = await eventCount();
      const forged = forge(paystack.eventBody("charge.success", reference));
      const response = await deliver(forged.body, forged.headers);
      expect(response.status).toBe(401);
      expect((await response.json()).error.type).toBe("unauthorized");
      expect(await eventCount()).toBe(events);
      expect(await payment(reference)).toMatchObject({ status: "pending" });
      expect(await balance(userId)).toBe(500);
      expect(paystack.verifyCalls.get(reference)).toBeUndefined();
    });

    it("a correctly signed charge.success credits the payment once and queues the user's budget push", async () => {
      const { cookie, userId } = await signUp();
      const reference = await startPayment(cookie, 1000);
      paystack.pay(reference);
      const before = await budgetVersion(userId);
      const response = await deliver(paystack.eventBody("charge.success", reference));
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ received: true });
      expect(await payment(reference)).toMatchObject({ status: "paid", review_reason: null, paid_at: expect.any(Date) });
      expect(await purchases(userId)).toEqual([{ amount: 1000, kind: "purchase", reference: `paystack:${reference}` }]);
      expect(await balance(userId)).toBe(1500);
      expect(await budgetVersion(userId)).toBe(before + 1);
      const [event] = await db()`select event, reference, outcome, needs_review from public.payment_events where reference = ${reference}`;
      expect(event).toEqual({ event: "charge.success", reference, outcome: "credited 1000 credits", needs_review: false });
    });
  });

  it("20 concurrent deliveries of the same charge.success and the callback at once make one ledger entry, the right balance and one budget update", async () => {
    const { cookie, userId } = await signUp();
    const reference = await startPayment(cookie, 2500);
    paystack.pay(reference);
    const before = await budgetVersion(userId);
    const body = paystack.eventBody("charge.success", reference);
    const [responses, callback] = await Promise.all([
      Promise.all(Array.from({ length: 20 }, () => deliver(body))),
      fulfilPayment(routes.payments(), reference, "callback"),
    ]);
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(callback.status).toBe("paid");
    expect(await purchases(userId)).toHaveLength(1);
    expect(await balance(userId)).toBe(3000);
    expect(await budgetVersion(userId)).toBe(before + 1);
    const outcomes = await db()<{ outcome: string }[]>`select outcome from public.payment_events where reference = ${reference}`;
    expect(outcomes).toHaveLength(20);
    // The row lock serialises them: once paid, later deliveries do not even ask Paystack again.
    expect(paystack.verifyCalls.get(reference)).toBe(1);
  });

  describe("payments that do not match are kept for an admin, never credited, and Paystack gets its 200", () => {
    it.each([
      ["an amount below the initialized price", (reference: string) => paystack.pay(reference, { amount: 149_999 }), /paid 149999 NGN subunits, below the price of 150000/],
      ["another currency", (reference: string) => paystack.pay(reference, { currency: "USD" }), /currency USD differs from the NGN/],
      ["a live transaction on a test installation", (reference: string) => paystack.pay(reference, { domain: "live" }), /a live transaction reached a test installation/],
      ["a verify that says the charge failed", (reference: string) => paystack.pay(reference, { status: "failed" }), /Paystack's verify says the transaction is failed/],
      ["a verify that errors", (reference: string) => (paystack.pay(reference), paystack.failVerify(reference, 500)), /verification failed: Paystack answered GET \/transaction\/verify\/.* with 500/],
    ])("%s", async (_name, arrange, reason) => {
      const { cookie, userId } = await signUp();
      const reference = await startPayment(cookie, 1000);
      arrange(reference);
      const response = await deliver(paystack.eventBody("charge.success", reference));
      expect(response.status).toBe(200);
      const row = await payment(reference);
      expect(row?.status).toBe("needs_review");
      expect(row?.review_reason).toMatch(reason);
      expect(await balance(userId)).toBe(500);
      // A retry of the same delivery still credits nothing.
      expect((await deliver(paystack.eventBody("charge.success", reference))).status).toBe(200);
      expect(await balance(userId)).toBe(500);
    });

    it("an unknown reference is answered 200 and recorded for admins, who see it next to payments needing review", async () => {
      const reference = `cg-unknown-${randomBytes(4).toString("hex")}`;
      const body = JSON.stringify({ event: "charge.success", data: { reference, status: "success", amount: 150000, currency: "NGN" } });
      const response = await deliver(body);
      expect(response.status).toBe(200);
      const [event] = await db()`select outcome, needs_review from public.payment_events where reference = ${reference}`;
      expect(event).toEqual({ outcome: "needs review: charge.success for a reference we never initialized", needs_review: true });
      expect(await db()`select 1 from public.credit_transactions where reference = ${`paystack:${reference}`}`).toHaveLength(0);

      const payer = await signUp();
      const short = await startPayment(payer.cookie, 1000);
      paystack.pay(short, { amount: 1 });
      await deliver(paystack.eventBody("charge.success", short));

      const admin = await signUp(`boss-${randomBytes(3).toString("hex")}@example.test`);
      await db()`update public.profiles set role = 'admin' where id = ${admin.userId}`;
      const listed = await routes.admin(new Request("http://localhost:3000/api/admin/payments?status=needs_review", { headers: { cookie: admin.cookie } }));
      expect(listed.status).toBe(200);
      const body2 = await listed.json();
      expect(body2.payments.find((p: { reference: string }) => p.reference === short)).toMatchObject({
        status: "needs_review",
        credits: 1000,
        amount_subunits: 150000,
        review_reason: expect.stringMatching(/below the price/),
        email: expect.stringMatching(/^pay-/),
      });
      expect(body2.payments.every((p: { status: string }) => p.status === "needs_review")).toBe(true);
      expect(body2.unmatched_events.find((e: { reference: string }) => e.reference === reference)).toMatchObject({ event: "charge.success" });

      const notAdmin = await routes.admin(new Request("http://localhost:3000/api/admin/payments", { headers: { cookie: payer.cookie } }));
      expect(notAdmin.status).toBe(403);
      expect((await routes.admin(new Request("http://localhost:3000/api/admin/payments"))).status).toBe(401);
      const reconcileAsUser = await routes.reconcile(post("/api/admin/payments/reconcile", {}, { cookie: payer.cookie }));
      expect(reconcileAsUser.status).toBe(403);
      const reconcileAsAdmin = await routes.reconcile(post("/api/admin/payments/reconcile", {}, { cookie: admin.cookie }));
      expect(reconcileAsAdmin.status).toBe(200);
      expect(await reconcileAsAdmin.json()).toEqual({ outcomes: expect.any(Object) });
      const badFilter = await routes.admin(new Request("http://localhost:3000/api/admin/payments?status=everything", { headers: { cookie: admin.cookie } }));
      expect(badFilter.status).toBe(400);
      expect((await badFilter.json()).error.field).toBe("status");
    });
  });

  describe("malformed deliveries get a 4xx and write nothing", () => {
    it.each([
      ["malformed JSON", () => ({ body: '{"event":"charge.success","data":', contentType: "application/json" }), 400],
      ["an envelope without data", () => ({ body: '{"event":"charge.success"}', contentType: "application/json" }), 400],
      ["a wrong content type", () => ({ body: '{"event":"charge.success","data":{}}', contentType: "text/plain" }), 400],
      ["a body over 1 MB", () => ({ body: JSON.stringify({ event: "charge.success", data: { padding: "x".repeat(1024 * 1024) } }), contentType: "application/json" }), 413],
    ])("%s", async (_name, make, status) => {
      const events = await eventCount();
      const { body, contentType } = make();
      const response = await deliver(body, { "content-type": contentType, "x-paystack-signature": paystack.sign(body) });
      expect(response.status).toBe(status);
      expect(await eventCount()).toBe(events);
    });
  });

  it.each(["charge.failed", "transfer.success", "subscription.create", "charge.dispute.create"])(
    "%s is acknowledged with 200 and credits nothing",
    async (event) => {
      const { cookie, userId } = await signUp();
      const reference = await startPayment(cookie, 1000);
      paystack.pay(reference);
      const response = await deliver(paystack.eventBody(event, reference));
      expect(response.status).toBe(200);
      expect(await payment(reference)).toMatchObject({ status: "pending" });
      expect(await balance(userId)).toBe(500);
      const [logged] = await db()`select outcome from public.payment_events where reference = ${reference}`;
      expect(logged?.outcome).toBe(`ignored ${event}`);
    },
  );

  it("refund.processed takes the credits back with one negative entry, however often it is delivered", async () => {
    const { cookie, userId } = await signUp();
    const reference = await startPayment(cookie, 1000);
    paystack.pay(reference);
    await deliver(paystack.eventBody("charge.success", reference));
    expect(await balance(userId)).toBe(1500);
    const refund = JSON.stringify({
      event: "refund.processed",
      data: { id: 1234567, status: "processed", transaction_reference: reference, amount: 150000, currency: "NGN", domain: "test" },
    });
    const responses = await Promise.all([deliver(refund), deliver(refund), deliver(refund)]);
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(await balance(userId)).toBe(500);
    expect(await db()`select amount from public.credit_transactions where user_id = ${userId} and kind = 'refund'`).toEqual([{ amount: -1000 }]);
    expect(await payment(reference)).toMatchObject({ status: "refunded" });
    // A charge.success retried after the refund does not credit the payment again.
    await deliver(paystack.eventBody("charge.success", reference));
    expect(await balance(userId)).toBe(500);
  });

  it("a cancelled checkout arriving at the callback is recorded as abandoned, and credits nothing", async () => {
    const { cookie, userId } = await signUp();
    const reference = await startPayment(cookie, 1000);
    paystack.pay(reference, { status: "abandoned" });
    const result = await fulfilPayment(routes.payments(), reference, "callback");
    expect(result).toMatchObject({ status: "abandoned", credited: false });
    expect(await balance(userId)).toBe(500);
  });

  it("GET /api/payments lists only the caller's own payments, newest first, with the pricing", async () => {
    const alice = await signUp();
    const bob = await signUp();
    const first = await startPayment(alice.cookie, 1000);
    const second = await startPayment(alice.cookie, 2500);
    await startPayment(bob.cookie, 5000);
    paystack.pay(first);
    await deliver(paystack.eventBody("charge.success", first));
    const response = await routes.list(new Request("http://localhost:3000/api/payments", { headers: { cookie: alice.cookie } }));
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.payments).toEqual([
      { reference: second, credits: 2500, amount_subunits: 375000, currency: "NGN", status: "pending", created_at: expect.any(String), paid_at: null },
      { reference: first, credits: 1000, amount_subunits: 150000, currency: "NGN", status: "paid", created_at: expect.any(String), paid_at: expect.any(String) },
    ]);
    expect(body.pricing).toEqual({ currency: "NGN", price_per_credit_subunits: 150, packs: [1000, 2500, 5000, 10000], min_credits: 100, max_credits: 50000 });
    expect((await routes.list(new Request("http://localhost:3000/api/payments"))).status).toBe(401);
  });

  it("reconciliation credits a paid payment whose webhook and callback never came, records an abandoned one, and leaves young ones alone", async () => {
    const { cookie, userId } = await signUp();
    const paid = await startPayment(cookie, 1000);
    const walkedAway = await startPayment(cookie, 2500);
    const young = await startPayment(cookie, 5000);
    paystack.pay(paid);
    paystack.pay(walkedAway, { status: "abandoned" });
    paystack.pay(young);
    await db()`update public.payments set created_at = now() - interval '1 hour' where reference in ${db()([paid, walkedAway])}`;
    const outcomes = await reconcilePendingPayments(routes.payments());
    expect(outcomes[paid]).toBe("credited 1000 credits");
    expect(outcomes[walkedAway]).toBe("Paystack says the transaction is abandoned");
    expect(outcomes[young]).toBeUndefined();
    expect(await payment(paid)).toMatchObject({ status: "paid" });
    expect(await payment(walkedAway)).toMatchObject({ status: "abandoned" });
    expect(await payment(young)).toMatchObject({ status: "pending" });
    expect(await balance(userId)).toBe(1500);
    // Running it again (or in two processes) changes nothing.
    await Promise.all([reconcilePendingPayments(routes.payments()), reconcilePendingPayments(routes.payments())]);
    expect(await balance(userId)).toBe(1500);
  });

  it("payments and webhook events are private: a signed-in user's own database session reads none of them", async () => {
    const { cookie, userId } = await signUp();
    const reference = await startPayment(cookie, 1000);
    paystack.pay(reference);
    await deliver(paystack.eventBody("charge.success", reference));
    const claims = { sub: userId, email: "x@example.test", role: "authenticated" as const };
    const seen = async (table: string) =>
      withUserTransaction(db(), claims, async (tx) => tx.unsafe(`select count(*)::int as n from public.${table}`)).then(
        (rows) => Number(rows[0]?.n),
        () => 0,
      );
    expect(await seen("payments")).toBe(0);
    expect(await seen("payment_events")).toBe(0);
  });

  it("for any interleaving of deliveries, retries and callbacks over many payments, the ledger holds exactly the distinct successful payments", async () => {
    type Fate = "paid" | "short" | "failed" | "unpaid";
    const step = fc.record({ payment: fc.nat(), via: fc.constantFrom<"webhook" | "callback">("webhook", "callback") });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ credits: fc.integer({ min: 100, max: 5000 }), fate: fc.constantFrom<Fate>("paid", "paid", "short", "failed", "unpaid") }), { minLength: 1, maxLength: 6 }),
        fc.array(fc.array(step, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 5 }),
        async (plans, waves) => {
          const { cookie, userId } = await signUp();
          const references: string[] = [];
          for (const plan of plans) {
            const reference = await startPayment(cookie, plan.credits);
            references.push(reference);
            if (plan.fate === "paid") paystack.pay(reference);
            if (plan.fate === "short") paystack.pay(reference, { amount: plan.credits * 150 - 1 });
            if (plan.fate === "failed") paystack.pay(reference, { status: "failed" });
          }
          // Each wave runs concurrently; waves follow one another, as retries do.
          for (const wave of waves) {
            await Promise.all(
              wave.map(async ({ payment: index, via }) => {
                const reference = references[index % references.length] ?? "";
                if (via === "callback") return fulfilPayment(routes.payments(), reference, "callback");
                const response = await deliver(paystack.eventBody("charge.success", reference));
                expect(response.status).toBe(200);
              }),
            );
          }
          // Every payment is eventually delivered at least once (Paystack retries for 72 hours).
          await Promise.all(references.map((reference) => deliver(paystack.eventBody("charge.success", reference))));
          const expected = plans.filter((plan) => plan.fate === "paid").reduce((sum, plan) => sum + plan.credits, 0);
          const ledger = await db()<{ n: number; entries: number }[]>`
            select coalesce(sum(amount), 0)::int as n, count(*)::int as entries from public.credit_transactions where user_id = ${userId} and kind = 'purchase'`;
          expect(ledger[0]).toEqual({ n: expected, entries: plans.filter((plan) => plan.fate === "paid").length });
          expect(await balance(userId)).toBe(500 + expected);
        },
      ),
      { numRuns: 25 },
    );
  });
});
