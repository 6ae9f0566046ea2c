import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "../../lib/db/embedded";
import { masterKey, startGateway, waitFor, type RunningGateway, keyHolder } from "./support/gateway";
import { anthropicKey, anthropicModels, fixtureJson, startFakeAnthropic, type FakeAnthropic } from "./support/anthropic-upstream";
import { chatCost, inputCostPerToken, outputCostPerToken, startUpstream, upstreamKey, type FakeUpstream } from "./support/upstream";

/**
 * `/v1/messages`, Anthropic's format on the public listener, driven by the official Anthropic
 * SDK: passed through to an anthropic deployment, translated for an OpenAI one, and held to the
 * same key, budget and spend rules as /v1/chat/completions.
 */

let postgres: EmbeddedPostgres;
let anthropic: FakeAnthropic;
let openai: FakeUpstream;
let gateway: RunningGateway;

beforeAll(async () => {
  postgres = await startEmbeddedPostgres();
  anthropic = await startFakeAnthropic();
  openai = await startUpstream();
  gateway = await startGateway({
    config: `model_list:${anthropicModels(anthropic.url)}
  - model_name: gpt-test
    litellm_params:
      model: openai/gpt-test
      api_base: ${openai.url}
      api_key: os.environ/TEST_UPSTREAM_KEY
    model_info:
      input_cost_per_token: ${inputCostPerToken}
      output_cost_per_token: ${outputCostPerToken}
general_settings:
  proxy_batch_write_at: 1
`,
    databaseUrl: postgres.url,
    env: { ANTHROPIC_API_KEY: anthropicKey, TEST_UPSTREAM_KEY: upstreamKey },
  });
});

afterAll(async () => {
  await gateway?.stop();
  await anthropic?.close();
  await openai?.close();
  await postgres?.stop();
});

const { newKey, keySpend } = keyHolder(() => gateway);

const client = (key: string) => new Anthropic({ apiKey: key, baseURL: gateway.publicUrl, maxRetries: 0 });


