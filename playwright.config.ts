import { existsSync } from "node:fs";
import { defineConfig } from "@playwright/test";

// Debian's Chromium (apt-get install chromium); Playwright's own browser download is not used.
const systemChromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((path) => existsSync(path));
const appPort = 3100;

export default defineConfig({
  testDir: "e2e",
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
      GATEWAY_PORT: "4100",
      GATEWAY_ADMIN_PORT: "4101",
      PGLITE_PORT: "0",
      ADMIN_EMAILS: "admin@e2e.example",
      NEXT_TELEMETRY_DISABLED: "1",
    },
  },
});
