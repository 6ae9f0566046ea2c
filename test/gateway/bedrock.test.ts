import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "../../lib/db/embedded";
import { awsTestCredentials, awsTestRegion, fakeEmbedding, startBedrock, wordCount, type FakeBedrock } from "./support/bedrock-upstream";
import { masterKey, startGateway, waitFor, type RunningGateway, keyHolder, readChatStream } from "./support/gateway";

let postgres: EmbeddedPostgres;
let bedrock: FakeBedrock;
let gateway: RunningGateway;

const haikuId = "anthropic.claude-3-haiku-20240307-v1:0";
// claude-3-haiku's built-in prices: 12 prompt tokens × $0.00000025 + 10 completion tokens × $0.00000125.
const haikuCost = 12 * 2.5e-7 + 10 * 1.25e-6;

function config(url: string): string {
  const keys = `
      aws_access_key_id: os.environ/TEST_AWS_KEY_ID
      aws_secret_access_key: os.environ/TEST_AWS_SECRET
      aws_region_name: ${awsTestRegion}
      aws_bedrock_runtime_endpoint: ${url}`;
  const priced = `
    model_info: { input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 }`;
  return `
model_list:
  - model_name: claude-haiku
    litellm_params:
      model: bedrock/${haikuId}${keys}
  - model_name: bedrock-tools
    litellm_params:
      model: bedrock/converse/tool-model${keys}${priced}
  - model_name: bedrock-throttled
    litellm_params:
      model: bedrock/throttled${keys}${priced}
  - model_name: bedrock-broken
    litellm_params:
      model: bedrock/broken${keys}${priced}
  - model_name: bedrock-invalid
    litellm_params:
      model: bedrock/invalid${keys}${priced}
  - model_name: bedrock-stream-exception
    litellm_params:
      model: bedrock/stream-exception${keys}${priced}
  - model_name: bedrock-stream-cut
    litellm_params:
      model: bedrock/stream-cut${keys}${priced}
  - model_name: bedrock-hang
    litellm_params:
      model: bedrock/hang${keys}
      timeout: 1${priced}
  - model_name: bedrock-chain
    litellm_params:
      model: bedrock/${haikuId}
      aws_region_name: ${awsTestRegion}
      api_base: ${url}
  - model_name: titan-embed
    litellm_params:
      model: bedrock/amazon.titan-embed-text-v2:0${keys}
  - model_name: titan-embed-v1
    litellm_params:
      model: bedrock/amazon.titan-embed-text-v1${keys}
  - model_name: cohere-embed
    litellm_params:
      model: bedrock/us.cohere.embed-english-v3${keys}
  - model_name: titan-embed-throttled
    litellm_params:
      model: bedrock/throttled.amazon.titan-embed-text-v2:0${keys}
    model_info: { mode: embedding, input_cost_per_token: 0.000001 }
  - model_name: bedrock-wrong-secret
    litellm_params:
      model: bedrock/${haikuId}
      aws_access_key_id: ${awsTestCredentials.accessKeyId}
      aws_secret_access_key: not-the-secret
      aws_session_token: session-token-secret
      aws_region_name: ${awsTestRegion}
      aws_bedrock_runtime_endpoint: ${url}
general_settings:
  proxy_batch_write_at: 1
`;
}

beforeAll(async () => {
  postgres = await startEmbeddedPostgres();
  bedrock = await startBedrock();
  gateway = await startGateway({
    config: config(bedrock.url),
    databaseUrl: postgres.url,
    env: {
      TEST_AWS_KEY_ID: awsTestCredentials.accessKeyId,
      TEST_AWS_SECRET: awsTestCredentials.secretAccessKey,
      // For the deployment without keys: the standard AWS chain finds these.
      AWS_ACCESS_KEY_ID: awsTestCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: awsTestCredentials.secretAccessKey,
    },
  });
});

afterAll(async () => {
  await gateway?.stop();
  await bedrock?.close();
  await postgres?.stop();
});

const { newKey, client, keySpend } = keyHolder(() => gateway);


async function failure(promise: Promise<unknown>): Promise<{ status: number; error: { message: string; type: string; code: string } }> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof OpenAI.APIError) return { status: err.status ?? 0, error: err.error as { message: string; type: string; code: string } };
    throw err;
  }
  throw new Error("the call succeeded");
}

