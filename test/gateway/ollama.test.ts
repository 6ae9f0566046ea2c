import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "../../lib/db/embedded";
import { masterKey, startGateway, waitFor, type RunningGateway, keyHolder, readChatStream } from "./support/gateway";
import { startOllama, type FakeOllama } from "./support/ollama-upstream";

let postgres: EmbeddedPostgres;
let ollama: FakeOllama;
let gateway: RunningGateway;

const inputCost = 0.000001;
const outputCost = 0.000002;

function config(url: string): string {
  const model = (name: string, upstream: string, extra = "") => `
  - model_name: ${name}
    litellm_params:
      model: ${upstream}
      api_base: ${url}${extra}
    model_info: { input_cost_per_token: ${inputCost}, output_cost_per_token: ${outputCost} }`;
  return `
model_list:${model("local-chat", "ollama_chat/llama3.2")}${model("local-generate", "ollama/llama3.2")}${model("local-tools", "ollama_chat/tool-model")}${model("local-missing", "ollama_chat/missing-model")}${model("local-busy", "ollama_chat/busy")}${model("local-crash", "ollama/crash")}${model("local-midway", "ollama_chat/fail-midway")}${model("local-hang", "ollama_chat/hang", "\n      timeout: 1")}
  - model_name: local-embed
    litellm_params:
      model: ollama/all-minilm
      api_base: ${url}
    model_info: { mode: embedding }
general_settings:
  proxy_batch_write_at: 1
`;
}

beforeAll(async () => {
  postgres = await startEmbeddedPostgres();
  ollama = await startOllama();
  gateway = await startGateway({ config: config(ollama.url), databaseUrl: postgres.url });
});

afterAll(async () => {
  await gateway?.stop();
  await ollama?.close();
  await postgres?.stop();
});

const { newKey, client, keySpend } = keyHolder(() => gateway);


async function failure(promise: Promise<unknown>): Promise<{ status: number; error: { message: string; type: string } }> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof OpenAI.APIError) return { status: err.status ?? 0, error: err.error as { message: string; type: string } };
    throw err;
  }
  throw new Error("the call succeeded");
}

const hello: OpenAI.ChatCompletionMessageParam[] = [
  { role: "system", content: "Be friendly." },
  { role: "user", content: "Say hello" },
];

