import { randomUUID } from "node:crypto";
import { expect, test, type Browser, type Page } from "@playwright/test";
import OpenAI from "openai";

const password = "correct horse battery";
const appPort = Number(process.env.E2E_PORT ?? 3100);
const gatewayBaseUrl = `http://localhost:${appPort + 1000}/v1`;
// scripts/dev.ts --ephemeral: POST /gateway/stop and /gateway/start on GATEWAY_ADMIN_PORT + 1.
const controlUrl = `http://127.0.0.1:${appPort + 1002}`;

async function signUp(page: Page, email = `dash-${randomUUID().slice(0, 8)}@example.test`): Promise<string> {
  await page.goto("/signup");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/analytics$/);
  return email;
}

async function createKey(page: Page, alias: string, model: string): Promise<string> {
  await page.getByRole("button", { name: "Create key" }).click();
  const dialog = page.getByRole("dialog", { name: "Create an API key" });
  await dialog.getByLabel("Name").fill(alias);
  await dialog.getByLabel(model, { exact: true }).check();
  await dialog.getByRole("button", { name: "Create key" }).click();
  const reveal = page.getByRole("dialog", { name: "Your new key" });
  await expect(reveal.getByText("you will not see this again")).toBeVisible();
  return reveal.getByLabel("Your new API key").inputValue();
}

/** Buys 1,000 credits through the local test checkout and comes back to the dashboard. */
async function buyThousandCredits(page: Page): Promise<void> {
  await page.getByRole("button", { name: "Buy credits" }).click();
  const buy = page.getByRole("dialog", { name: "Buy credits" });
  await buy.getByLabel(/1,000 credits/).check();
  await buy.getByRole("button", { name: "Continue to payment" }).click();
  await page.getByRole("button", { name: /^Pay / }).click();
  await expect(page.getByTestId("payment-status")).toBeVisible();
  await page.getByRole("link", { name: "Back to the dashboard" }).click();
}

async function keepScreenshot(page: Page, name: string) {
  await page.screenshot({ path: test.info().outputPath(`${name}.png`), fullPage: true });
  await test.info().attach(name, { path: test.info().outputPath(`${name}.png`), contentType: "image/png" });
}

async function chat(secret: string) {
  const client = new OpenAI({ baseURL: gatewayBaseUrl, apiKey: secret, maxRetries: 0 });
  return client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Say hello" }] });
}