async function postMessages(headers: Record<string, string>, body: unknown) {
  const res = await fetch(`${gateway.publicUrl}/v1/messages`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const hello = { max_tokens: 64, messages: [{ role: "user" as const, content: "Hello" }] };

describe("/v1/messages to an anthropic deployment: passed through", () => {
  it("prompt-cache reads and writes in the answer are billed at the deployment's cache prices, streamed or not", async () => {
    const cachedCost = 100 * 0.000001 + 1_000 * 0.00000125 + 10_000 * 0.0000001 + 50 * 0.000002;
    const key = await newKey();
    const message = await client(key).messages.create({ model: "claude-cached", ...hello });
    expect(message.usage).toMatchObject({ input_tokens: 100, cache_creation_input_tokens: 1_000, cache_read_input_tokens: 10_000 });
    expect(await keySpend(key)).toBeCloseTo(cachedCost, 12);
    const streamed = await newKey();
    for await (const _event of client(streamed).messages.stream({ model: "claude-cached", ...hello })) {
      // read to the end
    }
    expect(await waitFor(async () => ((await keySpend(streamed)) > 0 ? keySpend(streamed) : undefined))).toBeCloseTo(cachedCost, 12);
  });

  it("the Anthropic SDK's request reaches Anthropic as sent, with the deployment's key, and the answer comes back unchanged", async () => {
    const key = await newKey();
    const request = {
      model: "claude-fixture",
      max_tokens: 64,
      system: [{ type: "text" as const, text: "You are terse.", cache_control: { type: "ephemeral" as const } }],
      messages: [{ role: "user" as const, content: "Hello" }],
    };
    const message = await client(key).messages.create(request, { headers: { "anthropic-beta": "prompt-caching-2024-07-31" } });
    expect(message).toEqual(fixtureJson("message.json"));
    const sent = anthropic.requests.at(-1);
    expect(sent?.body).toEqual(request);
    expect(sent?.headers["x-api-key"]).toBe(anthropicKey);
    expect(sent?.headers["anthropic-beta"]).toBe("prompt-caching-2024-07-31");
    expect(await keySpend(key)).toBeCloseTo(2095 * 0.000001 + 503 * 0.000002, 12);
  });

  it("a stream passes Anthropic's events through and is billed from them", async () => {
    const key = await newKey();
    const stream = client(key).messages.stream({ model: "claude-fixture", ...hello });
    let text = "";
    stream.on("text", (delta) => (text += delta));
    const final = await stream.finalMessage();
    expect(text).toBe("Hello!");
    expect(final.usage).toMatchObject({ input_tokens: 25, output_tokens: 15 });
    expect(anthropic.requests.at(-1)?.body.stream).toBe(true);
    expect(await keySpend(key)).toBeCloseTo(25 * 0.000001 + 15 * 0.000002, 12);
  });

  it("an upstream 429 is a 429 in Anthropic's error shape", async () => {
    const key = await newKey();
    const { status, body } = await postMessages({ "x-api-key": key }, { model: "claude-429", ...hello });
    expect(status).toBe(429);
    expect(body).toMatchObject({ type: "error", error: { type: "rate_limit_error" } });
    expect(JSON.stringify(body)).toContain("Number of request tokens has exceeded your per-minute rate limit");
  });
});

describe("/v1/messages to an OpenAI deployment: translated both ways", () => {
  it("a message is sent as an OpenAI chat request and answered as an Anthropic message", async () => {
    const key = await newKey();
    const message = await client(key).messages.create({
      model: "gpt-test",
      max_tokens: 64,
      system: "You are terse.",
      messages: [{ role: "user", content: "Hello" }],
      stop_sequences: ["END"],
    });
    expect(message).toMatchObject({
      type: "message",
      role: "assistant",
      content: [{ type: "text", text: "Hello from upstream" }],
      stop_reason: "end_turn",
      usage: { input_tokens: 10, output_tokens: 20 },
    });
    expect(message.id).toMatch(/^msg_/);
    const sent = openai.requests.at(-1);
    expect(sent?.authorization).toBe(`Bearer ${upstreamKey}`);
    expect(sent?.body).toEqual({
      model: "gpt-test",
      max_tokens: 64,
      messages: [
        { role: "system", content: "You are terse." },
        { role: "user", content: "Hello" },
      ],
      stop: ["END"],
    });
    expect(await keySpend(key)).toBeCloseTo(chatCost, 12);
  });

  it("a stream of OpenAI chunks arrives as Anthropic's events, with usage, and is billed", async () => {
    const key = await newKey();
    const stream = client(key).messages.stream({ model: "gpt-test", ...hello });
    const types: string[] = [];
    let text = "";
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === "content_block_delta" && event.delta.type === "text_delta") text += event.delta.text;
    }
    const final = await stream.finalMessage();
    expect(text).toBe("Hello from upstream");
    expect(types[0]).toBe("message_start");
    expect(types.slice(-2)).toEqual(["message_delta", "message_stop"]);
    expect(final.stop_reason).toBe("end_turn");
    expect(final.usage).toMatchObject({ input_tokens: 10, output_tokens: 20 });
    expect(await keySpend(key)).toBeCloseTo(chatCost, 12);
  });

  it("an Anthropic server tool cannot go to an OpenAI deployment: 400 naming the tool", async () => {
    const key = await newKey();
    const { status, body } = await postMessages(
      { authorization: `Bearer ${key}` },
      { model: "gpt-test", ...hello, tools: [{ type: "web_search_20250305", name: "web_search" }] },
    );
    expect(status).toBe(400);
    expect(body).toMatchObject({ type: "error", error: { type: "invalid_request_error" } });
    expect(JSON.stringify(body)).toContain("web_search");
  });
});

