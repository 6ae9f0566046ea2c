import path from "node:path";
import { defineConfig } from "vitest/config";

// Database tests run twice: on the embedded PGlite and on a Postgres server. When no Postgres
// server answers, the second pass reports its tests as skipped rather than dropping them.
const databaseSuites = ["test/db/**/*.test.ts"];

export default defineConfig({
  resolve: { alias: { "@": path.resolve(import.meta.dirname) } },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["lib/**/*.test.ts", "gateway/**/*.test.ts", "cli/**/*.test.ts", "scripts/**/*.test.ts", "components/**/*.test.ts"],
        },
      },
      {
        extends: true,
        test: {
          name: "db:pglite",
          include: databaseSuites,
          globalSetup: ["test/setup/pglite.ts"],
          hookTimeout: 60_000,
          testTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: "db:postgres",
          include: databaseSuites,
          globalSetup: ["test/setup/postgres.ts"],
          hookTimeout: 60_000,
          testTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          // Black-box tests of the gateway process (gateway/), owned by the gateway suite.
          name: "gateway",
          include: ["test/gateway/**/*.test.ts"],
          hookTimeout: 60_000,
          testTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          // The deployment files (deploy/): validated without Docker, and the bundles run.
          name: "deploy",
          include: ["test/deploy/**/*.test.ts"],
          hookTimeout: 60_000,
          testTimeout: 60_000,
        },
      },
    ],
  },
});
