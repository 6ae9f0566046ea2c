import { execFile } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "../../lib/db/embedded";
import { freePort, masterKey, startGateway, waitFor, type RunningGateway } from "./support/gateway";

/**
 * The operator CLI end to end against the real gateway process, through the LiteLLM admin API
 * only: every command of the admin script seed (000) and the tier onboarding seed (002).
 */

const run = promisify(execFile);

// The seeds' model names as mock models; `mock-pricey` costs a dollar or more per request, so a
// $1 budget runs out after a request or two.
const cliGatewayConfig = `
model_list:
  - model_name: model-cheap
    litellm_params: { model: mock/model-cheap }
    model_info: { input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 }
  - model_name: model-balanced
    litellm_params: { model: mock/model-balanced }
    model_info: { input_cost_per_token: 0.000003, output_cost_per_token: 0.000015 }
  - model_name: model-reasoning
    litellm_params: { model: mock/model-reasoning }
    model_info: { input_cost_per_token: 0.000002, output_cost_per_token: 0.000008 }
  - model_name: model-reasoning-opus
    litellm_params: { model: mock/model-reasoning-opus }
    model_info: { input_cost_per_token: 0.000015, output_cost_per_token: 0.000075 }
  - model_name: mock-pricey
    litellm_params: { model: mock/mock-pricey }
    model_info: { input_cost_per_token: 0.1, output_cost_per_token: 0.1 }
general_settings:
  proxy_batch_write_at: 1
`;

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

