import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { loadConfigFile, resolveSettings } from "../../gateway/config";
import { gatewayEnvSchema } from "../../gateway/env";
import { appEnvSchema, envFields, parseEnv } from "../../lib/env";
import {
  composeFiles,
  dependencies,
  deployDir,
  deployedCompose,
  exampleEnvNames,
  interpolate,
  publishedPorts,
  readCompose,
  readYaml,
  root,
  type ComposeFile,
  type ComposeService,
} from "./support";

// The Compose Specification's JSON schema, as shipped (current) by the dclint package.
const require = createRequire(import.meta.url);
const composeSchemaFile = path.join(
  path.dirname(require.resolve("dclint/package.json")),
  "schemas/compose.schema.json",
);
// It declares draft-07 by an https URL Ajv does not know by that name; draft-07 is Ajv's default.
const { $schema: _draft, ...composeSchema } = JSON.parse(
  readFileSync(composeSchemaFile, "utf8"),
) as Record<string, unknown>;
const validateCompose = new Ajv({ allErrors: true, strict: false }).compile(composeSchema);

// What the sync worker validates at start (scripts/worker.ts): the variables it cannot default.
const workerEnvSchema = z.object({
  DATABASE_URL: envFields.DATABASE_URL,
  LITELLM_BASE_URL: envFields.LITELLM_BASE_URL,
  LITELLM_MASTER_KEY: envFields.LITELLM_MASTER_KEY.unwrap(),
  KEY_ENCRYPTION_SECRET: envFields.KEY_ENCRYPTION_SECRET,
});

const requiredSecrets = [
  "POSTGRES_PASSWORD",
  "LITELLM_MASTER_KEY",
  "KEY_ENCRYPTION_SECRET",
  "AUTH_JWT_SECRET",
  "GRAFANA_ADMIN_PASSWORD",
];

function service(compose: ComposeFile, name: string): ComposeService {
  const found = compose.services[name];
  if (!found) throw new Error(`no service ${name}`);
  return found;
}

/** The service and port that LITELLM_BASE_URL names, e.g. http://gateway:4001. */
function hostAndPort(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: Number(parsed.port) };
}

describe.each(composeFiles)("deploy/%s", (file) => {
  it("is valid against the Compose Specification schema, as written and as deployed", () => {
    for (const document of [readCompose(file), deployedCompose(file)]) {
      const valid = validateCompose(document);
      expect(validateCompose.errors ?? [], JSON.stringify(validateCompose.errors, null, 2)).toEqual(
        [],
      );
      expect(valid).toBe(true);
    }
  });

  it("refuses to start until every required secret is set, and .env.example names each of them", () => {
    const { missing } = interpolate(readCompose(file), {});
    const missingNames = missing.map((entry) => entry.split(":")[0]);
    expect(missingNames).toEqual(expect.arrayContaining(requiredSecrets));
    for (const entry of missing)
      expect(entry, "each refusal says what to set").toMatch(/: set \w+ in deploy\/\.env/);
    const documented = exampleEnvNames();
    for (const name of missingNames)
      expect(documented.has(name ?? ""), `${name} in .env.example`).toBe(true);
    expect(() => deployedCompose(file)).not.toThrow();
  });

  it("depends only on services it defines, and runs the migrations once before the services that use the database", () => {
    const compose = deployedCompose(file);
    const names = Object.keys(compose.services);
    for (const [name, definition] of Object.entries(compose.services)) {
      for (const dependency of Object.keys(dependencies(definition))) {
        expect(names, `${name} depends on ${dependency}`).toContain(dependency);
      }
    }
    const migrate = service(compose, "migrate");
    expect(migrate.command).toEqual(["node", "dist/scripts/migrate.mjs"]);
    expect(migrate.restart).toBe("no");
    expect(dependencies(migrate).postgres).toBe("service_healthy");
    for (const name of names.filter((name) => ["app", "worker", "gateway"].includes(name))) {
      expect(dependencies(service(compose, name)).migrate, `${name} waits for the migrations`).toBe(
        "service_completed_successfully",
      );
    }
  });

  it("publishes no admin listener, and binds what it publishes to 127.0.0.1 unless told otherwise", () => {
    const compose = deployedCompose(file);
    for (const [name, definition] of Object.entries(compose.services)) {
      const adminPort = Number(definition.environment?.GATEWAY_ADMIN_PORT ?? 4001);
      for (const port of publishedPorts(definition)) {
        expect(port.target, `${name} publishes the admin listener`).not.toBe(adminPort);
        expect(port.target, `${name} publishes port 4001`).not.toBe(4001);
        expect(port.hostIp, `${name} publishes on every interface`).toBe("127.0.0.1");
      }
    }
  });

  it("pins every image it pulls to a version", () => {
    const compose = deployedCompose(file);
    for (const [name, definition] of Object.entries(compose.services)) {
      if (definition.build) {
        expect(
          existsSync(
            path.resolve(deployDir, definition.build.context, definition.build.dockerfile),
          ),
          `${name}'s Dockerfile`,
        ).toBe(true);
        continue;
      }
      const image = definition.image ?? "";
      expect(image, `${name}'s image`).toMatch(/(@sha256:[0-9a-f]{64}|:[^:/@]*\d[^:/@]*)$/);
      expect(image, `${name}'s image`).not.toMatch(/:(main-)?(latest|stable)$/);
    }
  });

  it("mounts only files and folders that exist in deploy/", () => {
    const compose = deployedCompose(file);
    for (const [name, definition] of Object.entries(compose.services)) {
      for (const volume of definition.volumes ?? []) {
        const source = volume.split(":")[0] ?? "";
        if (source.startsWith(".")) {
          expect(existsSync(path.resolve(deployDir, source)), `${name} mounts ${source}`).toBe(
            true,
          );
        } else {
          expect(Object.keys(compose.volumes ?? {}), `${name}'s volume ${source}`).toContain(
            source,
          );
        }
      }
    }
  });

  it("gives the app and the worker every variable they validate at start, pointing at a gateway it runs", () => {
    const compose = deployedCompose(file);
    const app = service(compose, "app").environment ?? {};
    expect(() => parseEnv(appEnvSchema, app)).not.toThrow();
    const worker = service(compose, "worker").environment ?? {};
    expect(() => parseEnv(workerEnvSchema, worker)).not.toThrow();
    for (const env of [app, worker]) {
      const { host, port } = hostAndPort(env.LITELLM_BASE_URL ?? "");
      const gateway = service(compose, host);
      const listens =
        host === "gateway"
          ? Number(gateway.environment?.GATEWAY_ADMIN_PORT)
          : Number(gateway.command?.at(-1));
      expect(port, `LITELLM_BASE_URL reaches ${host}'s admin API`).toBe(listens);
      expect(env.LITELLM_MASTER_KEY).toBe(gateway.environment?.LITELLM_MASTER_KEY);
    }
    expect(() =>
      parseEnv(
        z.object({ DATABASE_URL: envFields.DATABASE_URL }),
        service(compose, "migrate").environment ?? {},
      ),
    ).not.toThrow();
  });
});

