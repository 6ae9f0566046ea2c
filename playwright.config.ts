import { existsSync } from "node:fs";
import { defineConfig } from "@playwright/test";

// Debian's Chromium (apt-get install chromium); Playwright's own browser download is not used.
const systemChromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((path) => existsSync(path));
// E2E_PORT and NEXT_DIST_DIR let two checkouts' browser tests run side by side.
const appPort = Number(process.env.E2E_PORT ?? 3100);

export default defineConfig({
  testDir: "e2e",
  outputDir: process.env.E2E_OUTPUT_DIR ?? "test-results",
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  reporter: [["list"]],
  use: {
    baseURL: `http://localhost:${appPort}`,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? systemChromium,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    },
  },
  webServer: {
    // The whole stack on throwaway state: in-memory PGlite, migrations, gateway, production build.
    command: "npm run build && tsx scripts/dev.ts --ephemeral --app=start",
    url: `http://localhost:${appPort}/signup`,
    timeout: 300_000,
    reuseExistingServer: false,
    stdout: "pipe",
    env: {
      PORT: String(appPort),
      GATEWAY_PORT: String(appPort + 1000),
      GATEWAY_ADMIN_PORT: String(appPort + 1001),
      PGLITE_PORT: "0",
      ADMIN_EMAILS: "admin@e2e.example",
      NEXT_TELEMETRY_DISABLED: "1",
    },
  },
});