// Each command is a fresh process (about half a second to start), so the suite allows more time.
describe("creditgate against the real gateway", { timeout: 120_000 }, () => {
  let postgres: EmbeddedPostgres;
  let gateway: RunningGateway;
  let dir: string;

  beforeAll(async () => {
    postgres = await startEmbeddedPostgres();
    gateway = await startGateway({ config: cliGatewayConfig, databaseUrl: postgres.url });
    dir = await mkdtemp(path.join(tmpdir(), "creditgate-cli-"));
  });
  afterAll(async () => {
    await gateway?.stop();
    await postgres?.stop();
  });

  async function creditgate(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
    const { PATH, HOME } = process.env;
    return run(process.execPath, ["cli/bin.mjs", ...args], {
      env: { PATH, HOME, NODE_ENV: "test", LITELLM_URL: gateway.adminUrl, LITELLM_MASTER_KEY: masterKey, ...env },
      maxBuffer: 64 * 1024 * 1024,
    }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
    );
  }

  async function json<T>(args: string[]): Promise<T> {
    const result = await creditgate([...args, "--json"]);
    expect(result, result.stderr).toMatchObject({ code: 0 });
    return JSON.parse(result.stdout) as T;
  }

  const chat = (secret: string, model: string) =>
    fetch(`${gateway.publicUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
      body: JSON.stringify({ model, messages: [{ role: "user", content: "hello there" }], max_tokens: 5 }),
    });

  const unique = (label: string) => `${label}-${Math.random().toString(36).slice(2, 10)}@company.test`;

  it("help lists every command, and each command has its own help with an example", async () => {
    const help = await creditgate(["help"]);
    expect(help.code).toBe(0);
    for (const name of [
      "create-user",
      "list-users",
      "get-user",
      "delete-user",
      "update-budget",
      "create-key",
      "list-keys",
      "delete-key",
      "health",
      "create-teams",
      "add-user",
      "bulk-onboard",
      "admin",
      "sync",
    ]) {
      expect(help.stdout).toContain(name);
    }
    const createKey = await creditgate(["help", "create-key"]);
    expect(createKey.code).toBe(0);
    expect(createKey.stdout).toMatch(/--rpm <n>[\s\S]*Examples:/);
    expect((await creditgate(["create-user", "--help"])).stdout).toContain("--duration <period>");
  });

  it("health reports the gateway reachable, its database connected and its models", async () => {
    const report = await json<{ status: string; database: string; models: string[] }>(["health"]);
    expect(report).toMatchObject({ status: "healthy", database: "connected" });
    expect(report.models).toEqual(expect.arrayContaining(["model-cheap", "mock-pricey"]));
  });

  it("the admin script's user commands: create, list, get, update the budget, delete", async () => {
    const lead = unique("lead");
    const created = await json<{ user_id: string; key: string }>(["create-user", "--email", lead, "--budget", "200", "--duration", "monthly"]);
    expect(created.key).toMatch(/^sk-/);
    const dev = unique("dev");
    const withModels = await json<{ user_id: string; models: string[] }>([
      "create-user",
      "--email",
      dev,
      "--budget",
      "50",
      "--duration",
      "monthly",
      "--models",
      '["model-cheap", "model-balanced"]',
    ]);
    expect(withModels.models).toEqual(["model-cheap", "model-balanced"]);

    const users = await json<{ user_id: string; email: string; budget: number; budget_duration: string }[]>(["list-users"]);
    expect(users).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ user_id: created.user_id, email: lead, budget: 200, budget_duration: "1mo" }),
        expect.objectContaining({ user_id: withModels.user_id, email: dev, budget: 50 }),
      ]),
    );
    const table = await creditgate(["list-users"]);
    expect(table.stdout).toMatch(/^user_id\s+email\s+alias\s+tier\s+budget\s+spend/);
    expect(table.stdout).toContain("$200.00");

    const info = await json<{ email: string; models: string[]; keys: unknown[] }>(["get-user", withModels.user_id]);
    expect(info).toMatchObject({ email: dev, models: ["model-cheap", "model-balanced"] });
    expect(info.keys).toHaveLength(1);

    expect(await json(["update-budget", "--user-id", withModels.user_id, "--budget", "100"])).toMatchObject({ budget: 100 });
    expect(await json(["get-user", withModels.user_id])).toMatchObject({ budget: 100 });
    // create-user's ids are generated: its users are found by their email too, as the README shows.
    expect(await json(["get-user", dev])).toMatchObject({ user_id: withModels.user_id, budget: 100 });
    expect(await json(["update-budget", "--user-id", dev, "--budget", "120"])).toMatchObject({ user_id: withModels.user_id, budget: 120 });

    expect((await creditgate(["delete-user", withModels.user_id])).code).toBe(0);
    const gone = await creditgate(["get-user", withModels.user_id]);
    expect(gone.code).toBe(1);
    expect(gone.stderr.trim()).toBe(`creditgate: no gateway user with id or email ${withModels.user_id}`);
    expect((await creditgate(["delete-user", withModels.user_id])).code).toBe(1);
    expect((await creditgate(["update-budget", "--user-id", withModels.user_id, "--budget", "5"])).code).toBe(1);
  });

  it("the admin script's key commands: create standalone, for a user and model-limited, list, delete", async () => {
    const suffix = Math.random().toString(36).slice(2, 8);
    const standalone = await json<{ key: string; token: string }>([
      "create-key",
      "--alias",
      `test-key-${suffix}`,
      "--budget",
      "5",
      "--duration",
      "monthly",
      "--rpm",
      "60",
      "--tpm",
      "10000",
    ]);
    expect(standalone.key).toMatch(/^sk-/);
    const owner = await json<{ user_id: string }>(["create-user", "--email", unique("owner")]);
    const forUser = await json<{ key: string }>(["create-key", "--user-id", owner.user_id, "--alias", `laptop-key-${suffix}`]);
    const haikuOnly = await json<{ key: string }>([
      "create-key",
      "--alias",
      `haiku-only-${suffix}`,
      "--models",
      '["model-cheap"]',
      "--budget",
      "10",
    ]);
    expect((await chat(haikuOnly.key, "model-cheap")).status).toBe(200);
    expect((await chat(haikuOnly.key, "model-balanced")).status).toBe(403);

    const keys = await json<{ key_alias: string; user_id: string | null; budget: number | null; rpm: number | null; token: string }[]>(["list-keys"]);
    expect(keys).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ key_alias: `test-key-${suffix}`, budget: 5, rpm: 60, token: standalone.token }),
        expect.objectContaining({ key_alias: `laptop-key-${suffix}`, user_id: owner.user_id }),
      ]),
    );
    // The list never carries a secret.
    const listed = (await creditgate(["list-keys"])).stdout;
    for (const secret of [standalone.key, forUser.key, haikuOnly.key]) expect(listed).not.toContain(secret);

    expect((await chat(forUser.key, "model-cheap")).status).toBe(200);
    const deleted = await creditgate(["delete-key", forUser.key]);
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).not.toContain(forUser.key);
    expect((await chat(forUser.key, "model-cheap")).status).toBe(401);
    expect((await creditgate(["delete-key", standalone.token])).code).toBe(0);
    const again = await creditgate(["delete-key", standalone.token]);
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toBe("creditgate: no such key on the gateway");
  });

  it("create-user and create-key refuse a model the gateway does not offer (exit 2) and create nothing", async () => {
    const email = unique("typo");
    const user = await creditgate(["create-user", "--email", email, "--models", '["model-cheap", "nosuch"]']);
    expect(user.code).toBe(2);
    expect(user.stderr).toContain("--models: the gateway does not offer nosuch");
    expect(user.stderr).toContain("model-cheap");
    const users = await json<{ email: string }[]>(["list-users"]);
    expect(users.some((listed) => listed.email === email)).toBe(false);
    const key = await creditgate(["create-key", "--alias", `typo-${email}`, "--models", '["nosuch"]']);
    expect(key.code).toBe(2);
    expect(key.stderr).toContain("--models: the gateway does not offer nosuch");
    const keys = await json<{ key_alias: string | null }[]>(["list-keys"]);
    expect(keys.some((listed) => listed.key_alias === `typo-${email}`)).toBe(false);
  });

  it("create-user --budget 1: once the user's spend passes $1 the gateway answers their requests with 402", async () => {
    const user = await json<{ user_id: string; key: string }>(["create-user", "--email", unique("capped"), "--budget", "1"]);
    expect((await chat(user.key, "mock-pricey")).status).toBe(200);
    const refused = await waitFor(
      async () => {
        const res = await chat(user.key, "mock-pricey");
        return res.status === 402 ? ((await res.json()) as { error: { message: string } }) : undefined;
      },
      20_000,
      "a 402",
    );
    expect(refused.error.message).toMatch(/Budget has been exceeded/);
    const info = await json<{ spend: number; budget: number }>(["get-user", user.user_id]);
    expect(info.budget).toBe(1);
    expect(info.spend).toBeGreaterThanOrEqual(1);
    // Raising the budget lets them in again.
    await json(["update-budget", "--user-id", user.user_id, "--budget", "1000"]);
    expect((await chat(user.key, "mock-pricey")).status).toBe(200);
  });

  it("create-teams makes one team per tier, and a second run changes nothing", async () => {
    const first = await json<{ tier: string; team_id: string; status: string; budget: number; rpm: number; models: string[] }[]>(["create-teams"]);
    expect(first.map((row) => row.tier)).toEqual(["drafting", "coding", "architect"]);
    expect(first.find((row) => row.tier === "architect")).toMatchObject({
      team_id: "tier-architect",
      budget: 500,
      rpm: 100,
      models: ["model-reasoning", "model-reasoning-opus"],
    });
    const second = await json<{ status: string }[]>(["create-teams"]);
    expect(second.map((row) => row.status)).toEqual(["unchanged", "unchanged", "unchanged"]);
  });

  it("add-user onboards into a tier, prints the key once, is a no-op when repeated, and moves tiers", async () => {
    await json(["create-teams"]);
    const email = unique("developer");
    const added = await json<{ status: string; key: string; user_id: string }>(["add-user", "--email", email, "--tier", "coding", "--alias", "Dev Eloper"]);
    expect(added).toMatchObject({ status: "created", user_id: email });
    expect(added.key).toMatch(/^sk-/);
    expect((await chat(added.key, "model-balanced")).status).toBe(200);
    expect((await chat(added.key, "model-reasoning")).status).toBe(403);

    const repeated = await json<{ status: string; key: string | null }>(["add-user", "--email", email, "--tier", "coding"]);
    expect(repeated).toMatchObject({ status: "unchanged", key: null });

    const moved = await json<{ status: string; key: string | null }>(["add-user", "--email", email, "--tier", "architect"]);
    expect(moved).toMatchObject({ status: "updated", key: null });
    expect((await chat(added.key, "model-reasoning")).status).toBe(200);
    expect((await chat(added.key, "model-balanced")).status).toBe(403);
    const users = await json<{ user_id: string; tier: string; budget: number; spend: number; alias: string }[]>(["list-users"]);
    expect(users.find((user) => user.user_id === email)).toMatchObject({ tier: "architect", budget: 500, alias: "Dev Eloper" });
  });

  it("add-user takes over a user that create-user made earlier under another id, instead of duplicating them", async () => {
    await json(["create-teams"]);
    const email = unique("existing");
    const earlier = await json<{ user_id: string }>(["create-user", "--email", email, "--budget", "7"]);
    const added = await json<{ status: string; user_id: string; key: string }>(["add-user", "--email", email, "--tier", "drafting"]);
    expect(added).toMatchObject({ status: "updated", user_id: earlier.user_id });
    expect(added.key).toMatch(/^sk-/);
    expect(await json(["get-user", earlier.user_id])).toMatchObject({ tier: "drafting", budget: 2 });
    expect(await json(["add-user", "--email", email, "--tier", "drafting"])).toMatchObject({ status: "unchanged" });
  });

  it(
    "bulk-onboard: 1,000 rows with 10 bad ones onboard 990, report the 10 and exit 1; the same file again changes nothing",
    async () => {
      await json(["create-teams"]);
      const tiers = ["drafting", "coding", "architect"];
      const batch = Math.random().toString(36).slice(2, 8);
      const lines = ["email,tier,alias"];
      for (let i = 0; i < 990; i++) lines.push(`user${i}-${batch}@company.test,${tiers[i % 3]},User ${i}`);
      // 4 unknown tiers, 3 bad emails, 3 repeats of earlier rows, spread through the file.
      const bad = [
        `ghost1-${batch}@company.test,intern,Ghost`,
        `ghost2-${batch}@company.test,,Ghost`,
        `ghost3-${batch}@company.test,Admin,Ghost`,
        `ghost4-${batch}@company.test,premium,Ghost`,
        `not-an-email,coding,Nobody`,
        `,coding,Nobody`,
        `bob@@company.test,coding,Nobody`,
        `user5-${batch}@company.test,drafting,Again`,
        `USER10-${batch}@company.test,coding,Again`,
        `user999-${batch}@company.test,architect,Again`.replace("999", "42"),
      ];
      bad.forEach((line, i) => lines.splice(50 + i * 97, 0, line));
      const file = path.join(dir, `users-${batch}.csv`);
      await writeFile(file, `${lines.join("\n")}\n`);

      type Row = { line: number; email: string; status: string; detail: string; key: string | null };
      const first = await creditgate(["bulk-onboard", file, "--json"]);
      expect(first.code).toBe(1);
      const rows = JSON.parse(first.stdout) as Row[];
      expect(rows).toHaveLength(1000);
      expect(rows.map((row) => row.line)).toEqual([...rows.map((row) => row.line)].sort((a, b) => a - b));
      expect(rows.filter((row) => row.status === "created")).toHaveLength(990);
      const failed = rows.filter((row) => row.status === "failed");
      expect(failed).toHaveLength(10);
      expect(failed.filter((row) => /unknown tier|tier is missing/.test(row.detail))).toHaveLength(4);
      expect(failed.filter((row) => /email (is not an email address|is missing)/.test(row.detail))).toHaveLength(3);
      expect(failed.filter((row) => /duplicate of line \d+/.test(row.detail))).toHaveLength(3);
      expect(rows.filter((row) => row.status === "created").every((row) => row.key?.startsWith("sk-"))).toBe(true);
      expect(first.stderr).toMatch(/bulk-onboard: 1000\/1000 rows/);
      expect(first.stderr.trim().split("\n").at(-1)).toBe("creditgate: 10 of 1000 rows failed (reasons in the table)");

      const onboarded = await json<{ user_id: string; tier: string }[]>(["list-users"]);
      const ours = onboarded.filter((user) => user.user_id.endsWith(`-${batch}@company.test`));
      expect(ours).toHaveLength(990);
      expect(ours.find((user) => user.user_id === `user4-${batch}@company.test`)?.tier).toBe("coding");

      const second = await creditgate(["bulk-onboard", file, "--json"]);
      expect(second.code).toBe(1);
      const again = JSON.parse(second.stdout) as Row[];
      expect(again.filter((row) => row.status === "unchanged")).toHaveLength(990);
      expect(again.filter((row) => row.status === "failed")).toHaveLength(10);
      expect(again.every((row) => row.key === null)).toBe(true);
    },
    240_000,
  );

  it("bulk-onboard --dry-run says what would change and changes nothing", async () => {
    await json(["create-teams"]);
    const batch = Math.random().toString(36).slice(2, 8);
    const existing = `existing-${batch}@company.test`;
    await json(["add-user", "--email", existing, "--tier", "drafting"]);
    const file = path.join(dir, `dry-${batch}.csv`);
    await writeFile(file, `email,tier,alias\nnew-${batch}@company.test,coding,New\n${existing},coding,\n${existing.replace("existing", "same")},drafting,\n`);
    await json(["add-user", "--email", existing.replace("existing", "same"), "--tier", "drafting"]);

    const plan = await json<{ email: string; status: string; detail: string }[]>(["bulk-onboard", file, "--dry-run"]);
    expect(plan.map((row) => row.status)).toEqual(["would-create", "would-update", "unchanged"]);
    expect(plan[1]?.detail).toMatch(/budget/);
    expect((await creditgate(["get-user", `new-${batch}@company.test`])).code).toBe(1);
    expect(await json(["get-user", existing])).toMatchObject({ tier: "drafting", budget: 2 });
  });

  it("a tiers file of another format version is refused before anything is sent", async () => {
    const file = path.join(dir, "tiers-v2.yaml");
    await writeFile(file, "version: 2\ntiers: {}\n");
    const result = await creditgate(["create-teams", "--tiers", file]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(`creditgate: ${file}: version: must be 1 (the only tiers format this CLI knows)`);
  });

  it("a CSV without the email,tier header is refused before anything is sent", async () => {
    const file = path.join(dir, "no-header.csv");
    await writeFile(file, "name,level\nalice@company.test,coding\n");
    const result = await creditgate(["bulk-onboard", file]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(`creditgate: ${file}: the first line must be the header email,tier,alias (got "name,level")`);
  });

  describe("errors are one line with the right exit code", () => {
    it("a wrong master key: exit 1, the 401 and a hint about LITELLM_MASTER_KEY, and never the key", async () => {
      const wrongKey = "sk-wrong-master-key-123456";
      const result = await creditgate(["list-users"], { LITELLM_MASTER_KEY: wrongKey });
      expect(result.code).toBe(1);
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
      expect(result.stderr.trim()).toBe(
        `creditgate: the gateway at ${gateway.adminUrl} refused the master key (401): set LITELLM_MASTER_KEY to its master key`,
      );
      expect(result.stderr + result.stdout).not.toContain(wrongKey);
      expect(result.stderr + result.stdout).not.toContain(masterKey);
    });

    it("a gateway that is down: exit 1, naming the URL tried", async () => {
      const url = `http://127.0.0.1:${await freePort()}`;
      const result = await creditgate(["health"], { LITELLM_URL: url });
      expect(result.code).toBe(1);
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
      expect(result.stderr).toMatch(new RegExp(`cannot reach the gateway at ${url}/health/liveliness \\(ECONNREFUSED\\)`));
    });

    it("LITELLM_BASE_URL wins over LITELLM_URL", async () => {
      const url = `http://127.0.0.1:${await freePort()}`;
      const result = await creditgate(["list-keys"], { LITELLM_BASE_URL: url });
      expect(result.stderr).toContain(`cannot reach the gateway at ${url}/key/list`);
    });

    it.each([
      [["create-user", "--email", "x@company.test", "--models", "claude-haiku"], /^creditgate: --models: must be a JSON array of model names/],
      [["create-user", "--email", "x@company.test", "--models", '{"a":1}'], /^creditgate: --models: must be a JSON array of model names/],
      [["create-user", "--email", "not-an-email"], /^creditgate: --email: must be an email address$/],
      [["create-user", "--email", "x@company.test", "--budget", "-5"], /^creditgate: --budget: must be an amount in dollars/],
      [["create-user", "--email", "x@company.test", "--duration", "fortnightly"], /^creditgate: --duration: must be daily, weekly, monthly/],
      [["create-key", "--rpm", "0"], /^creditgate: --rpm: must be a positive whole number$/],
      [["update-budget", "--user-id", "u1", "--budget", "ten"], /^creditgate: --budget: must be an amount in dollars/],
      [["add-user", "--email", "x@company.test", "--tier", "intern"], /^creditgate: --tier: unknown tier "intern" \(known: drafting, coding, architect\)$/],
      [["bulk-onboard", "/nonexistent/users.csv"], /^creditgate: <file>: cannot read \/nonexistent\/users.csv \(ENOENT\)$/],
    ])("a bad flag exits 2 naming it: %j", async (args, message) => {
      const result = await creditgate(args);
      expect(result.code).toBe(2);
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
      expect(result.stderr.trim()).toMatch(message);
    });

    it("without LITELLM_MASTER_KEY a gateway command exits 2 naming the variable", async () => {
      const result = await creditgate(["list-users"], { LITELLM_MASTER_KEY: "" });
      expect(result.code).toBe(2);
      expect(result.stderr.trim()).toMatch(/^creditgate: LITELLM_MASTER_KEY: is required/);
    });
  });
});