describe("ollama_chat/ models through /api/chat, driven by the official openai client", () => {
  it("a chat completion goes to /api/chat with OpenAI's sampling fields as options, and comes back in OpenAI's shape", async () => {
    const key = await newKey();
    const completion = await client(key).chat.completions.create({
      model: "local-chat",
      messages: hello,
      max_tokens: 64,
      temperature: 0.3,
      top_p: 0.9,
      stop: "###",
    });
    expect(completion.choices[0]?.message.content).toBe("Hello! How are you today?");
    expect(completion.choices[0]?.finish_reason).toBe("stop");
    expect(completion.usage).toMatchObject({ prompt_tokens: 26, completion_tokens: 298, total_tokens: 324 });
    expect(ollama.requests.at(-1)).toEqual({
      path: "/api/chat",
      body: {
        model: "llama3.2",
        stream: false,
        messages: [
          { role: "system", content: "Be friendly." },
          { role: "user", content: "Say hello" },
        ],
        options: { num_predict: 64, temperature: 0.3, top_p: 0.9, stop: ["###"] },
      },
    });
    expect(await keySpend(key)).toBeCloseTo(26 * inputCost + 298 * outputCost, 12);
  });

  it("an NDJSON stream arrives as OpenAI chunks ending with usage from the done line, and is billed", async () => {
    const key = await newKey();
    const stream = await client(key).chat.completions.create({
      model: "local-chat",
      messages: hello,
      stream: true,
      stream_options: { include_usage: true },
    });
    const { text, finish, usage } = await readChatStream(stream);
    expect(text).toBe("Hello! How are you today?");
    expect(finish).toBe("stop");
    expect(usage).toMatchObject({ prompt_tokens: 26, completion_tokens: 282 });
    expect(ollama.requests.at(-1)?.body.stream).toBe(true);
    const cost = 26 * inputCost + 282 * outputCost;
    expect(await keySpend(key)).toBeCloseTo(cost, 12);
    const row = await waitFor(async () => {
      const res = await fetch(`${gateway.adminUrl}/spend/logs?api_key=${encodeURIComponent(key)}`, {
        headers: { authorization: `Bearer ${masterKey}` },
      });
      const rows = (await res.json()) as { custom_llm_provider: string; spend: number; completion_tokens: number }[];
      return rows.find((entry) => entry.custom_llm_provider === "ollama_chat");
    }, 20_000, "the stream's spend-log row");
    expect(row.completion_tokens).toBe(282);
    expect(row.spend).toBeCloseTo(cost, 12);
  });

  it("tools go to /api/chat and a tool call comes back as an OpenAI tool call with JSON arguments", async () => {
    const key = await newKey();
    const tools: OpenAI.ChatCompletionTool[] = [
      {
        type: "function",
        function: {
          name: "get_current_weather",
          description: "Get the current weather for a location",
          parameters: { type: "object", properties: { location: { type: "string" }, format: { type: "string" } }, required: ["location"] },
        },
      },
    ];
    const completion = await client(key).chat.completions.create({
      model: "local-tools",
      messages: [{ role: "user", content: "What is the weather today in Paris?" }],
      tools,
    });
    const choice = completion.choices[0];
    expect(choice?.finish_reason).toBe("tool_calls");
    const call = choice?.message.tool_calls?.[0];
    if (call?.type !== "function") throw new Error("expected a function tool call");
    expect(call.function.name).toBe("get_current_weather");
    expect(JSON.parse(call.function.arguments)).toEqual({ format: "celsius", location: "Paris, FR" });
    expect(ollama.requests.at(-1)?.body.tools).toEqual(tools);

    // The tool's answer goes back as a tool message naming the tool, after the assistant's call.
    await client(key).chat.completions.create({
      model: "local-tools",
      messages: [
        { role: "user", content: "What is the weather today in Paris?" },
        { role: "assistant", content: null, tool_calls: choice?.message.tool_calls },
        { role: "tool", tool_call_id: call.id, content: "22 degrees and sunny" },
      ],
      tools,
    });
    expect(ollama.requests.at(-1)?.body.messages).toEqual([
      { role: "user", content: "What is the weather today in Paris?" },
      { role: "assistant", content: "", tool_calls: [{ function: { name: "get_current_weather", arguments: { format: "celsius", location: "Paris, FR" } } }] },
      { role: "tool", content: "22 degrees and sunny", tool_name: "get_current_weather" },
    ]);
  });

  it("a streamed tool call arrives whole in one tool-call delta", async () => {
    const stream = await client(await newKey()).chat.completions.create({
      model: "local-tools",
      messages: [{ role: "user", content: "What is the weather today in Paris?" }],
      tools: [{ type: "function", function: { name: "get_current_weather", parameters: { type: "object" } } }],
      stream: true,
    });
    const calls: OpenAI.ChatCompletionChunk.Choice.Delta.ToolCall[] = [];
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      calls.push(...(chunk.choices[0]?.delta.tool_calls ?? []));
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(calls).toHaveLength(1);
    expect(calls[0]?.function?.name).toBe("get_current_weather");
    expect(JSON.parse(calls[0]?.function?.arguments ?? "")).toEqual({ format: "celsius", location: "Paris, FR" });
    expect(finish).toBe("tool_calls");
  });
});

