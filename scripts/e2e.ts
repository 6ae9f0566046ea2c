/**
 * `npm run test:e2e`: the Playwright browser tests in the system Chromium. On a machine without
 * one (only Node and npm), they are reported as skipped with what to install, so
 * `npm install && npm test` still passes there; under CI a missing browser is a failure, because
 * .ci/run installs it.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const candidates = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"].filter(
  (path): path is string => Boolean(path),
);
const chromium = candidates.find((path) => existsSync(path));

if (!chromium) {
  const message = `browser tests: no Chromium found (looked at ${candidates.join(", ")}); install Debian's chromium package or set CHROMIUM_PATH`;
  if (process.env.CI) {
    console.error(`${message}. Failing because CI=true.`);
    process.exit(1);
  }
  console.warn(`${message}. Skipped.`);
  process.exit(0);
}

const result = spawnSync(process.execPath, ["node_modules/@playwright/test/cli.js", "test", ...process.argv.slice(2)], {
  stdio: "inherit",
  env: { ...process.env, CHROMIUM_PATH: chromium },
});
process.exit(result.status ?? 1);
