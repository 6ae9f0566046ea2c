import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "../../lib/db/embedded";
import { masterKey, startGateway, waitFor, type RunningGateway } from "./support/gateway";
import { startFakeLangfuse, type FakeLangfuse, type IngestionEvent } from "./support/langfuse";
import { chatCost, startUpstream, testConfig, upstreamKey, upstreamUsage, type FakeUpstream } from "./support/upstream";

/**
 * Langfuse traces of gateway calls, checked at the wire: the real gateway process exports to a
 * local server speaking Langfuse's ingestion API, and the test reads what arrived.
 */

let postgres: EmbeddedPostgres;
let upstream: FakeUpstream;
let langfuse: FakeLangfuse;

beforeAll(async () => {
  postgres = await startEmbeddedPostgres();
  upstream = await startUpstream();
  langfuse = await startFakeLangfuse();
});
afterAll(async () => {
  await langfuse?.close();
  await upstream?.close();
  await postgres?.stop();
});

const promptText = "the quarterly numbers are confidential";

async function startTracedGateway(extraEnv: Record<string, string> = {}, extraConfig = ""): Promise<RunningGateway> {
  return startGateway({
    config: testConfig(upstream.url, extraConfig),
    databaseUrl: postgres.url,
    env: {
      TEST_UPSTREAM_KEY: upstreamKey,
      LANGFUSE_PUBLIC_KEY: langfuse.publicKey,
      LANGFUSE_SECRET_KEY: langfuse.secretKey,
      LANGFUSE_HOST: langfuse.url,
      LANGFUSE_FLUSH_INTERVAL_MS: "100",
      ...extraEnv,
    },
  });
}

async function newKey(gateway: RunningGateway, fields: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${gateway.adminUrl}/key/generate`, {
    method: "POST",
    headers: { authorization: `Bearer ${masterKey}`, "content-type": "application/json" },
    body: JSON.stringify(fields),
  });
  return String(((await res.json()) as { key: string }).key);
}

function chat(gateway: RunningGateway, key: string, body: Record<string, unknown>, requestId: string) {
  return fetch(`${gateway.publicUrl}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json", "x-request-id": requestId },
    body: JSON.stringify({ messages: [{ role: "user", content: promptText }], ...body }),
  });
}

const requestIdOf = (event: IngestionEvent) => (event.body.metadata as { request_id?: string } | undefined)?.request_id;

/** The trace and generation Langfuse received for the call of one request id. */
async function eventsOf(requestId: string): Promise<{ trace: IngestionEvent; generation: IngestionEvent }> {
  return waitFor(
    () => {
      const trace = langfuse.events.find((event) => event.type === "trace-create" && requestIdOf(event) === requestId);
      const generation = langfuse.events.find((event) => event.type === "generation-create" && requestIdOf(event) === requestId);
      return trace && generation ? { trace, generation } : undefined;
    },
    20_000,
    `Langfuse events for ${requestId}`,
  );
}

