import { describe, expect, it } from "vitest";
import { GatewayError } from "../../errors";
import { toConverseRequest } from "./request";
import { ConverseStreamTranslator, converseResponseSchema, finishReasonOf, fromConverseResponse } from "./response";

const pixel = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=";

function refusal(body: Record<string, unknown>): GatewayError {
  try {
    toConverseRequest(body);
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error("accepted");
}

describe("OpenAI chat → Converse request", () => {
  it("system and developer messages become system blocks, and images base64 image blocks", () => {
    const request = toConverseRequest({
      messages: [
        { role: "system", content: "Be brief." },
        { role: "developer", content: [{ type: "text", text: "Answer in French." }] },
        {
          role: "user",
          content: [
            { type: "text", text: "What is this?" },
            { type: "image_url", image_url: { url: `data:image/png;base64,${pixel}` } },
          ],
        },
      ],
    });
    expect(request).toEqual({
      system: [{ text: "Be brief." }, { text: "Answer in French." }],
      messages: [{ role: "user", content: [{ text: "What is this?" }, { image: { format: "png", source: { bytes: pixel } } }] }],
    });
  });

  it("consecutive messages of one side merge into one turn, as Converse requires alternation", () => {
    const request = toConverseRequest({
      messages: [
        { role: "user", content: "Weather in Paris and Rome?" },
        {
          role: "assistant",
          content: "Checking both.",
          tool_calls: [
            { id: "t1", type: "function", function: { name: "weather", arguments: '{"city":"Paris"}' } },
            { id: "t2", type: "function", function: { name: "weather", arguments: '{"city":"Rome"}' } },
          ],
        },
        { role: "tool", tool_call_id: "t1", content: "22C" },
        { role: "tool", tool_call_id: "t2", content: "25C" },
        { role: "user", content: "And tomorrow?" },
      ],
    });
    expect(request.messages).toEqual([
      { role: "user", content: [{ text: "Weather in Paris and Rome?" }] },
      {
        role: "assistant",
        content: [
          { text: "Checking both." },
          { toolUse: { toolUseId: "t1", name: "weather", input: { city: "Paris" } } },
          { toolUse: { toolUseId: "t2", name: "weather", input: { city: "Rome" } } },
        ],
      },
      {
        role: "user",
        content: [
          { toolResult: { toolUseId: "t1", content: [{ text: "22C" }] } },
          { toolResult: { toolUseId: "t2", content: [{ text: "25C" }] } },
          { text: "And tomorrow?" },
        ],
      },
    ]);
  });

  it.each([
    ["auto", { auto: {} }],
    ["required", { any: {} }],
    [{ type: "function", function: { name: "weather" } }, { tool: { name: "weather" } }],
    ["none", undefined],
  ])("tool_choice %j becomes toolChoice %j", (choice, expected) => {
    const request = toConverseRequest({
      messages: [{ role: "user", content: "Hi" }],
      tools: [{ type: "function", function: { name: "weather" } }],
      tool_choice: choice,
    });
    expect(request.toolConfig).toEqual({
      tools: [{ toolSpec: { name: "weather", inputSchema: { json: { type: "object", properties: {} } } } }],
      ...(expected ? { toolChoice: expected } : {}),
    });
  });

  it("max_completion_tokens wins over max_tokens, and one stop string becomes a list", () => {
    const request = toConverseRequest({ messages: [{ role: "user", content: "Hi" }], max_tokens: 10, max_completion_tokens: 20, top_p: 0.5, stop: "END" });
    expect(request.inferenceConfig).toEqual({ maxTokens: 20, topP: 0.5, stopSequences: ["END"] });
  });

  it.each([
    ["an image by URL, which Bedrock cannot fetch", { messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "https://example.test/cat.png" } }] }] }, /base64 data URLs/],
    ["tool-call arguments that are not JSON", { messages: [{ role: "assistant", content: null, tool_calls: [{ id: "t", type: "function", function: { name: "f", arguments: "{oops" } }] }] }, /not valid JSON/],
    ["a tool message without tool_call_id", { messages: [{ role: "tool", content: "x" }] }, /tool_call_id/],
    ["only a system message", { messages: [{ role: "system", content: "x" }] }, /at least one user or assistant/],
    ["an unknown role", { messages: [{ role: "robot", content: "x" }] }, /messages\.0\.role/],
  ])("refuses %s with a 400 naming the problem", (_what, body, message) => {
    const error = refusal(body);
    expect(error.status).toBe(400);
    expect(error.message).toMatch(message);
  });
});

