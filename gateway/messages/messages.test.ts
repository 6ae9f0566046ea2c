import { readFileSync } from "node:fs";
import path from "node:path";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { describe, expect, it } from "vitest";
import { GatewayError } from "../errors";
import { AnthropicToOpenAiStream } from "../providers/anthropic/stream";
import { anthropicErrorBody } from ".";
import { messagesRequestSchema, toOpenAiChat } from "./request";
import { toAnthropicMessage } from "./response";
import { AnthropicStreamTap, OpenAiToAnthropicStream } from "./stream";

const fixtures = path.resolve(import.meta.dirname, "../../test/gateway/fixtures/anthropic");
const fixture = (name: string) => readFileSync(path.join(fixtures, name), "utf8");

function events(text: string): EventSourceMessage[] {
  const found: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => found.push(event) });
  parser.feed(text);
  return found;
}

const request = (body: Record<string, unknown>) => messagesRequestSchema.parse({ model: "m", max_tokens: 10, ...body });

describe("Anthropic Messages request → OpenAI chat", () => {
  it("puts tool results as tool messages right after the assistant's tool calls, before the user's new text", () => {
    const chat = toOpenAiChat(
      request({
        system: [{ type: "text", text: "Be brief." }],
        messages: [
          { role: "user", content: [{ type: "text", text: "Weather?" }, { type: "image", source: { type: "base64", media_type: "image/png", data: "AAA" } }] },
          {
            role: "assistant",
            content: [
              { type: "thinking", thinking: "hmm", signature: "s" },
              { type: "tool_use", id: "toolu_1", name: "get_weather", input: { location: "Paris" } },
            ],
          },
          {
            role: "user",
            content: [
              { type: "tool_result", tool_use_id: "toolu_1", content: [{ type: "text", text: "15C" }] },
              { type: "text", text: "And tomorrow?" },
            ],
          },
        ],
        tools: [{ name: "get_weather", description: "d", input_schema: { type: "object" } }],
        tool_choice: { type: "any", disable_parallel_tool_use: true },
        stop_sequences: ["END"],
        metadata: { user_id: "u-1" },
      }),
    );
    expect(chat).toEqual({
      model: "m",
      max_tokens: 10,
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: [{ type: "text", text: "Weather?" }, { type: "image_url", image_url: { url: "data:image/png;base64,AAA" } }] },
        { role: "assistant", content: null, tool_calls: [{ id: "toolu_1", type: "function", function: { name: "get_weather", arguments: '{"location":"Paris"}' } }] },
        { role: "tool", tool_call_id: "toolu_1", content: "15C" },
        { role: "user", content: [{ type: "text", text: "And tomorrow?" }] },
      ],
      tools: [{ type: "function", function: { name: "get_weather", description: "d", parameters: { type: "object" } } }],
      tool_choice: "required",
      parallel_tool_calls: false,
      stop: ["END"],
      user: "u-1",
    });
  });

  it("refuses a document block for a model reached through OpenAI's format, naming where it is", () => {
    const body = request({ messages: [{ role: "user", content: [{ type: "document", source: { type: "text", data: "x" } }] }] });
    expect(() => toOpenAiChat(body)).toThrow(/messages\.0\.content\.0.*document/);
  });
});