describe("bedrock/ models through Converse, driven by the official openai client", () => {
  it("a chat completion is sent to Converse SigV4-signed for bedrock in the region, and comes back in OpenAI's shape", async () => {
    const key = await newKey();
    const completion = await client(key).chat.completions.create({
      model: "claude-haiku",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Say hello" },
      ],
      max_tokens: 50,
      temperature: 0.2,
      stop: ["###"],
    });
    expect(completion.choices[0]?.message.content).toBe("Hello! How can I help you today?");
    expect(completion.choices[0]?.finish_reason).toBe("stop");
    expect(completion.usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 10, total_tokens: 22 });

    const sent = bedrock.requests.at(-1);
    expect(sent).toMatchObject({ modelId: haikuId, operation: "converse", signatureValid: true });
    expect(sent?.credentialScope).toMatch(new RegExp(`^\\d{8}/${awsTestRegion}/bedrock/aws4_request$`));
    expect(sent?.body).toEqual({
      messages: [{ role: "user", content: [{ text: "Say hello" }] }],
      system: [{ text: "Be brief." }],
      inferenceConfig: { maxTokens: 50, temperature: 0.2, stopSequences: ["###"] },
    });
    expect(await keySpend(key)).toBeCloseTo(haikuCost, 12);
  });

  it("a stream of event-stream frames arrives as OpenAI chunks ending with usage, and the stream is billed", async () => {
    const key = await newKey();
    const stream = await client(key).chat.completions.create({
      model: "claude-haiku",
      messages: [{ role: "user", content: "Say hello" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const { text, finish, usage } = await readChatStream(stream);
    expect(text).toBe("Hello! How can I help you today?");
    expect(finish).toBe("stop");
    expect(usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 10 });
    expect(bedrock.requests.at(-1)).toMatchObject({ operation: "converse-stream", signatureValid: true });
    expect(await keySpend(key)).toBeCloseTo(haikuCost, 12);
  });

  it("a stream the caller did not ask usage for is billed all the same, and its spend-log row has the tokens", async () => {
    const key = await newKey();
    const stream = await client(key).chat.completions.create({ model: "claude-haiku", messages: [{ role: "user", content: "Hi" }], stream: true });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.some((chunk) => chunk.usage)).toBe(false);
    expect(await keySpend(key)).toBeCloseTo(haikuCost, 12);
    const row = await waitFor(async () => {
      const res = await fetch(`${gateway.adminUrl}/spend/logs?api_key=${encodeURIComponent(key)}`, {
        headers: { authorization: `Bearer ${masterKey}` },
      });
      const rows = (await res.json()) as { prompt_tokens: number; completion_tokens: number; custom_llm_provider: string; spend: number }[];
      return rows.find((entry) => entry.custom_llm_provider === "bedrock");
    }, 20_000, "the stream's spend-log row");
    expect(row).toMatchObject({ prompt_tokens: 12, completion_tokens: 10 });
    expect(row.spend).toBeCloseTo(haikuCost, 12);
  });

  it("tools go out as toolConfig and a toolUse comes back as an OpenAI tool call", async () => {
    const key = await newKey();
    const tools: OpenAI.ChatCompletionTool[] = [
      {
        type: "function",
        function: {
          name: "top_song",
          description: "Get the most popular song played on a radio station.",
          parameters: { type: "object", properties: { sign: { type: "string" } }, required: ["sign"] },
        },
      },
    ];
    const completion = await client(key).chat.completions.create({
      model: "bedrock-tools",
      messages: [{ role: "user", content: "What is the most popular song on WZPZ?" }],
      tools,
      tool_choice: "required",
    });
    const choice = completion.choices[0];
    expect(choice?.finish_reason).toBe("tool_calls");
    expect(choice?.message.tool_calls).toEqual([
      { id: "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", type: "function", function: { name: "top_song", arguments: '{"sign":"WZPZ"}' } },
    ]);
    const sent = bedrock.requests.at(-1);
    expect(sent?.modelId).toBe("tool-model");
    expect(sent?.body.toolConfig).toEqual({
      tools: [
        {
          toolSpec: {
            name: "top_song",
            description: "Get the most popular song played on a radio station.",
            inputSchema: { json: { type: "object", properties: { sign: { type: "string" } }, required: ["sign"] } },
          },
        },
      ],
      toolChoice: { any: {} },
    });

    // The tool's answer goes back as a toolResult in a user turn, after the assistant's toolUse.
    await client(key).chat.completions.create({
      model: "bedrock-tools",
      messages: [
        { role: "user", content: "What is the most popular song on WZPZ?" },
        { role: "assistant", content: null, tool_calls: choice?.message.tool_calls },
        { role: "tool", tool_call_id: "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", content: "Elemental Hotel by 8 Storey Hike" },
      ],
      tools,
    });
    expect(bedrock.requests.at(-1)?.body.messages).toEqual([
      { role: "user", content: [{ text: "What is the most popular song on WZPZ?" }] },
      { role: "assistant", content: [{ toolUse: { toolUseId: "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", name: "top_song", input: { sign: "WZPZ" } } }] },
      {
        role: "user",
        content: [{ toolResult: { toolUseId: "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", content: [{ text: "Elemental Hotel by 8 Storey Hike" }] } }],
      },
    ]);
  });

  it("a streamed tool call arrives as tool-call deltas whose arguments join to the tool's input", async () => {
    const key = await newKey();
    const stream = await client(key).chat.completions.create({
      model: "bedrock-tools",
      messages: [{ role: "user", content: "What is the most popular song on WZPZ?" }],
      tools: [{ type: "function", function: { name: "top_song", parameters: { type: "object" } } }],
      stream: true,
    });
    let name = "";
    let args = "";
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      for (const call of chunk.choices[0]?.delta.tool_calls ?? []) {
        name += call.function?.name ?? "";
        args += call.function?.arguments ?? "";
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(name).toBe("top_song");
    expect(JSON.parse(args)).toEqual({ sign: "WZPZ" });
    expect(finish).toBe("tool_calls");
  });

  it("the standard AWS credential chain signs for a deployment without keys", async () => {
    const key = await newKey();
    const completion = await client(key).chat.completions.create({ model: "bedrock-chain", messages: [{ role: "user", content: "Hi" }] });
    expect(completion.choices[0]?.message.content).toBe("Hello! How can I help you today?");
    expect(bedrock.requests.at(-1)?.signatureValid).toBe(true);
  });
});

describe("bedrock embeddings through InvokeModel, driven by the official openai client", () => {
  // The built-in prices: Titan Text Embeddings V2 $0.02 and Cohere Embed v3 $0.10 per million tokens.
  const titanV2Price = 2e-8;
  const cohereV3Price = 1e-7;

  it("Titan V2 embeds each text in its own signed call with the caller's dimensions, billed on Titan's token counts", async () => {
    const key = await newKey();
    const before = bedrock.requests.length;
    const inputs = ["the quick brown fox", "jumps over", "the lazy dog today"];
    const result = await client(key).embeddings.create({ model: "titan-embed", input: inputs, dimensions: 256, encoding_format: "float" });

    const calls = bedrock.requests.slice(before);
    expect(calls.map((call) => call.operation)).toEqual(["invoke", "invoke", "invoke"]);
    expect(calls.every((call) => call.modelId === "amazon.titan-embed-text-v2:0" && call.signatureValid)).toBe(true);
    expect(calls.map((call) => call.body).sort((a, b) => String(a.inputText).localeCompare(String(b.inputText)))).toEqual(
      [...inputs].sort().map((inputText) => ({ inputText, dimensions: 256, normalize: true })),
    );
    expect(result.data.map((item) => item.index)).toEqual([0, 1, 2]);
    expect(result.data.map((item) => item.embedding)).toEqual(inputs.map((text) => fakeEmbedding(text, 256)));
    const tokens = inputs.reduce((sum, text) => sum + wordCount(text), 0);
    expect(result.usage).toEqual({ prompt_tokens: tokens, total_tokens: tokens });
    expect(result.model).toBe("amazon.titan-embed-text-v2:0");
    expect(await keySpend(key)).toBeCloseTo(tokens * titanV2Price, 14);
  });

  it("the openai client's default base64 encoding comes back as OpenAI sends it and decodes to the same vectors", async () => {
    const key = await newKey();
    // No encoding_format: the client asks for base64 and decodes float32 itself.
    const decoded = await client(key).embeddings.create({ model: "titan-embed-v1", input: "hello there" });
    expect(decoded.data[0]?.embedding).toEqual(fakeEmbedding("hello there", 1536));

    const raw = await fetch(`${gateway.publicUrl}/v1/embeddings`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "titan-embed-v1", input: "hello there", encoding_format: "base64" }),
    });
    const body = (await raw.json()) as { data: { embedding: string }[] };
    const bytes = Buffer.from(body.data[0]?.embedding ?? "", "base64");
    expect(Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4))).toEqual(fakeEmbedding("hello there", 1536));
    expect(bedrock.requests.at(-1)?.body).toEqual({ inputText: "hello there" });
  });

  it("Cohere embeds up to 96 texts a call as search documents, in order, billed on Bedrock's token-count header", async () => {
    const key = await newKey();
    const before = bedrock.requests.length;
    const inputs = Array.from({ length: 100 }, (_, index) => `document number ${index}`);
    const result = await client(key).embeddings.create({ model: "cohere-embed", input: inputs, encoding_format: "float" });

    const calls = bedrock.requests.slice(before);
    expect(calls.map((call) => call.modelId)).toEqual(["us.cohere.embed-english-v3", "us.cohere.embed-english-v3"]);
    expect(calls.map((call) => (call.body.texts as string[]).length)).toEqual([96, 4]);
    expect(calls.every((call) => call.body.input_type === "search_document")).toBe(true);
    expect(result.data.map((item) => item.embedding)).toEqual(inputs.map((text) => fakeEmbedding(text, 8)));
    expect(result.data.map((item) => item.index)).toEqual(inputs.map((_, index) => index));
    expect(result.usage.prompt_tokens).toBe(300);
    expect(await keySpend(key)).toBeCloseTo(300 * cohereV3Price, 14);

    await client(key).embeddings.create({ model: "cohere-embed", input: "a query", encoding_format: "float", input_type: "search_query" } as never);
    expect(bedrock.requests.at(-1)?.body).toEqual({ texts: ["a query"], input_type: "search_query" });
  });

  it("what a Bedrock embedding model cannot take is a 400 naming the field, and nothing is sent", async () => {
    const key = await newKey();
    const before = bedrock.requests.length;
    const cases: [Record<string, unknown>, string, string][] = [
      [{ model: "titan-embed", input: [[1, 2, 3]] }, "input", "not token ids"],
      [{ model: "titan-embed-v1", input: "hi", dimensions: 256 }, "dimensions", "one size only"],
      [{ model: "cohere-embed", input: "hi", input_type: "poetry" }, "input_type", "search_document"],
      [{ model: "titan-embed", input: "hi", encoding_format: "int8" }, "encoding_format", "encoding_format"],
      [{ model: "claude-haiku", input: "hi" }, "model", "makes no embeddings"],
    ];
    for (const [body, param, message] of cases) {
      const res = await fetch(`${gateway.publicUrl}/v1/embeddings`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      const { error } = (await res.json()) as { error: { message: string; param: string | null; type: string } };
      expect({ status: res.status, param: error.param, type: error.type }).toEqual({ status: 400, param, type: "invalid_request_error" });
      expect(error.message).toContain(message);
    }
    expect(bedrock.requests.length).toBe(before);
    expect(await keySpend(key)).toBe(0);
  });

  it("a throttled InvokeModel is a 429 rate_limit_error with Bedrock's message", async () => {
    const { status, error } = await failure(
      client(await newKey()).embeddings.create({ model: "titan-embed-throttled", input: "hi", encoding_format: "float" }),
    );
    expect(status).toBe(429);
    expect(error.type).toBe("rate_limit_error");
    expect(error.message).toContain("Too many requests");
  });
});

