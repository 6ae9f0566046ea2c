import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "../../lib/db/embedded";
import { masterKey, startGateway, waitFor, type RunningGateway, keyHolder, readChatStream } from "./support/gateway";
import { anthropicKey, anthropicModels, startFakeAnthropic, type FakeAnthropic } from "./support/anthropic-upstream";

/**
 * The anthropic provider against Anthropic's documented wire exchanges, served by a local
 * server, through the real gateway process, driven by the official openai client.
 */

let postgres: EmbeddedPostgres;
let upstream: FakeAnthropic;
let gateway: RunningGateway;

beforeAll(async () => {
  postgres = await startEmbeddedPostgres();
  upstream = await startFakeAnthropic();
  gateway = await startGateway({
    config: `model_list:${anthropicModels(upstream.url)}\ngeneral_settings:\n  proxy_batch_write_at: 1\n`,
    databaseUrl: postgres.url,
    env: { ANTHROPIC_API_KEY: anthropicKey },
  });
});

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
  await postgres?.stop();
});

const { newKey, client, keySpend } = keyHolder(() => gateway);


const lastRequest = () => {
  const request = upstream.requests.at(-1);
  if (!request) throw new Error("the fake Anthropic received nothing");
  return request;
};

const weatherTool = {
  type: "function" as const,
  function: {
    name: "get_weather",
    description: "Get the current weather in a given location",
    parameters: { type: "object", properties: { location: { type: "string" } }, required: ["location"] },
  },
};