describe("Converse answers → OpenAI", () => {
  it("reasoning goes to reasoning_content, and max_tokens is finish_reason length", () => {
    const response = converseResponseSchema.parse({
      output: {
        message: {
          role: "assistant",
          content: [{ reasoningContent: { reasoningText: { text: "Let me think." } } }, { text: "42" }],
        },
      },
      stopReason: "max_tokens",
      usage: { inputTokens: 5, outputTokens: 7, totalTokens: 12 },
    });
    const { body, usage } = fromConverseResponse(response, "us.deepseek.r1-v1:0");
    expect(usage).toEqual({ promptTokens: 5, completionTokens: 7 });
    expect(body).toMatchObject({
      object: "chat.completion",
      model: "us.deepseek.r1-v1:0",
      choices: [{ finish_reason: "length", message: { role: "assistant", content: "42", reasoning_content: "Let me think." } }],
      usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 },
    });
  });

  it("prompt-cache reads and writes count as prompt tokens, apart for their prices, and reach the caller as LiteLLM reports them", () => {
    const response = converseResponseSchema.parse({
      output: { message: { role: "assistant", content: [{ text: "Hi" }] } },
      stopReason: "end_turn",
      usage: { inputTokens: 100, outputTokens: 50, totalTokens: 11_150, cacheReadInputTokens: 10_000, cacheWriteInputTokens: 1_000 },
    });
    const { body, usage } = fromConverseResponse(response, "us.anthropic.claude-sonnet-4-5-20250929-v1:0");
    expect(usage).toEqual({ promptTokens: 11_100, completionTokens: 50, cacheReadTokens: 10_000, cacheWriteTokens: 1_000 });
    expect(body).toMatchObject({
      usage: {
        prompt_tokens: 11_100,
        completion_tokens: 50,
        total_tokens: 11_150,
        prompt_tokens_details: { cached_tokens: 10_000 },
        cache_read_input_tokens: 10_000,
        cache_creation_input_tokens: 1_000,
      },
    });
  });

  it.each([
    ["end_turn", "stop"],
    ["stop_sequence", "stop"],
    ["tool_use", "tool_calls"],
    ["guardrail_intervened", "content_filter"],
    ["something_new", "stop"],
  ])("stopReason %s is finish_reason %s", (stopReason, finishReason) => {
    expect(finishReasonOf(stopReason)).toBe(finishReason);
  });

  it("a stream with two tool blocks numbers their calls 0 and 1 and routes each input delta to its call", () => {
    const translator = new ConverseStreamTranslator("m");
    const chunks = [
      ...translator.translate("messageStart", { role: "assistant" }),
      ...translator.translate("contentBlockStart", { contentBlockIndex: 1, start: { toolUse: { toolUseId: "a", name: "f" } } }),
      ...translator.translate("contentBlockStart", { contentBlockIndex: 2, start: { toolUse: { toolUseId: "b", name: "g" } } }),
      ...translator.translate("contentBlockDelta", { contentBlockIndex: 2, delta: { toolUse: { input: "{}" } } }),
      ...translator.translate("contentBlockDelta", { contentBlockIndex: 1, delta: { toolUse: { input: '{"x":1}' } } }),
      ...translator.translate("messageStop", { stopReason: "tool_use" }),
      ...translator.translate("metadata", { usage: { inputTokens: 3, outputTokens: 4, totalTokens: 7 } }),
    ] as { choices: { delta?: { tool_calls?: { index: number; id?: string; function: { arguments: string } }[] }; finish_reason?: string | null }[]; usage?: unknown }[];
    const calls = chunks.flatMap((chunk) => chunk.choices[0]?.delta?.tool_calls ?? []);
    expect(calls.map((call) => [call.index, call.id, call.function.arguments])).toEqual([
      [0, "a", ""],
      [1, "b", ""],
      [1, undefined, "{}"],
      [0, undefined, '{"x":1}'],
    ]);
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe("tool_calls");
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } });
    expect(translator.usage).toEqual({ promptTokens: 3, completionTokens: 4 });
  });

  it("a malformed event is refused rather than guessed at", () => {
    expect(() => new ConverseStreamTranslator("m").translate("metadata", { usage: { inputTokens: "many" } })).toThrow();
  });
});