describe("bedrock health", () => {
  it("/health probes each deployment with a signed one-token Converse call and reports Bedrock's refusals", async () => {
    const res = await fetch(`${gateway.adminUrl}/health`, { headers: { authorization: `Bearer ${masterKey}` } });
    const report = (await res.json()) as { healthy_endpoints: { model: string }[]; unhealthy_endpoints: { model: string; error: string }[] };
    expect(report.healthy_endpoints.map((endpoint) => endpoint.model)).toEqual(expect.arrayContaining(["claude-haiku", "bedrock-chain"]));
    const throttled = report.unhealthy_endpoints.find((endpoint) => endpoint.model === "bedrock-throttled");
    expect(throttled?.error).toContain("ThrottlingException");
    const probe = bedrock.requests.find((request) => request.modelId === haikuId && request.body.inferenceConfig !== undefined && JSON.stringify(request.body).includes("ping"));
    expect(probe?.body.inferenceConfig).toEqual({ maxTokens: 1 });
    // An embedding model is probed with an embedding, not a chat it cannot answer.
    expect(report.healthy_endpoints.map((endpoint) => endpoint.model)).toEqual(expect.arrayContaining(["titan-embed", "cohere-embed"]));
    const embeddingProbe = bedrock.requests.find((request) => request.modelId === "amazon.titan-embed-text-v2:0" && request.body.inputText === "ping");
    expect(embeddingProbe?.operation).toBe("invoke");
  });
});