describe("/v1/messages enforces the same rules as /v1/chat/completions", () => {
  it("a key in Authorization: Bearer works as well as one in x-api-key", async () => {
    const key = await newKey();
    const { status, body } = await postMessages({ authorization: `Bearer ${key}` }, { model: "claude-fixture", ...hello });
    expect(status).toBe(200);
    expect(body.type).toBe("message");
  });

  it("an unknown key is a 401 in Anthropic's error shape, and nothing goes upstream", async () => {
    const before = anthropic.requests.length;
    const { status, body } = await postMessages({ "x-api-key": "sk-not-a-key-0000" }, { model: "claude-fixture", ...hello });
    expect(status).toBe(401);
    expect(body).toMatchObject({ type: "error", error: { type: "authentication_error" } });
    expect(anthropic.requests.length).toBe(before);
  });

  it("the Anthropic SDK sees a bad key as its AuthenticationError", async () => {
    const error = await client("sk-not-a-key-0000").messages.create({ model: "claude-fixture", ...hello }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(Anthropic.AuthenticationError);
  });

  it("a model the key may not use is a 403 permission_error", async () => {
    const key = await newKey({ models: ["gpt-test"] });
    const { status, body } = await postMessages({ "x-api-key": key }, { model: "claude-fixture", ...hello });
    expect(status).toBe(403);
    expect(body).toMatchObject({ type: "error", error: { type: "permission_error" } });
  });

  it("a key over its budget gets 402 in Anthropic's error shape, and nothing goes upstream", async () => {
    const key = await newKey({ max_budget: 0.0001 });
    expect((await postMessages({ "x-api-key": key }, { model: "claude-fixture", ...hello })).status).toBe(200);
    const before = anthropic.requests.length;
    const { status, body } = await postMessages({ "x-api-key": key }, { model: "claude-fixture", ...hello });
    expect(status).toBe(402);
    expect(body).toMatchObject({ type: "error", error: { type: "billing_error" } });
    expect(JSON.stringify(body)).toContain("Budget has been exceeded");
    expect(anthropic.requests.length).toBe(before);
  });

  it("a body without max_tokens is a 400 naming it", async () => {
    const key = await newKey();
    const { status, body } = await postMessages({ "x-api-key": key }, { model: "claude-fixture", messages: hello.messages });
    expect(status).toBe(400);
    expect(body).toMatchObject({ type: "error", error: { type: "invalid_request_error" } });
    expect(JSON.stringify(body)).toContain("max_tokens");
  });

  it("each call leaves a spend-log row with Anthropic's call type", async () => {
    const key = await newKey();
    await client(key).messages.create({ model: "claude-fixture", ...hello });
    const rows = await waitFor(async () => {
      const res = await fetch(`${gateway.adminUrl}/spend/logs?api_key=${key}`, { headers: { authorization: `Bearer ${masterKey}` } });
      const found = (await res.json()) as { call_type: string; prompt_tokens: number }[];
      return found.length > 0 ? found : undefined;
    });
    expect(rows[0]).toMatchObject({ call_type: "anthropic_messages", prompt_tokens: 2095 });
  });
});

describe("/v1/messages/count_tokens", () => {
  const conversation = { messages: [{ role: "user" as const, content: "Hello, how are you?" }], system: "You are terse." };

  it("an anthropic deployment counts with Anthropic's endpoint, the deployment's key and model, and nothing is billed", async () => {
    const key = await newKey();
    const counted = await client(key).messages.countTokens({ model: "claude-fixture", ...conversation });
    expect(counted).toEqual({ input_tokens: 14 });
    const sent = anthropic.requests.at(-1);
    expect(sent?.path).toBe("/v1/messages/count_tokens");
    expect(sent?.headers["x-api-key"]).toBe(anthropicKey);
    expect(sent?.body).toEqual({ model: "claude-fixture", ...conversation });
    expect(await keySpend(key)).toBe(0);
  });

  it("any other model gets the gateway's estimate, without a call upstream", async () => {
    const key = await newKey();
    const before = openai.requests.length;
    const counted = await client(key).messages.countTokens({ model: "gpt-test", ...conversation });
    expect(counted.input_tokens).toBeGreaterThanOrEqual(Math.ceil("Hello, how are you?".length / 4));
    expect(openai.requests.length).toBe(before);
  });

  it("the key and its model access are checked as for /v1/messages, and a bad body is a 400 naming the field", async () => {
    const restricted = await newKey({ models: ["gpt-test"] });
    const refused = await postCount({ "x-api-key": restricted }, { model: "claude-fixture", ...conversation });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ type: "error", error: { type: "permission_error" } });
    const unknownKey = await postCount({ "x-api-key": "sk-not-a-key" }, { model: "claude-fixture", ...conversation });
    expect(unknownKey.status).toBe(401);
    expect(unknownKey.body).toMatchObject({ type: "error", error: { type: "authentication_error" } });
    const noMessages = await postCount({ "x-api-key": await newKey() }, { model: "claude-fixture" });
    expect(noMessages.status).toBe(400);
    expect(noMessages.body).toMatchObject({ type: "error", error: { type: "invalid_request_error", message: expect.stringContaining("messages") } });
  });
});

async function postCount(headers: Record<string, string>, body: unknown) {
  const res = await fetch(`${gateway.publicUrl}/v1/messages/count_tokens`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
