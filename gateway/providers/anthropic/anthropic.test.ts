import { readFileSync } from "node:fs";
import path from "node:path";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { describe, expect, it } from "vitest";
import { parseConfigText, resolveSettings, type Deployment } from "../../config";
import { GatewayError } from "../../errors";
import { UpstreamError } from "../types";
import { toAnthropicRequest } from "./request";
import { toOpenAiCompletion } from "./response";
import { AnthropicToOpenAiStream } from "./stream";
import { messageSchema } from "./wire";

const fixtures = path.resolve(import.meta.dirname, "../../../test/gateway/fixtures/anthropic");
const fixture = (name: string) => readFileSync(path.join(fixtures, name), "utf8");

function deployment(model = "anthropic/claude-sonnet-4-5-20250929", info = "{}"): Deployment {
  const config = parseConfigText(`model_list:\n  - model_name: m\n    litellm_params: { model: "${model}", api_key: k }\n    model_info: ${info}\n`, {});
  const [first] = resolveSettings(config, "sk-unit-master").deployments;
  if (!first) throw new Error("no deployment");
  return first;
}

function events(text: string): EventSourceMessage[] {
  const found: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => found.push(event) });
  parser.feed(text);
  return found;
}

const user = (content: unknown) => ({ role: "user", content });

describe("OpenAI chat → Anthropic Messages request", () => {
  it("lifts system and developer messages into system and sends the upstream's model name", () => {
    const request = toAnthropicRequest(
      { messages: [{ role: "system", content: "A" }, { role: "developer", content: "B" }, user("Hi")] },
      deployment(),
      false,
    );
    expect(request).toEqual({
      model: "claude-sonnet-4-5-20250929",
      system: "A\nB",
      messages: [{ role: "user", content: [{ type: "text", text: "Hi" }] }],
      max_tokens: 64_000,
    });
  });

  it("keeps system blocks with cache_control as blocks, so prompt caching still works", () => {
    const request = toAnthropicRequest(
      { messages: [{ role: "system", content: [{ type: "text", text: "Long", cache_control: { type: "ephemeral" } }] }, user("Hi")] },
      deployment(),
      false,
    );
    expect(request.system).toEqual([{ type: "text", text: "Long", cache_control: { type: "ephemeral" } }]);
  });

  it("takes max_completion_tokens over max_tokens, and the model's output limit when neither is set", () => {
    expect(toAnthropicRequest({ messages: [user("x")], max_tokens: 5, max_completion_tokens: 7 }, deployment(), false).max_tokens).toBe(7);
    expect(toAnthropicRequest({ messages: [user("x")] }, deployment("anthropic/claude-3-5-haiku-latest"), false).max_tokens).toBe(8_192);
    const unknown = deployment("anthropic/some-new-model", "{ input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 }");
    expect(toAnthropicRequest({ messages: [user("x")] }, unknown, false).max_tokens).toBe(4_096);
  });

  it("turns stop into stop_sequences, dropping whitespace-only ones Anthropic refuses", () => {
    expect(toAnthropicRequest({ messages: [user("x")], stop: "END" }, deployment(), false).stop_sequences).toEqual(["END"]);
    expect(toAnthropicRequest({ messages: [user("x")], stop: ["\n", "STOP"] }, deployment(), false).stop_sequences).toEqual(["STOP"]);
  });

  it.each([
    ["auto", { type: "auto" }],
    ["required", { type: "any" }],
    ["none", { type: "none" }],
    [{ type: "function", function: { name: "get_weather" } }, { type: "tool", name: "get_weather" }],
  ])("maps tool_choice %j to %j", (choice, expected) => {
    const tools = [{ type: "function", function: { name: "get_weather", parameters: { type: "object" } } }];
    expect(toAnthropicRequest({ messages: [user("x")], tools, tool_choice: choice }, deployment(), false).tool_choice).toEqual(expected);
  });

  it("sends the end user as metadata.user_id and asks for a stream when streaming", () => {
    expect(toAnthropicRequest({ messages: [user("x")], user: "u-1" }, deployment(), true)).toMatchObject({
      metadata: { user_id: "u-1" },
      stream: true,
    });
  });

  it.each([
    [{ messages: [user("x")], n: 2 }, "n"],
    [{ messages: [user([{ type: "image_url", image_url: { url: "ftp://x/y.png" } }])] }, "image_url"],
    [{ messages: [{ role: "tool", content: "r" }] }, "tool_call_id"],
    [{ messages: [{ role: "function", content: "r" }] }, "role"],
    [{ messages: [user("x")], tools: [{ type: "retrieval" }] }, "function tools"],
    [{ messages: [{ role: "system", content: "only a system prompt" }] }, "at least one user"],
  ])("refuses %j with a 400 naming %s", (body, named) => {
    let error: unknown;
    try {
      toAnthropicRequest(body, deployment(), false);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).status).toBe(400);
    expect((error as GatewayError).message).toContain(named);
  });
});

