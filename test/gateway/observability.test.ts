import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "../../lib/db/embedded";
import { parseMetrics, series, total, type Sample } from "../support/prometheus";
import { masterKey, startGateway, waitFor, type RunningGateway } from "./support/gateway";
import { chatCost, startUpstream, testConfig, upstreamKey, upstreamUsage, type FakeUpstream } from "./support/upstream";

/**
 * What an operator sees of the gateway: /metrics under LiteLLM's names and labels after real
 * traffic, and one JSON log line per request carrying the caller's request id.
 */

let postgres: EmbeddedPostgres;
let upstream: FakeUpstream;
let gateway: RunningGateway;

beforeAll(async () => {
  postgres = await startEmbeddedPostgres();
  upstream = await startUpstream();
  gateway = await startGateway({
    config: testConfig(upstream.url),
    databaseUrl: postgres.url,
    env: { TEST_UPSTREAM_KEY: upstreamKey, LOG_LEVEL: "info" },
  });
});
afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
  await postgres?.stop();
});

async function admin(path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${gateway.adminUrl}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${masterKey}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const answer = (await res.json()) as Record<string, unknown>;
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${JSON.stringify(answer)}`);
  return answer;
}

function chat(key: string, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  return fetch(`${gateway.publicUrl}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

async function scrape(): Promise<{ text: string; samples: Sample[] }> {
  const res = await fetch(`${gateway.adminUrl}/metrics`);
  expect(res.status).toBe(200);
  const text = await res.text();
  return { text, samples: parseMetrics(text) };
}

/** The JSON lines the gateway printed so far. */
function logLines(): Record<string, unknown>[] {
  return gateway
    .output()
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe("gateway /metrics after real traffic", () => {
  let secret: string;
  let token: string;
  let userId: string;
  let teamId: string;

  beforeAll(async () => {
    userId = `metrics-user-${Date.now()}`;
    await admin("/user/new", { user_id: userId, max_budget: 1 });
    teamId = String((await admin("/team/new", { team_alias: "metrics-team" })).team_id);
    await admin("/team/member_add", { team_id: teamId, member: { role: "user", user_id: userId } });
    const key = await admin("/key/generate", { user_id: userId, team_id: teamId, key_alias: "metrics-alpha", max_budget: 0.5 });
    secret = String(key.key);
    token = String(key.token);

    const prompt = [{ role: "user", content: "Say hello" }];
    for (let i = 0; i < 2; i++) expect((await chat(secret, { model: "gpt-test", messages: prompt })).status).toBe(200);
    const stream = await chat(secret, { model: "gpt-test", messages: prompt, stream: true });
    expect(stream.status).toBe(200);
    expect(await stream.text()).toContain("[DONE]");
    expect((await chat(secret, { model: "fail-500", messages: prompt })).status).toBe(502);
    expect((await chat("sk-not-a-real-key-000", { model: "gpt-test", messages: prompt })).status).toBe(401);
  });

  const keyLabels = () => ({ hashed_api_key: token, api_key_alias: "metrics-alpha", user: userId, team: teamId, team_alias: "metrics-team" });

  it("counts every request with its status code under litellm_proxy_total_requests_metric", async () => {
    const { samples } = await scrape();
    const name = "litellm_proxy_total_requests_metric_total";
    expect(total(samples, name, { ...keyLabels(), requested_model: "gpt-test", status_code: "200" })).toBe(3);
    expect(total(samples, name, { ...keyLabels(), requested_model: "fail-500", status_code: "502" })).toBe(1);
    expect(series(samples, name, { ...keyLabels(), requested_model: "gpt-test" })[0]?.labels).toEqual({
      ...keyLabels(),
      end_user: "",
      requested_model: "gpt-test",
      status_code: "200",
    });
  });

  it("counts failures with their exception status and class, including refused keys", async () => {
    const { samples } = await scrape();
    const name = "litellm_proxy_failed_requests_metric_total";
    expect(total(samples, name, { ...keyLabels(), requested_model: "fail-500", exception_status: "502", exception_class: "api_error" })).toBe(1);
    expect(total(samples, name, { hashed_api_key: "", exception_status: "401", exception_class: "token_not_found_in_db" })).toBeGreaterThanOrEqual(1);
    expect(total(samples, name, { ...keyLabels(), requested_model: "gpt-test" })).toBe(0);
  });

  it("sums tokens (total, input, output) and spend per key and model, matching the upstream's usage", async () => {
    const { samples } = await scrape();
    const where = { ...keyLabels(), model: "gpt-test" };
    const calls = 3;
    expect(total(samples, "litellm_total_tokens_metric_total", { ...where, requested_model: "gpt-test" })).toBe(
      calls * (upstreamUsage.prompt_tokens + upstreamUsage.completion_tokens),
    );
    expect(total(samples, "litellm_input_tokens_metric_total", where)).toBe(calls * upstreamUsage.prompt_tokens);
    expect(total(samples, "litellm_output_tokens_metric_total", where)).toBe(calls * upstreamUsage.completion_tokens);
    expect(total(samples, "litellm_spend_metric_total", where)).toBeCloseTo(calls * chatCost, 12);
    // Spend is labelled as LiteLLM labels it: by model, without requested_model.
    expect(series(samples, "litellm_spend_metric_total", where)[0]?.labels).not.toHaveProperty("requested_model");
  });

  it("records LLM API and total request latency histograms per request", async () => {
    const { samples } = await scrape();
    const where = { ...keyLabels(), model: "gpt-test", requested_model: "gpt-test" };
    for (const name of ["litellm_llm_api_latency_metric", "litellm_request_total_latency_metric"]) {
      expect(total(samples, `${name}_count`, where)).toBe(3);
      expect(total(samples, `${name}_sum`, where)).toBeGreaterThan(0);
      expect(total(samples, `${name}_bucket`, { ...where, le: "+Inf" })).toBe(3);
      expect(series(samples, `${name}_bucket`, where).map((sample) => sample.labels.le)).toContain("0.005");
    }
  });

  it("reports the remaining key and user budgets in dollars after the spend", async () => {
    const { samples } = await scrape();
    const spent = 3 * chatCost;
    expect(total(samples, "litellm_remaining_api_key_budget_metric", { hashed_api_key: token, api_key_alias: "metrics-alpha" })).toBeCloseTo(0.5 - spent, 9);
    expect(total(samples, "litellm_remaining_user_budget_metric", { user: userId })).toBeCloseTo(1 - spent, 9);
  });

  it("shows a budget change at the next scrape, and a renamed key under its new alias only", async () => {
    const key = await admin("/key/generate", { key_alias: "gauge-before", max_budget: 0.25 });
    const prompt = [{ role: "user", content: "Say hello" }];
    expect((await chat(String(key.key), { model: "gpt-test", messages: prompt })).status).toBe(200);
    const hash = String(key.token);
    expect(total((await scrape()).samples, "litellm_remaining_api_key_budget_metric", { hashed_api_key: hash })).toBeCloseTo(0.25 - chatCost, 9);

    await admin("/key/update", { key: hash, key_alias: "gauge-after", max_budget: 0.5 });
    expect((await chat(String(key.key), { model: "gpt-test", messages: prompt })).status).toBe(200);
    const { samples } = await scrape();
    const remaining = series(samples, "litellm_remaining_api_key_budget_metric", { hashed_api_key: hash });
    expect(remaining.map((sample) => sample.labels.api_key_alias)).toEqual(["gauge-after"]);
    expect(remaining[0]?.value).toBeCloseTo(0.5 - 2 * chatCost, 9);
  });

  it("never shows a key's secret, the master key or the upstream's key", async () => {
    const { text } = await scrape();
    for (const value of [secret, secret.slice(3), masterKey, upstreamKey]) expect(text).not.toContain(value);
  });
});

describe("gateway request ids and logs", () => {
  let secret: string;

  beforeAll(async () => {
    secret = String((await admin("/key/generate", { key_alias: "log-key" })).key);
  });

  it("answers with the caller's x-request-id and logs it on the request's one line", async () => {
    const requestId = `app-req-${Date.now()}`;
    const res = await chat(secret, { model: "gpt-test", messages: [{ role: "user", content: "hi" }] }, { "x-request-id": requestId });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toBe(requestId);
    const callId = res.headers.get("x-litellm-call-id");
    expect(callId).toMatch(/^[0-9a-f-]{36}$/);
    const lines = await waitFor(() => {
      const found = logLines().filter((line) => line.requestId === requestId);
      return found.length > 0 ? found : undefined;
    }, 10_000, "the request's log line");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ name: "gateway", msg: "request", method: "POST", path: "/v1/chat/completions", status: 200, callId });
    expect(lines[0]).not.toHaveProperty("aborted");
  });

  it("gives a request without a usable id a fresh one, also on errors and admin routes", async () => {
    const refused = await chat("sk-wrong-key-000000", { model: "gpt-test", messages: [{ role: "user", content: "hi" }] }, { "x-request-id": "bad id with spaces" });
    expect(refused.status).toBe(401);
    const fresh = refused.headers.get("x-request-id");
    expect(fresh).toMatch(/^[0-9a-f-]{36}$/);
    const info = await fetch(`${gateway.adminUrl}/key/list`, { headers: { authorization: `Bearer ${masterKey}`, "x-request-id": "admin-call-1" } });
    expect(info.headers.get("x-request-id")).toBe("admin-call-1");
    const refusedLine = await waitFor(() => logLines().find((line) => line.requestId === fresh && line.status === 401), 10_000, "the refused request's line");
    // Refused before any upstream call: no call id, and the answer was finished, not aborted.
    expect(refusedLine).not.toHaveProperty("callId");
    expect(refusedLine).not.toHaveProperty("aborted");
    await waitFor(() => (logLines().some((line) => line.requestId === "admin-call-1" && line.path === "/key/list") ? true : undefined), 10_000, "the admin call's line");
  });

  it("prints no key secret, master key or upstream key in its output", async () => {
    // A key in a query string: the request's line (written without redaction) has the path only.
    const requestId = `key-in-query-${Date.now()}`;
    const info = await fetch(`${gateway.adminUrl}/key/info?key=${secret}`, { headers: { authorization: `Bearer ${masterKey}`, "x-request-id": requestId } });
    expect(info.status).toBe(200);
    await waitFor(() => (logLines().some((line) => line.requestId === requestId && line.path === "/key/info") ? true : undefined), 10_000, "the key/info line");
    const output = gateway.output();
    expect(output.length).toBeGreaterThan(0);
    for (const value of [secret, secret.slice(3), masterKey, upstreamKey]) expect(output).not.toContain(value);
  });
});

describe("CLI failures", () => {
  it("with LOG_FORMAT=json, a failure is one pino JSON line on stderr without the master key", async () => {
    const result = await promisify(execFile)(process.execPath, ["cli/bin.mjs", "get-user", "nobody-here"], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: "test", LITELLM_URL: gateway.adminUrl, LITELLM_MASTER_KEY: masterKey, LOG_FORMAT: "json" },
    }).then(
      () => ({ code: 0, stderr: "" }),
      (err: { code: number; stderr: string }) => ({ code: err.code, stderr: err.stderr }),
    );
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? "")).toMatchObject({ level: 50, service: "cli", exitCode: 1, msg: "no gateway user with id or email nobody-here" });
    expect(result.stderr).not.toContain(masterKey);
  });
});
