import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "../../lib/db/embedded";
import { buildGateway, gatewayNodeFlags } from "../../scripts/build-gateway";
import { freePort, masterKey, runGatewayExpectingFailure, startGateway } from "./support/gateway";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

let postgres: EmbeddedPostgres;

beforeAll(async () => {
  postgres = await startEmbeddedPostgres();
});
afterAll(async () => {
  await postgres.stop();
});

async function configFile(text: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "gateway-config-"));
  const file = path.join(dir, "config.yaml");
  await writeFile(file, text);
  return file;
}

const pricedMock = `
model_list:
  - model_name: m
    litellm_params: { model: mock/m }
    model_info: { input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 }
`;

describe("the gateway refuses to start on a config that would be unsafe", () => {
  it("without a master key, instead of treating every caller as admin", async () => {
    const result = await runGatewayExpectingFailure({ DATABASE_URL: postgres.url, GATEWAY_CONFIG: await configFile(pricedMock) });
    expect(result.code).toBe(1);
    expect(result.output).toContain("LITELLM_MASTER_KEY");
  });

  it("with a master key that does not start with sk-", async () => {
    const result = await runGatewayExpectingFailure({
      DATABASE_URL: postgres.url,
      GATEWAY_CONFIG: await configFile(pricedMock),
      LITELLM_MASTER_KEY: "not-a-valid-master",
    });
    expect(result.code).toBe(1);
    expect(result.output).toContain("LITELLM_MASTER_KEY");
  });

  it("with a model that has no price, which would never trip a budget", async () => {
    const result = await runGatewayExpectingFailure({
      DATABASE_URL: postgres.url,
      LITELLM_MASTER_KEY: masterKey,
      GATEWAY_CONFIG: await configFile("model_list:\n  - model_name: unpriced\n    litellm_params: { model: openai/some-private-model, api_base: http://127.0.0.1:9/v1 }\n"),
    });
    expect(result.code).toBe(1);
    expect(result.output).toContain('"unpriced" has no price');
  });

  it("with a reference to an unset environment variable, naming it", async () => {
    const result = await runGatewayExpectingFailure({
      DATABASE_URL: postgres.url,
      LITELLM_MASTER_KEY: masterKey,
      GATEWAY_CONFIG: await configFile(
        "model_list:\n  - model_name: gpt-4o\n    litellm_params: { model: openai/gpt-4o, api_key: os.environ/NOT_SET_ANYWHERE }\n",
      ),
    });
    expect(result.code).toBe(1);
    expect(result.output).toContain("NOT_SET_ANYWHERE");
  });

  it("without DATABASE_URL, naming it", async () => {
    const result = await runGatewayExpectingFailure({ LITELLM_MASTER_KEY: masterKey, GATEWAY_CONFIG: await configFile(pricedMock) });
    expect(result.code).toBe(1);
    expect(result.output).toContain("DATABASE_URL");
  });
});

describe("the gateway starts on a good config", () => {
  it("serves public and admin routes on one port when GATEWAY_ADMIN_PORT equals GATEWAY_PORT, with ${VAR} interpolation", async () => {
    const gateway = await startGateway({
      config: `
model_list:
  - model_name: \${MODEL_NAME}
    litellm_params: { model: mock/m }
    model_info: { base_model: gpt-4o-mini }
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
`,
      databaseUrl: postgres.url,
      samePort: true,
      env: { MODEL_NAME: "interpolated-model" },
    });
    try {
      expect(gateway.adminUrl).toBe(gateway.publicUrl);
      const generated = await fetch(`${gateway.publicUrl}/key/generate`, {
        method: "POST",
        headers: { authorization: `Bearer ${masterKey}` },
        body: "{}",
      });
      expect(generated.status).toBe(200);
      const models = await fetch(`${gateway.publicUrl}/v1/models`, { headers: { authorization: `Bearer ${masterKey}` } });
      expect(((await models.json()) as { data: { id: string }[] }).data.map((model) => model.id)).toEqual(["interpolated-model"]);
    } finally {
      expect(await gateway.stop()).toBe(0);
    }
  });

  it("the shipped local config starts with its mock models and seed 002's tier names", async () => {
    const config = await readFile(path.resolve(import.meta.dirname, "../../gateway/config.local.yaml"), "utf8");
    const gateway = await startGateway({ config, databaseUrl: postgres.url });
    try {
      const res = await fetch(`${gateway.publicUrl}/v1/models`, { headers: { authorization: `Bearer ${masterKey}` } });
      const ids = ((await res.json()) as { data: { id: string }[] }).data.map((model) => model.id);
      expect(ids).toEqual(
        expect.arrayContaining(["gpt-4o-mini", "claude-3-5-sonnet", "text-embedding-3-small", "model-cheap", "model-balanced", "model-reasoning", "model-reasoning-opus"]),
      );
    } finally {
      await gateway.stop();
    }
  });
});

describe("npm run gateway runs a bundle of the same code", () => {
  it("the bundle migrates its schema, serves the OpenAI API and stops cleanly", async () => {
    const bundle = await buildGateway();
    const gateway = await startGateway({ config: pricedMock, databaseUrl: postgres.url, command: [...gatewayNodeFlags, bundle] });
    try {
      const res = await fetch(`${gateway.publicUrl}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${masterKey}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "hi" }] }),
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { object: string }).object).toBe("chat.completion");
    } finally {
      expect(await gateway.stop()).toBe(0);
    }
  });

  it("package.json starts the bundle with the flags the benchmark measures", async () => {
    const manifest = JSON.parse(await readFile(path.resolve(import.meta.dirname, "../../package.json"), "utf8")) as {
      scripts: Record<string, string>;
    };
    expect(manifest.scripts.gateway).toBe(`tsx scripts/build-gateway.ts && node ${gatewayNodeFlags.join(" ")} gateway/dist/main.mjs`);
  });
});

describe("the gateway waits for its database at start-up", () => {
  it("a Postgres that comes up after the gateway is still used, as under npm run dev", async () => {
    const port = await freePort();
    const starting = startGateway({ config: pricedMock, databaseUrl: `postgres://postgres:postgres@127.0.0.1:${port}/postgres` });
    // Give the gateway a database only once it is already trying to reach one.
    const late = await startEmbeddedPostgres({ port });
    try {
      const gateway = await starting;
      const res = await fetch(`${gateway.publicUrl}/health/readiness`);
      expect(res.status).toBe(200);
      await gateway.stop();
    } finally {
      await late.stop();
    }
  });
});
