import { randomUUID } from "node:crypto";
import { expect, test } from "@playwright/test";

const password = "correct horse battery";

test("a new user signs up, lands on the dashboard with 500 credits, signs out and signs back in", async ({ page }) => {
  const email = `e2e-${randomUUID().slice(0, 8)}@example.test`;

  await page.goto("/signup");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();

  await expect(page).toHaveURL(/\/analytics$/);
  await expect(page.getByTestId("credit-balance")).toHaveText("500");
  await expect(page.getByText("$5.00 of gateway budget")).toBeVisible();
  await expect(page.getByText("Welcome credits")).toBeVisible();

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto("/analytics");
  await expect(page).toHaveURL(/\/login$/);

  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/analytics$/);
  await expect(page.getByTestId("credit-balance")).toHaveText("500");
});

test("a wrong password is refused with a message and no session", async ({ page }) => {
  await page.goto("/login");
  await page.getByLabel("Email").fill(`nobody-${randomUUID().slice(0, 8)}@example.test`);
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.locator("form").getByRole("alert")).toHaveText("Email or password is incorrect");
  await expect(page).toHaveURL(/\/login$/);
});

test("signup explains a short password next to the form", async ({ page }) => {
  await page.goto("/signup");
  await page.getByLabel("Email").fill(`short-${randomUUID().slice(0, 8)}@example.test`);
  await page.getByLabel("Password").fill("short");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.locator("form").getByRole("alert")).toHaveText("Password must be at least 8 characters.");
});

test("pages for signed-in users redirect to /login without a session", async ({ page }) => {
  for (const path of ["/analytics", "/admin"]) {
    await page.goto(path);
    await expect(page).toHaveURL(/\/login$/);
  }
});

test("/admin answers 403 to a signed-in user who is not an admin, and opens for an admin", async ({ page, request }) => {
  const email = `plain-${randomUUID().slice(0, 8)}@example.test`;
  await page.goto("/signup");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/analytics$/);

  const response = await page.goto("/admin");
  expect(response?.status()).toBe(403);
  await expect(page.getByRole("heading", { name: "This page is for admins" })).toBeVisible();

  await page.getByRole("link", { name: "Back to your dashboard" }).click();
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);

  const admin = await request.post("/api/auth/signup", { data: { email: "admin@e2e.example", password } });
  expect([201, 409]).toContain(admin.status());
  await page.goto("/login");
  await page.getByLabel("Email").fill("admin@e2e.example");
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/analytics$/);
  await page.getByRole("link", { name: "Admin" }).click();
  await expect(page.getByRole("heading", { name: "Admin" })).toBeVisible();
  await expect(page.getByRole("cell", { name: email, exact: true })).toBeVisible();
  // A search that matches nobody says so, rather than showing bare column headers.
  await page.getByLabel("Search users by email").fill("nobody-matches-this");
  await expect(page.getByText("No user's email contains “nobody-matches-this”.")).toBeVisible();
});
