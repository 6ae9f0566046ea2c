import { randomUUID } from "node:crypto";
import { expect, test, type Page } from "@playwright/test";

async function signUp(page: Page) {
  await page.goto("/signup");
  await page.getByLabel("Email").fill(`pay-${randomUUID().slice(0, 8)}@example.test`);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/analytics$/);
  await expect(page.getByTestId("credit-balance")).toHaveText("500");
}

async function startPurchase(page: Page) {
  await page.getByRole("button", { name: "Buy credits" }).click();
  const buy = page.getByRole("dialog", { name: "Buy credits" });
  await buy.getByLabel(/1,000 credits/).check();
  await buy.getByRole("button", { name: "Continue to payment" }).click();
  await expect(page).toHaveURL(/\/payments\/simulator\/checkout\//);
  await expect(page.getByText(/TEST CHECKOUT/)).toBeVisible();
  await expect(page.getByTestId("checkout-amount")).toHaveText("$10.00");
}

test("a user buys 1,000 credits through the test checkout and sees the balance rise to 1,500", async ({ page }) => {
  await signUp(page);
  await startPurchase(page);
  await page.screenshot({ path: test.info().outputPath("simulator-checkout.png"), fullPage: true });
  await page.getByRole("button", { name: /^Pay / }).click();

  await expect(page).toHaveURL(/\/payments\/callback\?.*reference=cg-/);
  await expect(page.getByRole("heading", { name: "Payment received" })).toBeVisible();
  await expect(page.getByTestId("payment-status")).toHaveText("1,000 credits are on your balance.");
  await page.screenshot({ path: test.info().outputPath("callback.png"), fullPage: true });

  await page.getByRole("link", { name: "Back to the dashboard" }).click();
  await expect(page).toHaveURL(/\/analytics$/);
  await expect(page.getByTestId("credit-balance")).toHaveText("1,500");

  // Reloading the callback (or Paystack's webhook arriving again) credits nothing more.
  await page.goBack();
  await page.reload();
  await expect(page.getByRole("heading", { name: "Payment received" })).toBeVisible();
  await page.goto("/analytics");
  await expect(page.getByTestId("credit-balance")).toHaveText("1,500");
});

test("cancelling the test checkout returns to the callback, charges nothing and adds no credits", async ({ page }) => {
  await signUp(page);
  await startPurchase(page);
  await page.getByRole("button", { name: "Cancel" }).click();
  await expect(page).toHaveURL(/\/payments\/callback\?.*reference=cg-/);
  await expect(page.getByRole("heading", { name: "Payment not completed" })).toBeVisible();
  await page.goto("/analytics");
  await expect(page.getByTestId("credit-balance")).toHaveText("500");
});

test("the test checkout's Pay delivers a signed charge.success that credits the payment before the callback is visited", async ({ page }) => {
  await signUp(page);
  const started = await page.request.post("/api/payments/initialize", { data: { credits: 2500 } });
  expect(started.status()).toBe(201);
  const { reference, authorization_url: checkoutUrl } = (await started.json()) as { reference: string; authorization_url: string };
  const accessCode = new URL(checkoutUrl).pathname.split("/").pop();
  const paid = await page.request.post(`/api/payments/simulator/checkout/${accessCode}`, { form: { action: "pay" }, maxRedirects: 0 });
  expect(paid.status()).toBe(303);
  expect(paid.headers().location).toContain(`/payments/callback?trxref=${reference}&reference=${reference}`);

  const history = await page.request.get("/api/payments");
  const { payments } = (await history.json()) as { payments: { reference: string; status: string; credits: number }[] };
  expect(payments[0]).toMatchObject({ reference, status: "paid", credits: 2500 });
  await page.goto("/analytics");
  await expect(page.getByTestId("credit-balance")).toHaveText("3,000");

  // A forged delivery is refused: the simulator's secret is not guessable from outside.
  const forged = await page.request.post("/api/payments/webhook", {
    headers: { "content-type": "application/json", "x-paystack-signature": "0".repeat(128) },
    data: JSON.stringify({ event: "charge.success", data: { reference } }),
  });
  expect(forged.status()).toBe(401);
});

test("an admin finds a user's purchase in the payments list and filters it by status", async ({ page, browser }) => {
  await signUp(page);
  const email = await page.getByRole("banner").getByTitle(/@example\.test$/).textContent();
  await startPurchase(page);
  await page.getByRole("button", { name: /^Pay / }).click();
  await expect(page.getByRole("heading", { name: "Payment received" })).toBeVisible();

  const admin = await browser.newPage();
  const signedUp = await admin.request.post("/api/auth/signup", { data: { email: "admin@e2e.example", password: "correct horse battery" } });
  expect([201, 409]).toContain(signedUp.status());
  await admin.goto("/login");
  await admin.getByLabel("Email").fill("admin@e2e.example");
  await admin.getByLabel("Password").fill("correct horse battery");
  await admin.getByRole("button", { name: "Sign in" }).click();
  await expect(admin).toHaveURL(/\/analytics$/);
  await admin.goto("/admin");

  const list = admin.getByRole("region", { name: "Payments", exact: true });
  await expect(list.getByRole("row").filter({ hasText: email ?? "" })).toContainText("paid");
  await list.getByLabel("Status").selectOption("pending");
  await expect(list.getByRole("row").filter({ hasText: email ?? "" })).toHaveCount(0);
  await list.getByLabel("Status").selectOption("paid");
  await expect(list.getByRole("row").filter({ hasText: email ?? "" })).toContainText("1,000");
  await admin.screenshot({ path: test.info().outputPath("admin-payments.png"), fullPage: true });
  await admin.close();
});