describe("deploy/docker-compose.yml", () => {
  it("starts our gateway with a valid environment and the config it mounts", async () => {
    const compose = deployedCompose("docker-compose.yml");
    const gateway = service(compose, "gateway");
    const env = gateway.environment ?? {};
    const parsed = parseEnv(gatewayEnvSchema, env);
    expect(parsed.GATEWAY_ADMIN_HOST, "reachable on the compose network").toBe("0.0.0.0");
    expect(publishedPorts(gateway).map((port) => port.target)).toEqual([parsed.GATEWAY_PORT]);

    const mount = (gateway.volumes ?? []).find(
      (volume) => volume.split(":")[1] === parsed.GATEWAY_CONFIG,
    );
    expect(mount, "the config GATEWAY_CONFIG names is mounted").toBeDefined();
    const configFile = path.resolve(deployDir, mount?.split(":")[0] ?? "");
    const settings = resolveSettings(
      await loadConfigFile(configFile, env),
      parsed.LITELLM_MASTER_KEY,
    );
    expect(settings.requireAuthForMetrics).toBe(true);
    const tiers = readYaml(path.join(root, "cli/tiers.yaml")) as {
      tiers: Record<string, { models: string[] }>;
    };
    const tierModels = Object.values(tiers.tiers).flatMap((tier) => tier.models);
    const served = settings.deployments.map((deployment) => deployment.modelName);
    for (const model of tierModels) expect(served, `cli/tiers.yaml's ${model}`).toContain(model);
  });
});

describe("deploy/docker-compose.litellm.yml", () => {
  it("runs the upstream LiteLLM proxy on its own database instead of our gateway", () => {
    const compose = deployedCompose("docker-compose.litellm.yml");
    expect(Object.keys(compose.services)).not.toContain("gateway");
    const litellm = service(compose, "litellm");
    expect(litellm.image).toMatch(/^ghcr\.io\/berriai\/litellm:/);
    const databaseUrl = new URL(litellm.environment?.DATABASE_URL ?? "");
    expect(Object.keys(compose.services)).toContain(databaseUrl.hostname);
    expect(databaseUrl.hostname).not.toBe("postgres");
    expect(dependencies(litellm)[databaseUrl.hostname]).toBe("service_healthy");
    const config = readYaml(path.join(deployDir, "litellm/config.yaml")) as {
      general_settings: Record<string, string>;
    };
    expect(config.general_settings.master_key).toBe("os.environ/LITELLM_MASTER_KEY");
    expect(config.general_settings.database_url).toBe("os.environ/DATABASE_URL");
  });
});