describe("bedrock errors reach the caller in OpenAI's envelope", () => {
  it("ThrottlingException is a 429 rate_limit_error with Bedrock's message", async () => {
    const { status, error } = await failure(
      client(await newKey()).chat.completions.create({ model: "bedrock-throttled", messages: [{ role: "user", content: "Hi" }] }),
    );
    expect(status).toBe(429);
    expect(error.type).toBe("rate_limit_error");
    expect(error.message).toContain("Too many requests");
  });

  it("a streamed request that is throttled before any output is a 429 too, not an error inside a 200 stream", async () => {
    const { status } = await failure(
      client(await newKey()).chat.completions.create({ model: "bedrock-throttled", messages: [{ role: "user", content: "Hi" }], stream: true }),
    );
    expect(status).toBe(429);
  });

  it("InternalServerException (500) is a 502 api_error naming the upstream's status", async () => {
    const { status, error } = await failure(
      client(await newKey()).chat.completions.create({ model: "bedrock-broken", messages: [{ role: "user", content: "Hi" }] }),
    );
    expect(status).toBe(502);
    expect(error.type).toBe("api_error");
    expect(error.message).toContain("500");
    expect(error.message).toContain("InternalServerException");
  });

  it("ValidationException is a 400 with Bedrock's reason", async () => {
    const { status, error } = await failure(
      client(await newKey()).chat.completions.create({ model: "bedrock-invalid", messages: [{ role: "user", content: "Hi" }] }),
    );
    expect(status).toBe(400);
    expect(error.message).toContain("temperature");
  });

  it("a Bedrock that does not answer within the deployment's timeout is a 504", async () => {
    const { status, error } = await failure(
      client(await newKey()).chat.completions.create({ model: "bedrock-hang", messages: [{ role: "user", content: "Hi" }] }),
    );
    expect(status).toBe(504);
    expect(error.type).toBe("timeout_error");
  });

  it("an exception event in the middle of a stream ends the stream with an OpenAI error after the text so far", async () => {
    const stream = await client(await newKey()).chat.completions.create({
      model: "bedrock-stream-exception",
      messages: [{ role: "user", content: "Hi" }],
      stream: true,
    });
    const { text, error: caught } = await readChatStream(stream);
    expect(text).toBe("Hello");
    expect(String(caught)).toContain("modelStreamErrorException");
  });

  it("a stream that ends before messageStop ends with an error after the text so far, not a clean finish", async () => {
    const stream = await client(await newKey()).chat.completions.create({
      model: "bedrock-stream-cut",
      messages: [{ role: "user", content: "Hi" }],
      stream: true,
    });
    const { text, error: caught } = await readChatStream(stream);
    expect(text).toBe("Hello");
    expect(String(caught)).toContain("before messageStop");
  });

  it("a request signed with the wrong secret is refused by Bedrock, and the secret appears nowhere", async () => {
    const { status, error } = await failure(
      client(await newKey()).chat.completions.create({ model: "bedrock-wrong-secret", messages: [{ role: "user", content: "Hi" }] }),
    );
    expect(status).toBe(502);
    expect(error.message).toContain("InvalidSignatureException");
    expect(bedrock.requests.at(-1)?.signatureValid).toBe(false);
    expect(JSON.stringify(error)).not.toContain("not-the-secret");
    // Bedrock's own message quotes the signed headers, session token included; the caller never sees it.
    expect(JSON.stringify(error)).not.toContain("session-token-secret");
    expect(gateway.output()).not.toContain("session-token-secret");
    expect(gateway.output()).not.toContain("not-the-secret");
    expect(gateway.output()).not.toContain(awsTestCredentials.secretAccessKey);
    const info = await fetch(`${gateway.publicUrl}/model/info`, { headers: { authorization: `Bearer ${masterKey}` } });
    const text = await info.text();
    expect(text).not.toContain("not-the-secret");
    expect(text).not.toContain(awsTestCredentials.secretAccessKey);
  });
});