describe("the anthropic provider, driven by the official openai client", () => {
  it("a chat completion is sent as a Messages request with Anthropic's headers and comes back in OpenAI's shape", async () => {
    const key = await newKey();
    const completion = await client(key).chat.completions.create({
      model: "claude-fixture",
      messages: [
        { role: "system", content: "You are terse." },
        { role: "user", content: "Hello" },
      ],
      max_tokens: 100,
      temperature: 0.5,
      top_p: 0.9,
      stop: ["\n\nHuman:"],
    });
    expect(completion.choices[0]?.message.content).toBe("Hi! My name is Claude.");
    expect(completion.choices[0]?.finish_reason).toBe("stop");
    expect(completion.usage).toMatchObject({ prompt_tokens: 2095, completion_tokens: 503, total_tokens: 2598 });

    const sent = lastRequest();
    expect(sent.path).toBe("/v1/messages");
    expect(sent.headers["x-api-key"]).toBe(anthropicKey);
    expect(sent.headers["anthropic-version"]).toBe("2023-06-01");
    expect(sent.headers.authorization).toBeUndefined();
    expect(sent.body).toEqual({
      model: "claude-fixture",
      system: "You are terse.",
      messages: [{ role: "user", content: [{ type: "text", text: "Hello" }] }],
      max_tokens: 100,
      temperature: 0.5,
      top_p: 0.9,
      stop_sequences: ["\n\nHuman:"],
    });
    expect(await keySpend(key)).toBeCloseTo(2095 * 0.000001 + 503 * 0.000002, 12);
  });

  it("a request without max_tokens gets the model's output limit, since Anthropic requires one", async () => {
    const key = await newKey();
    await client(key).chat.completions.create({ model: "claude-fixture", messages: [{ role: "user", content: "Hi" }] });
    expect(lastRequest().body.max_tokens).toBe(4096);
  });

  it("a stream arrives as OpenAI chunks, ends with a usage chunk, and is billed", async () => {
    const key = await newKey();
    const stream = await client(key).chat.completions.create({
      model: "claude-fixture",
      messages: [{ role: "user", content: "Hello" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const { text, finish, usage } = await readChatStream(stream);
    expect(text).toBe("Hello!");
    expect(finish).toBe("stop");
    expect(usage).toMatchObject({ prompt_tokens: 25, completion_tokens: 15 });
    expect(lastRequest().body.stream).toBe(true);
    expect(await waitFor(async () => ((await keySpend(key)) > 0 ? keySpend(key) : undefined))).toBeCloseTo(
      25 * 0.000001 + 15 * 0.000002,
      12,
    );
  });

  it("a stream is billed even when the caller asked for no usage chunk, and the spend log records it", async () => {
    const key = await newKey();
    const stream = await client(key).chat.completions.create({
      model: "claude-fixture",
      messages: [{ role: "user", content: "Hello" }],
      stream: true,
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.some((chunk) => chunk.usage)).toBe(false);
    expect(await keySpend(key)).toBeCloseTo(0.000055, 12);
    const logs = await waitFor(async () => {
      const res = await fetch(`${gateway.adminUrl}/spend/logs?api_key=${key}`, { headers: { authorization: `Bearer ${masterKey}` } });
      const rows = (await res.json()) as { spend: number; prompt_tokens: number; completion_tokens: number; custom_llm_provider: string }[];
      return rows.length > 0 ? rows : undefined;
    });
    expect(logs[0]).toMatchObject({ prompt_tokens: 25, completion_tokens: 15, custom_llm_provider: "anthropic" });
  });

  // 100 uncached input tokens, 1,000 written to the cache, 10,000 read from it, 50 output: at
  // the deployment's cache prices, not all 11,100 prompt tokens at the input price (0.0112).
  const cachedCost = 100 * 0.000001 + 1_000 * 0.00000125 + 10_000 * 0.0000001 + 50 * 0.000002;

  it("prompt-cache reads and writes are billed at the cache prices and reported as LiteLLM reports them", async () => {
    const key = await newKey();
    const completion = await client(key).chat.completions.create({
      model: "claude-cached",
      messages: [{ role: "user", content: "Hello" }],
      max_tokens: 100,
    });
    expect(completion.usage).toMatchObject({
      prompt_tokens: 11_100,
      completion_tokens: 50,
      prompt_tokens_details: { cached_tokens: 10_000 },
      cache_creation_input_tokens: 1_000,
      cache_read_input_tokens: 10_000,
    });
    expect(await keySpend(key)).toBeCloseTo(cachedCost, 12);
  });

  it("a stream's prompt-cache counts, from message_start, are billed at the cache prices", async () => {
    const key = await newKey();
    const stream = await client(key).chat.completions.create({
      model: "claude-cached",
      messages: [{ role: "user", content: "Hello" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const { usage } = await readChatStream(stream);
    expect(usage).toMatchObject({ prompt_tokens: 11_100, completion_tokens: 50 });
    expect(await waitFor(async () => ((await keySpend(key)) > 0 ? keySpend(key) : undefined))).toBeCloseTo(cachedCost, 12);
  });

  it("a tool call goes up as Anthropic tools and comes back as OpenAI tool_calls", async () => {
    const key = await newKey();
    const completion = await client(key).chat.completions.create({
      model: "claude-tools",
      messages: [{ role: "user", content: "What is the weather like in San Francisco?" }],
      tools: [weatherTool],
      tool_choice: "required",
      parallel_tool_calls: false,
    });
    const choice = completion.choices[0];
    expect(choice?.finish_reason).toBe("tool_calls");
    expect(choice?.message.content).toBe("I'll check the current weather in San Francisco for you.");
    expect(choice?.message.tool_calls).toEqual([
      {
        id: "toolu_01A09q90qw90lq917835lq9",
        type: "function",
        function: { name: "get_weather", arguments: JSON.stringify({ location: "San Francisco, CA", unit: "celsius" }) },
      },
    ]);
    // Cache reads are prompt tokens too, as OpenAI counts them.
    expect(completion.usage).toMatchObject({ prompt_tokens: 600, completion_tokens: 89, prompt_tokens_details: { cached_tokens: 128 } });
    expect(lastRequest().body).toMatchObject({
      tools: [
        {
          name: "get_weather",
          description: "Get the current weather in a given location",
          input_schema: weatherTool.function.parameters,
        },
      ],
      tool_choice: { type: "any", disable_parallel_tool_use: true },
    });
  });

  it("a streamed tool call arrives as tool_calls deltas whose arguments join to the tool's input", async () => {
    const key = await newKey();
    const stream = await client(key).chat.completions.create({
      model: "claude-tools",
      messages: [{ role: "user", content: "What is the weather like in San Francisco?" }],
      tools: [weatherTool],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let args = "";
    let name = "";
    let id = "";
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta;
      text += delta?.content ?? "";
      for (const call of delta?.tool_calls ?? []) {
        expect(call.index).toBe(0);
        id ||= call.id ?? "";
        name ||= call.function?.name ?? "";
        args += call.function?.arguments ?? "";
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe("Okay, let's check the weather for San Francisco, CA:");
    expect({ id, name, input: JSON.parse(args) as unknown }).toEqual({
      id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
      name: "get_weather",
      input: { location: "San Francisco, CA", unit: "fahrenheit" },
    });
    expect(finish).toBe("tool_calls");
    expect(usage).toMatchObject({ prompt_tokens: 472, completion_tokens: 89 });
  });

  it("a conversation with an image and a tool result is sent as Anthropic's content blocks, roles alternating", async () => {
    const key = await newKey();
    await client(key).chat.completions.create({
      model: "claude-fixture",
      max_tokens: 50,
      tools: [weatherTool],
      messages: [
        { role: "system", content: "Be brief." },
        {
          role: "user",
          content: [
            { type: "text", text: "Where is this, and what is the weather?" },
            { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
            { type: "image_url", image_url: { url: "https://example.com/bridge.jpg" } },
          ],
        },
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "toolu_1", type: "function", function: { name: "get_weather", arguments: '{"location":"San Francisco"}' } }],
        },
        { role: "tool", tool_call_id: "toolu_1", content: "15 degrees, fog" },
        { role: "user", content: "Thanks" },
      ],
    });
    expect(lastRequest().body).toMatchObject({
      system: "Be brief.",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "Where is this, and what is the weather?" },
            { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } },
            { type: "image", source: { type: "url", url: "https://example.com/bridge.jpg" } },
          ],
        },
        {
          role: "assistant",
          content: [{ type: "tool_use", id: "toolu_1", name: "get_weather", input: { location: "San Francisco" } }],
        },
        {
          role: "user",
          content: [
            { type: "tool_result", tool_use_id: "toolu_1", content: "15 degrees, fog" },
            { type: "text", text: "Thanks" },
          ],
        },
      ],
    });
  });

  it("an upstream 429 reaches the caller as a 429 in OpenAI's error shape, with Anthropic's message", async () => {
    const key = await newKey();
    const error = await client(key)
      .chat.completions.create({ model: "claude-429", messages: [{ role: "user", content: "Hi" }] })
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    const apiError = error as InstanceType<typeof OpenAI.RateLimitError>;
    expect(apiError.status).toBe(429);
    expect(apiError.error).toMatchObject({ type: "rate_limit_error", code: "429" });
    expect(apiError.message).toContain("Number of request tokens has exceeded your per-minute rate limit");
    expect(await keySpend(key)).toBe(0);
  });

  it("an upstream 500 is a 502 in OpenAI's error shape, as for any upstream failure", async () => {
    const key = await newKey();
    const error = (await client(key)
      .chat.completions.create({ model: "claude-500", messages: [{ role: "user", content: "Hi" }] })
      .catch((err: unknown) => err)) as InstanceType<typeof OpenAI.APIError>;
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(error.status).toBe(502);
    expect(error.error).toMatchObject({ type: "api_error", code: "502" });
    expect(error.message).toContain("Internal server error");
  });

  it("an error event in the middle of a stream is reported in the stream, after the text that came before it", async () => {
    const key = await newKey();
    const res = await fetch(`${gateway.publicUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "claude-overloaded", stream: true, messages: [{ role: "user", content: "Hi" }] }),
    });
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text).toContain('"content":"Hello"');
    expect(text).toMatch(/"error":\{"message":"[^"]*Overloaded/);
  });

  it("an upstream that does not answer within the deployment's timeout is a 504", async () => {
    const key = await newKey();
    const error = (await client(key)
      .chat.completions.create({ model: "claude-hang", messages: [{ role: "user", content: "Hi" }] })
      .catch((err: unknown) => err)) as InstanceType<typeof OpenAI.APIError>;
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(error.status).toBe(504);
    expect(error.error).toMatchObject({ type: "timeout_error" });
  });

  it("a request Anthropic cannot express is refused with a 400 naming the field, before going upstream", async () => {
    const key = await newKey();
    const before = upstream.requests.length;
    const res = await fetch(`${gateway.publicUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({
        model: "claude-fixture",
        messages: [{ role: "assistant", content: null, tool_calls: [{ id: "t", type: "function", function: { name: "f", arguments: "{not json" } }] }],
      }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain("messages.0.tool_calls.0.function.arguments");
    expect(upstream.requests.length).toBe(before);
  });

  it("/health probes each anthropic deployment with a one-token Messages call", async () => {
    const before = upstream.requests.length;
    const res = await fetch(`${gateway.adminUrl}/health`, { headers: { authorization: `Bearer ${masterKey}` } });
    const report = (await res.json()) as { healthy_endpoints: { model: string }[]; unhealthy_endpoints: { model: string; error: string }[] };
    expect(report.healthy_endpoints.map((endpoint) => endpoint.model)).toContain("claude-fixture");
    expect(report.unhealthy_endpoints.map((endpoint) => endpoint.model)).toEqual(expect.arrayContaining(["claude-500", "claude-429"]));
    const probe = upstream.requests.slice(before).find((request) => request.body.model === "claude-fixture");
    expect(probe?.body).toEqual({ model: "claude-fixture", max_tokens: 1, messages: [{ role: "user", content: "ping" }] });
    expect(probe?.headers["x-api-key"]).toBe(anthropicKey);
  });

  it("the upstream key never reaches the caller, the logs or /model/info", async () => {
    const info = await fetch(`${gateway.adminUrl}/model/info`, { headers: { authorization: `Bearer ${masterKey}` } });
    expect(await info.text()).not.toContain(anthropicKey);
    expect(gateway.output()).not.toContain(anthropicKey);
  });
});