test("a new user buys credits, creates and copies a key, calls the gateway, sees the usage, and revokes the key", async ({ browser }) => {
  test.setTimeout(180_000);
  const context = await browser.newContext({ permissions: ["clipboard-read", "clipboard-write"] });
  const page = await context.newPage();
  await signUp(page);
  await expect(page.getByTestId("credit-balance")).toHaveText("500");

  await buyThousandCredits(page);
  await expect(page.getByTestId("credit-balance")).toHaveText("1,500");

  const secret = await createKey(page, "e2e-laptop", "gpt-4o-mini");
  expect(secret).toMatch(/^sk-/);
  await page.getByRole("button", { name: "Copy key" }).click();
  await expect(page.getByRole("button", { name: "Copied", exact: true })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
  await expect(page.getByRole("tabpanel")).toContainText(gatewayBaseUrl);
  await page.getByRole("tab", { name: "Python" }).click();
  await expect(page.getByRole("tabpanel")).toContainText(`api_key="${secret}"`);
  // Claude Code takes the gateway's root (it adds /v1/messages), Codex the /v1 base and /v1/responses.
  await page.getByRole("tab", { name: "Claude Code" }).click();
  await expect(page.getByRole("tabpanel")).toContainText(`ANTHROPIC_BASE_URL="${gatewayBaseUrl.replace(/\/v1$/, "")}"`);
  await expect(page.getByRole("tabpanel")).toContainText(`ANTHROPIC_AUTH_TOKEN="${secret}"`);
  await page.getByRole("tab", { name: "Codex" }).click();
  await expect(page.getByRole("tabpanel")).toContainText(`base_url = "${gatewayBaseUrl}"`);
  await expect(page.getByRole("tabpanel")).toContainText('wire_api = "responses"');
  await page.getByRole("button", { name: "I have copied it" }).click();

  const row = page.getByTestId("key-row").filter({ hasText: "e2e-laptop" });
  await expect(row.getByTestId("sync-state")).toContainText("Synced");
  await expect(row).toContainText(`sk-…${secret.slice(-4)}`);

  const reply = await chat(secret);
  expect(reply.choices[0]?.message.content).toBeTruthy();

  // The worker imports usage every second on the test stack; the page shows it after a reload.
  await expect(async () => {
    await page.reload();
    await expect(page.getByTestId("usage-total-requests")).toHaveText("1", { timeout: 2_000 });
  }).toPass({ timeout: 60_000 });
  await expect(page.getByText("Up to date: imported from the gateway")).toBeVisible();
  await expect(page.locator("figure").filter({ hasText: "Tokens per model" })).toContainText("gpt-4o-mini");
  await keepScreenshot(page, "new-user-dashboard");

  await row.getByRole("button", { name: "Revoke e2e-laptop" }).click();
  await page.getByRole("dialog", { name: "Revoke this key?" }).getByRole("button", { name: "Revoke key" }).click();
  await expect(row).toContainText("revoked");
  await expect(row.getByTestId("sync-state")).toContainText("Synced");
  const refused = await chat(secret).catch((err: unknown) => err);
  expect(refused).toBeInstanceOf(OpenAI.APIError);
  expect((refused as InstanceType<typeof OpenAI.APIError>).status).toBe(401);
  await context.close();
});

test("a revoked key's row keeps its columns in line with the other keys", async ({ page }) => {
  await signUp(page);
  for (const alias of ["kept", "dropped"]) {
    await createKey(page, alias, "gpt-4o-mini");
    await page.getByRole("button", { name: "I have copied it" }).click();
  }
  const dropped = page.getByTestId("key-row").filter({ hasText: "dropped" });
  await dropped.getByRole("button", { name: "Revoke dropped" }).click();
  await page.getByRole("dialog", { name: "Revoke this key?" }).getByRole("button", { name: "Revoke key" }).click();
  await expect(dropped).toContainText("revoked");
  const kept = page.getByTestId("key-row").filter({ hasText: "kept" });
  // Each column (name, budget, limits, sync state) starts at the same x in both rows.
  for (let column = 1; column <= 3; column += 1) {
    const [a, b] = await Promise.all([kept, dropped].map((row) => row.locator(":scope > *").nth(column).boundingBox()));
    expect(Math.abs((a?.x ?? 0) - (b?.x ?? -100)), `column ${column}`).toBeLessThan(1);
  }
});

test("a key whose budget is more than the user's credits says the credits are the nearer limit, until more are bought", async ({ page }) => {
  await signUp(page);
  // 500 welcome credits ($5.00) against the default key budget of $10.00.
  await createKey(page, "bigger-than-credits", "gpt-4o-mini");
  await page.getByRole("button", { name: "I have copied it" }).click();
  const row = page.getByTestId("key-row").filter({ hasText: "bigger-than-credits" });
  await expect(row).toContainText("$10.00 left");
  await expect(row.getByTestId("credit-cap")).toHaveText("Your credits allow $5.00");

  await buyThousandCredits(page);
  await expect(page.getByTestId("credit-balance")).toHaveText("1,500");
  await expect(row).toContainText("$10.00 left");
  await expect(row.getByTestId("credit-cap")).toHaveCount(0);
});

test("a usage range typed the wrong way round moves its other end instead of failing to load", async ({ page }) => {
  await signUp(page);
  const from = page.getByLabel("From", { exact: true });
  const to = page.getByLabel("To", { exact: true });
  await to.fill("2026-01-10");
  await from.fill("2026-02-01");
  await expect(to).toHaveValue("2026-02-01");
  await to.fill("2026-01-05");
  await expect(from).toHaveValue("2026-01-05");
  await expect(page.getByTestId("usage-total-requests")).toHaveText("0");
  await expect(page.getByText("Could not load usage")).toHaveCount(0);
});

test("the key form refuses bad values next to each field, and a name with markup is shown as text", async ({ page }) => {
  await signUp(page);
  await page.getByRole("button", { name: "Create key" }).click();
  const dialog = page.getByRole("dialog", { name: "Create an API key" });
  await dialog.getByLabel("Name").fill("");
  await dialog.getByLabel("Budget (USD)").fill("-5");
  await dialog.getByLabel("Requests per minute").fill("abc");
  await dialog.getByLabel("Tokens per minute").fill("99999999999999");
  await dialog.getByRole("button", { name: "Create key" }).click();
  await expect(dialog.locator('[data-field-error="alias"]')).toHaveText("Give the key a name");
  await expect(dialog.locator('[data-field-error="max_budget"]')).toHaveText("The budget cannot be negative");
  await expect(dialog.locator('[data-field-error="rpm_limit"]')).toHaveText("Requests per minute must be a whole number");
  await expect(dialog.locator('[data-field-error="tpm_limit"]')).toHaveText("Tokens per minute must be at most 1,000,000,000");
  await expect(dialog.getByLabel("Name")).toBeFocused();
  await expect(dialog.getByLabel("Name")).toHaveAttribute("aria-invalid", "true");

  await dialog.getByLabel("Name").fill("<script>alert(1)</script>");
  await dialog.getByRole("button", { name: "Create key" }).click();
  await expect(dialog.locator('[data-field-error="alias"]')).toHaveText("The name must not contain < or >");
  await keepScreenshot(page, "key-form-errors");
  await dialog.getByRole("button", { name: "Cancel" }).click();

  // A name with markup that came in through the API is shown as the characters it is.
  let alerted = false;
  page.on("dialog", async (prompt) => {
    alerted = true;
    await prompt.dismiss();
  });
  const created = await page.request.post("/api/keys/manage", { data: { alias: "<img src=x onerror=alert(1)>" } });
  expect(created.status()).toBeLessThan(300);
  await page.reload();
  await expect(page.getByTestId("key-row").getByText("<img src=x onerror=alert(1)>")).toBeVisible();
  expect(alerted).toBe(false);
});

async function signInAs(browser: Browser, email: string): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const signup = await page.request.post("/api/auth/signup", { data: { email, password } });
  expect([201, 409]).toContain(signup.status());
  await page.goto("/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/analytics$/);
  return page;
}

test("an operator sees a key edited while the gateway was down as failed, retries it once the gateway is back, and the user sees it synced", async ({ browser, request }) => {
  test.setTimeout(180_000);
  const userEmail = `ops-${randomUUID().slice(0, 8)}@example.test`;
  const user = await signInAs(browser, userEmail);
  await createKey(user, "ops-key", "gpt-4o-mini");
  await user.getByRole("button", { name: "I have copied it" }).click();
  const row = user.getByTestId("key-row").filter({ hasText: "ops-key" });
  await expect(row.getByTestId("sync-state")).toContainText("Synced");

  expect((await request.post(`${controlUrl}/gateway/stop`)).status()).toBe(200);
  try {
    await row.getByRole("button", { name: "Edit ops-key" }).click();
    const dialog = user.getByRole("dialog", { name: "Edit “ops-key”" });
    await dialog.getByLabel("Requests per minute").fill("42");
    await dialog.getByRole("button", { name: "Save changes" }).click();
    await expect(user.getByText("The gateway has not confirmed this change yet")).toBeVisible();
    await expect(row).toContainText("42/min");
    await expect(user.getByTestId("gateway-state")).toHaveText("Down");
    await expect(user.getByText("This page shows local data")).toBeVisible();

    const admin = await signInAs(browser, "admin@e2e.example");
    await admin.goto("/admin");
    const problem = admin.getByTestId("sync-problem").filter({ hasText: userEmail });
    // The worker's retries mark the row failed from its third attempt (seconds, with backoff).
    await expect(problem).toHaveAttribute("data-status", "failed", { timeout: 60_000 });
    await expect(problem).toContainText("42 rpm");
    await expect(admin.getByTestId("health-gateway")).toContainText("not answering");
    await keepScreenshot(admin, "operator-sync-failure");

    expect((await request.post(`${controlUrl}/gateway/start`)).status()).toBe(200);
    // The worker may converge it on its own first; otherwise the operator's retry does.
    const retry = problem.getByRole("button", { name: /^Retry/ });
    if (await retry.isVisible()) await retry.click().catch(() => undefined);
    await expect(problem).toHaveCount(0, { timeout: 30_000 });
    await keepScreenshot(admin, "operator-after-retry");

    await user.reload();
    await expect(user.getByTestId("key-row").filter({ hasText: "ops-key" }).getByTestId("sync-state")).toContainText("✓ Synced");
    await keepScreenshot(user, "user-after-retry");
  } finally {
    await request.post(`${controlUrl}/gateway/start`);
  }
});

test("relative times render without a hydration error when the browser's clock is not the server's, and follow the browser's clock", async ({ page }) => {
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(error.message));
  await signUp(page);
  const created = await page.request.post("/api/keys/manage", { data: { alias: "clock-skew" } });
  expect(created.status()).toBeLessThan(300);
  const row = page.getByTestId("key-row").filter({ hasText: "clock-skew" });
  await expect(async () => {
    await page.reload();
    await expect(row.getByTestId("sync-state")).toContainText("Synced", { timeout: 2_000 });
  }).toPass({ timeout: 60_000 });

  // The server renders "just now"; the browser, an hour ahead, must say "1 h ago" once it runs.
  errors.length = 0;
  await page.clock.install({ time: Date.now() + 3_600_000 });
  await page.reload();
  await expect(row.getByTestId("sync-state")).toContainText("1 h ago");
  expect(errors).toEqual([]);
});