describe("Langfuse export with prompts off (the default)", () => {
  let gateway: RunningGateway;
  let key: string;
  const user = `trace-user-${Date.now()}`;
  const calls: Record<string, { callId: string; requestId: string }> = {};

  beforeAll(async () => {
    gateway = await startTracedGateway();
    await fetch(`${gateway.adminUrl}/user/new`, {
      method: "POST",
      headers: { authorization: `Bearer ${masterKey}`, "content-type": "application/json" },
      body: JSON.stringify({ user_id: user }),
    });
    key = await newKey(gateway, { key_alias: "traced-key", user_id: user });
    for (const [name, body] of Object.entries({
      plain: { model: "gpt-test", temperature: 0.2 },
      stream: { model: "gpt-test", stream: true },
      failure: { model: "fail-500" },
    })) {
      const requestId = `trace-${name}-${Date.now()}`;
      const res = await chat(gateway, key, body, requestId);
      await res.text();
      calls[name] = { callId: res.headers.get("x-litellm-call-id") ?? "", requestId };
    }
  });
  afterAll(async () => {
    await gateway?.stop();
  });

  it("sends one trace and one generation per call with model, user, key alias, tokens, cost, status and request id", async () => {
    const { callId, requestId } = calls.plain ?? { callId: "", requestId: "" };
    const { trace, generation } = await eventsOf(requestId);
    expect(trace.body).toMatchObject({ id: callId, name: "litellm-acompletion", userId: user });
    expect(generation.body).toMatchObject({
      id: callId,
      traceId: callId,
      model: "gpt-test",
      modelParameters: { temperature: 0.2 },
      usage: { input: upstreamUsage.prompt_tokens, output: upstreamUsage.completion_tokens, total: 30, unit: "TOKENS" },
      level: "DEFAULT",
      metadata: {
        request_id: requestId,
        litellm_call_id: callId,
        user_api_key_alias: "traced-key",
        user_api_key_user_id: user,
        model_group: "gpt-test",
        status: "success",
        status_code: 200,
      },
    });
    expect((generation.body.costDetails as { total: number }).total).toBeCloseTo(chatCost, 12);
    expect(new Date(String(generation.body.endTime)).getTime()).toBeGreaterThanOrEqual(new Date(String(generation.body.startTime)).getTime());
    expect((generation.body.metadata as { latency_seconds: number }).latency_seconds).toBeGreaterThan(0);
  });

  it("traces a stream with the usage it carried", async () => {
    const { generation } = await eventsOf(calls.stream?.requestId ?? "");
    expect(generation.body).toMatchObject({ usage: { input: 10, output: 20, total: 30 }, metadata: { stream: true, status: "success" } });
  });

  it("traces an upstream failure as an error with its status", async () => {
    const { generation } = await eventsOf(calls.failure?.requestId ?? "");
    expect(generation.body).toMatchObject({ level: "ERROR", model: "fail-500", metadata: { status: "failure", status_code: 502 } });
    expect(String(generation.body.statusMessage)).toMatch(/^502 api_error/);
  });

  it("sends no prompt, no completion and no secret, with the project's basic-auth keys", async () => {
    await eventsOf(calls.failure?.requestId ?? "");
    const sent = langfuse.rawBodies.join("\n");
    for (const forbidden of [promptText, "Hello from upstream", key, key.slice(3), masterKey, upstreamKey]) expect(sent).not.toContain(forbidden);
    const generations = langfuse.events.filter((event) => event.type === "generation-create");
    for (const generation of generations) {
      expect(generation.body).not.toHaveProperty("input");
      expect(generation.body).not.toHaveProperty("output");
    }
    expect(langfuse.unauthorized).toBe(0);
  });
});

describe("Langfuse export with LANGFUSE_LOG_IO=true", () => {
  it("includes the messages and the completion, unless the config turns message logging off", async () => {
    const gateway = await startTracedGateway({ LANGFUSE_LOG_IO: "true" });
    const loud = `io-${Date.now()}`;
    const responses = `io-responses-${Date.now()}`;
    try {
      const key = await newKey(gateway, { key_alias: "io-key" });
      const res = await chat(gateway, key, { model: "gpt-test" }, loud);
      expect(res.status).toBe(200);
      const viaResponses = await fetch(`${gateway.publicUrl}/v1/responses`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json", "x-request-id": responses },
        body: JSON.stringify({ model: "gpt-test", input: promptText }),
      });
      expect(viaResponses.status).toBe(200);
    } finally {
      await gateway.stop();
    }
    const { generation } = await eventsOf(loud);
    expect(generation.body.input).toEqual([{ role: "user", content: promptText }]);
    expect(generation.body.output).toMatchObject({ role: "assistant", content: "Hello from upstream" });
    // A Responses call is traced under its own call type, with its output items.
    const traced = await eventsOf(responses);
    expect(traced.trace.body).toMatchObject({ name: "litellm-aresponses" });
    expect(traced.generation.body.input).toEqual([{ role: "user", content: promptText }]);
    expect(traced.generation.body.output).toEqual([
      expect.objectContaining({ type: "message", content: [expect.objectContaining({ type: "output_text", text: "Hello from upstream" })] }),
    ]);

    const quiet = await startTracedGateway({ LANGFUSE_LOG_IO: "true" }, "litellm_settings:\n  turn_off_message_logging: true\n");
    const hushed = `quiet-${Date.now()}`;
    try {
      const key = await newKey(quiet, { key_alias: "quiet-key" });
      expect((await chat(quiet, key, { model: "gpt-test" }, hushed)).status).toBe(200);
    } finally {
      await quiet.stop();
    }
    const redacted = await eventsOf(hushed);
    expect(redacted.generation.body).not.toHaveProperty("input");
    expect(redacted.generation.body).not.toHaveProperty("output");
  });
});