describe("OpenAI answers → Anthropic's", () => {
  it("a completion with a tool call becomes text and tool_use blocks with stop_reason tool_use", () => {
    const completion = {
      model: "gpt-x",
      choices: [
        {
          finish_reason: "tool_calls",
          message: { content: "Checking.", tool_calls: [{ id: "call_1", type: "function", function: { name: "f", arguments: '{"a":1}' } }] },
        },
      ],
    };
    expect(toAnthropicMessage(Buffer.from(JSON.stringify(completion)), { promptTokens: 3, completionTokens: 4 }, "m")).toMatchObject({
      type: "message",
      model: "gpt-x",
      content: [
        { type: "text", text: "Checking." },
        { type: "tool_use", id: "call_1", name: "f", input: { a: 1 } },
      ],
      stop_reason: "tool_use",
      usage: { input_tokens: 3, output_tokens: 4 },
    });
  });

  it("Anthropic's documented tool-use stream, through OpenAI chunks and back, keeps its text, tool input and usage", () => {
    const toOpenAi = new AnthropicToOpenAiStream("m");
    const back = new OpenAiToAnthropicStream("m", 1);
    let anthropic = "";
    for (const event of events(fixture("stream-tool-use.sse"))) {
      for (const chunk of toOpenAi.translate(event)) anthropic += back.push(JSON.stringify(chunk));
    }
    anthropic += back.push("[DONE]");
    const replayed = events(anthropic).map((event) => JSON.parse(event.data) as Record<string, unknown>);
    const text = replayed.flatMap((event) => {
      const delta = event.delta as { type?: string; text?: string } | undefined;
      return delta?.type === "text_delta" ? [delta.text ?? ""] : [];
    });
    const json = replayed.flatMap((event) => {
      const delta = event.delta as { type?: string; partial_json?: string } | undefined;
      return delta?.type === "input_json_delta" ? [delta.partial_json ?? ""] : [];
    });
    expect(text.join("")).toBe("Okay, let's check the weather for San Francisco, CA:");
    expect(JSON.parse(json.join(""))).toEqual({ location: "San Francisco, CA", unit: "fahrenheit" });
    expect(replayed.map((event) => event.type)).toEqual([
      "message_start",
      "content_block_start",
      ...text.map(() => "content_block_delta"),
      "content_block_stop",
      "content_block_start",
      ...json.map(() => "content_block_delta"),
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    expect(replayed.at(-2)).toMatchObject({ delta: { stop_reason: "tool_use" }, usage: { input_tokens: 472, output_tokens: 89 } });
    const tap = new AnthropicStreamTap();
    tap.push(new TextEncoder().encode(anthropic));
    expect(tap.usage).toEqual({ promptTokens: 472, completionTokens: 89 });
  });

  it("a stream with no usage chunk is closed with estimated counts, never as free", () => {
    const stream = new OpenAiToAnthropicStream("m", 12);
    let out = stream.push(JSON.stringify({ choices: [{ delta: { content: "abcdefgh" }, finish_reason: "stop" }] }));
    out += stream.finish();
    const tap = new AnthropicStreamTap();
    tap.push(new TextEncoder().encode(out));
    expect(tap.usage).toEqual({ promptTokens: 12, completionTokens: 2 });
  });
});

describe("the Anthropic stream tap", () => {
  it("reads the usage of the documented stream however the bytes are split", () => {
    const bytes = new TextEncoder().encode(fixture("stream.sse"));
    for (const size of [1, 7, 64, bytes.length]) {
      const tap = new AnthropicStreamTap();
      let passed = "";
      for (let offset = 0; offset < bytes.length; offset += size) passed += tap.push(bytes.subarray(offset, offset + size));
      passed += tap.end();
      expect(passed).toBe(fixture("stream.sse"));
      expect(tap.usage).toEqual({ promptTokens: 25, completionTokens: 15 });
    }
  });

  it("bills a stream cut off before message_delta for the text it carried", () => {
    const cut = fixture("stream.sse").split("event: message_delta")[0] ?? "";
    const tap = new AnthropicStreamTap();
    tap.push(new TextEncoder().encode(cut.replace('"text": "!"', `"text": "${"x".repeat(40)}"`)));
    expect(tap.usage).toEqual({ promptTokens: 25, completionTokens: 12 });
  });
});

describe("Anthropic's error shape", () => {
  it.each([
    [400, "invalid_request_error"],
    [401, "authentication_error"],
    [402, "billing_error"],
    [403, "permission_error"],
    [429, "rate_limit_error"],
    [502, "api_error"],
    [504, "timeout_error"],
  ])("status %i is %s", (status, type) => {
    expect(JSON.parse(anthropicErrorBody(new GatewayError(status, "x", "why")))).toEqual({ type: "error", error: { type, message: "why" } });
  });
});