describe("ollama/ models through /api/generate, as LiteLLM maps them", () => {
  it("chat messages become one prompt with LiteLLM's role headings, and the answer a chat completion", async () => {
    const completion = await client(await newKey()).chat.completions.create({ model: "local-generate", messages: hello, max_tokens: 20 });
    expect(completion.choices[0]?.message.content).toBe("The sky is blue because of Rayleigh scattering.");
    expect(completion.usage).toMatchObject({ prompt_tokens: 26, completion_tokens: 290 });
    expect(ollama.requests.at(-1)).toEqual({
      path: "/api/generate",
      body: { model: "llama3.2", prompt: "### System:\nBe friendly.\n\n### User:\nSay hello\n\n", stream: false, options: { num_predict: 20 } },
    });
  });

  it("a streamed generate arrives as chat chunks with usage", async () => {
    const stream = await client(await newKey()).chat.completions.create({
      model: "local-generate",
      messages: hello,
      stream: true,
      stream_options: { include_usage: true },
    });
    const { text, usage } = await readChatStream(stream);
    expect(text).toBe("The sky is blue.");
    expect(usage).toMatchObject({ prompt_tokens: 26, completion_tokens: 259 });
  });

  it("a text completion sends its prompt as it is and comes back as a text_completion", async () => {
    const completion = await client(await newKey()).completions.create({ model: "local-generate", prompt: "Why is the sky blue?" });
    expect(completion.object).toBe("text_completion");
    expect(completion.choices[0]?.text).toBe("The sky is blue because of Rayleigh scattering.");
    expect(ollama.requests.at(-1)?.body).toEqual({ model: "llama3.2", prompt: "Why is the sky blue?", stream: false });
  });

  it("embeddings go to /api/embed and come back as OpenAI's list with usage, in base64 when asked (the openai client's default)", async () => {
    const key = await newKey();
    const vector = [0.010071029, -0.0017594862, 0.05007221, 0.04692972];
    const floats = await client(key).embeddings.create({ model: "local-embed", input: "Why is the sky blue?", encoding_format: "float" });
    expect(floats.data[0]?.embedding).toEqual(vector);
    expect(floats.usage.prompt_tokens).toBe(8);
    expect(ollama.requests.at(-1)).toEqual({ path: "/api/embed", body: { model: "all-minilm", input: "Why is the sky blue?" } });
    // Without encoding_format the client asks for base64 and decodes float32 itself.
    const decoded = await client(key).embeddings.create({ model: "local-embed", input: "Why is the sky blue?" });
    expect(decoded.data[0]?.embedding).toEqual(vector.map((value) => Math.fround(value)));
  });

  it("tools on ollama/ are refused with a 400 pointing at ollama_chat/", async () => {
    const { status, error } = await failure(
      client(await newKey()).chat.completions.create({
        model: "local-generate",
        messages: hello,
        tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } } }],
      }),
    );
    expect(status).toBe(400);
    expect(error.message).toContain("ollama_chat/");
  });
});

describe("ollama health", () => {
  it("/health probes Ollama's /api/tags: a pulled model is healthy, one not pulled is not, saying how to pull it", async () => {
    const res = await fetch(`${gateway.adminUrl}/health`, { headers: { authorization: `Bearer ${masterKey}` } });
    const report = (await res.json()) as { healthy_endpoints: { model: string }[]; unhealthy_endpoints: { model: string; error: string }[] };
    expect(report.healthy_endpoints.map((endpoint) => endpoint.model)).toContain("local-chat");
    const missing = report.unhealthy_endpoints.find((endpoint) => endpoint.model === "local-missing");
    expect(missing?.error).toContain("ollama pull missing-model");
  });
});

describe("ollama errors reach the caller in OpenAI's envelope", () => {
  it("a busy Ollama (429) is a 429 rate_limit_error with Ollama's message", async () => {
    const { status, error } = await failure(client(await newKey()).chat.completions.create({ model: "local-busy", messages: hello }));
    expect(status).toBe(429);
    expect(error.type).toBe("rate_limit_error");
    expect(error.message).toContain("server busy");
  });

  it("a streamed request to a busy Ollama is a 429 too, before any stream begins", async () => {
    const { status } = await failure(client(await newKey()).chat.completions.create({ model: "local-busy", messages: hello, stream: true }));
    expect(status).toBe(429);
  });

  it("a crashed model runner (500) is a 502 api_error with Ollama's message", async () => {
    const { status, error } = await failure(client(await newKey()).chat.completions.create({ model: "local-crash", messages: hello }));
    expect(status).toBe(502);
    expect(error.type).toBe("api_error");
    expect(error.message).toContain("llama runner process has terminated");
  });

  it("a model Ollama has not pulled is a 404 saying so", async () => {
    const { status, error } = await failure(client(await newKey()).chat.completions.create({ model: "local-missing", messages: hello }));
    expect(status).toBe(404);
    expect(error.message).toContain("not found, try pulling it first");
  });

  it("an Ollama that does not answer within the deployment's timeout is a 504", async () => {
    const { status, error } = await failure(client(await newKey()).chat.completions.create({ model: "local-hang", messages: hello }));
    expect(status).toBe(504);
    expect(error.type).toBe("timeout_error");
  });

  it("an error line in the middle of a stream ends the stream with an error after the text so far", async () => {
    const stream = await client(await newKey()).chat.completions.create({ model: "local-midway", messages: hello, stream: true });
    const { text, error: caught } = await readChatStream(stream);
    expect(text).toBe("Hello");
    expect(String(caught)).toContain("unexpected EOF");
  });
});