describe("Anthropic message → OpenAI chat.completion", () => {
  it.each([
    ["end_turn", "stop"],
    ["stop_sequence", "stop"],
    ["max_tokens", "length"],
    ["tool_use", "tool_calls"],
    ["refusal", "content_filter"],
  ])("maps stop_reason %s to finish_reason %s", (stopReason, finishReason) => {
    const message = messageSchema.parse({ ...JSON.parse(fixture("message.json")), stop_reason: stopReason });
    expect(toOpenAiCompletion(message)).toMatchObject({ choices: [{ finish_reason: finishReason }] });
  });

  it("counts cache reads and writes as prompt tokens, as OpenAI and LiteLLM do", () => {
    const message = messageSchema.parse({
      ...JSON.parse(fixture("message.json")),
      usage: { input_tokens: 10, output_tokens: 5, cache_creation_input_tokens: 100, cache_read_input_tokens: 1000 },
    });
    expect(toOpenAiCompletion(message).usage).toMatchObject({
      prompt_tokens: 1110,
      completion_tokens: 5,
      total_tokens: 1115,
      prompt_tokens_details: { cached_tokens: 1000 },
    });
  });
});

describe("Anthropic stream → OpenAI chunks", () => {
  it("the documented tool-use stream becomes text deltas, one tool call with its JSON arguments, and a usage chunk", () => {
    const translator = new AnthropicToOpenAiStream("m");
    const chunks = events(fixture("stream-tool-use.sse")).flatMap((event) => translator.translate(event)) as {
      choices: { delta: { content?: string; tool_calls?: { id?: string; function: { name?: string; arguments: string } }[] }; finish_reason: string | null }[];
      usage?: { prompt_tokens: number; completion_tokens: number };
    }[];
    const deltas = chunks.flatMap((chunk) => chunk.choices.map((choice) => choice.delta));
    expect(deltas.map((delta) => delta.content ?? "").join("")).toBe("Okay, let's check the weather for San Francisco, CA:");
    const calls = deltas.flatMap((delta) => delta.tool_calls ?? []);
    expect(calls[0]).toMatchObject({ id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", function: { name: "get_weather" } });
    expect(JSON.parse(calls.map((call) => call.function.arguments).join(""))).toEqual({ location: "San Francisco, CA", unit: "fahrenheit" });
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe("tool_calls");
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 472, completion_tokens: 89 } });
    expect(translator.done).toBe(true);
  });

  it("an error event becomes an UpstreamError with the status Anthropic documents for its type", () => {
    const translator = new AnthropicToOpenAiStream("m");
    let error: unknown;
    try {
      for (const event of events(fixture("stream-overloaded.sse"))) translator.translate(event);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).status).toBe(529);
    expect(translator.usageChunk()).toMatchObject({ usage: { prompt_tokens: 25, completion_tokens: 1 } });
  });

  it("skips events of types it does not know, as Anthropic asks clients to", () => {
    const translator = new AnthropicToOpenAiStream("m");
    expect(translator.translate({ data: JSON.stringify({ type: "some_future_event", x: 1 }) })).toEqual([]);
  });
});

describe("anthropic deployments in the config", () => {
  const settings = (params: string) =>
    resolveSettings(parseConfigText(`model_list:\n  - model_name: m\n    litellm_params: ${params}\n`, {}), "sk-unit-master");

  it("anthropic/<model> and a bare claude-* name both mean Anthropic, at api.anthropic.com by default", () => {
    for (const model of ["anthropic/claude-haiku-4-5-20251001", "claude-haiku-4-5-20251001"]) {
      expect(settings(`{ model: ${model}, api_key: k }`).deployments[0]).toMatchObject({
        provider: "anthropic",
        upstreamModel: "claude-haiku-4-5-20251001",
        apiBase: "https://api.anthropic.com",
        inputCostPerToken: 1e-6,
      });
    }
  });

  it("an anthropic deployment without api_key is refused at start, naming the usual variable", () => {
    expect(() => settings("{ model: anthropic/claude-sonnet-4-5 }")).toThrow(/api_key.*ANTHROPIC_API_KEY/);
  });

  it("Opus 4.5 has its own price rather than Opus 4's", () => {
    expect(settings("{ model: anthropic/claude-opus-4-5-20251101, api_key: k }").deployments[0]?.inputCostPerToken).toBe(5e-6);
  });
});
