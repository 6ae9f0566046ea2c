import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleServices } from "../../deploy/bundle";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "../../lib/db/embedded";
import { gatewayNodeFlags } from "../../scripts/build-gateway";
import { freePort, waitFor } from "../gateway/support/gateway";
import { deployDir } from "./support";

/**
 * What deploy/Dockerfile.gateway puts in the image, run without Docker: the bundles built by
 * deploy/bundle.ts, copied to a folder outside the repository (so nothing resolves from its
 * node_modules), started with `node` against a real Postgres (embedded PGlite).
 */

const masterKey = "sk-deploy-bundle-0123456789abcdef";
let bundleDir: string;
let database: EmbeddedPostgres;
const running = new Set<ChildProcess>();

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function start(
  program: string,
  args: string[],
  env: Record<string, string>,
  nodeFlags: readonly string[] = [],
): Run {
  const child = spawn(process.execPath, [...nodeFlags, program, ...args], {
    cwd: bundleDir,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: "production",
      LOG_LEVEL: "info",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, "exit").then(([code]) => {
    running.delete(child);
    return code as number | null;
  });
  return { child, output: () => output, exited };
}

beforeAll(async () => {
  bundleDir = await mkdtemp(path.join(tmpdir(), "creditgate-bundle-"));
  await bundleServices(bundleDir);
  database = await startEmbeddedPostgres();
});

afterAll(async () => {
  for (const child of running) child.kill("SIGKILL");
  await database?.stop();
  if (bundleDir) await rm(bundleDir, { recursive: true, force: true });
});

describe("the services image's bundles", () => {
  it("migrate the app's schema once, and a second run applies nothing", async () => {
    const first = start("dist/scripts/migrate.mjs", [], { DATABASE_URL: database.url });
    expect(await first.exited, first.output()).toBe(0);
    expect(first.output()).toMatch(/[1-9]\d* applied, 0 already applied/);
    const second = start("dist/scripts/migrate.mjs", [], { DATABASE_URL: database.url });
    expect(await second.exited, second.output()).toBe(0);
    expect(second.output()).toMatch(/^0 applied, [1-9]\d* already applied/m);
  });

  it("serve the gateway with the compose config: public routes public, admin routes and /metrics only on the admin listener with the master key", async () => {
    const [publicPort, adminPort] = [await freePort(), await freePort()];
    const gateway = start(
      "dist/gateway/main.mjs",
      [],
      {
        DATABASE_URL: database.url,
        LITELLM_MASTER_KEY: masterKey,
        OPENAI_API_KEY: "sk-never-called",
        GATEWAY_CONFIG: path.join(deployDir, "gateway/config.yaml"),
        GATEWAY_PORT: String(publicPort),
        GATEWAY_ADMIN_PORT: String(adminPort),
        GATEWAY_HOST: "127.0.0.1",
        GATEWAY_ADMIN_HOST: "127.0.0.1",
      },
      gatewayNodeFlags,
    );
    const publicUrl = `http://127.0.0.1:${publicPort}`;
    const adminUrl = `http://127.0.0.1:${adminPort}`;
    await waitFor(
      async () => {
        if (gateway.child.exitCode !== null)
          throw new Error(`gateway exited:\n${gateway.output()}`);
        return (await fetch(`${publicUrl}/health/liveliness`)).ok || undefined;
      },
      45_000,
      "the bundled gateway",
    );
    const authorization = { authorization: `Bearer ${masterKey}` };

    const models = (await (
      await fetch(`${publicUrl}/v1/models`, { headers: authorization })
    ).json()) as { data: { id: string }[] };
    expect(models.data.map((model) => model.id)).toEqual(
      expect.arrayContaining(["model-cheap", "model-balanced", "model-reasoning"]),
    );
    expect((await fetch(`${publicUrl}/metrics`, { headers: authorization })).status).toBe(404);
    expect(
      (
        await fetch(`${publicUrl}/key/generate`, {
          method: "POST",
          headers: authorization,
          body: "{}",
        })
      ).status,
    ).toBe(404);
    expect((await fetch(`${adminUrl}/metrics`)).status).toBe(401);
    const metrics = await fetch(`${adminUrl}/metrics`, { headers: authorization });
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(
      /^# TYPE litellm_proxy_total_requests_metric_total counter$/m,
    );
    const created = await fetch(`${adminUrl}/key/generate`, {
      method: "POST",
      headers: { ...authorization, "content-type": "application/json" },
      body: "{}",
    });
    expect(created.status).toBe(200);

    gateway.child.kill("SIGTERM");
    expect(await gateway.exited, gateway.output()).toBe(0);
  });

  it("run the sync worker and the CLI with nothing but Node", async () => {
    const cli = start("dist/cli/main.mjs", ["create-teams"], {
      LITELLM_BASE_URL: "http://127.0.0.1:9",
      LITELLM_MASTER_KEY: masterKey,
    });
    const cliCode = await cli.exited;
    // The CLI found its bundled tiers file and got as far as the (absent) gateway.
    expect(cli.output()).toMatch(/cannot reach the gateway/);
    expect(cliCode).toBe(1);

    const worker = start("dist/scripts/worker.mjs", [], {
      DATABASE_URL: database.url,
      LITELLM_BASE_URL: "http://127.0.0.1:9",
      LITELLM_MASTER_KEY: masterKey,
      KEY_ENCRYPTION_SECRET: "ab".repeat(32),
    });
    await waitFor(
      () => (/sync worker started/.test(worker.output()) ? true : undefined),
      30_000,
      "the worker to start",
    );
    worker.child.kill("SIGTERM");
    expect(await worker.exited, worker.output()).toBe(0);
  });
});
