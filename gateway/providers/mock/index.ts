import { createHash, randomUUID } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import type { Deployment } from "../../config";
import { estimateInputTokens, estimateMessagesTokens, estimateTextTokens } from "../../tokens";
import type { HealthResult, Provider, ProviderCall, ProviderReply } from "../types";
import { embeddingList } from "../native";

/**
 * Answers without an upstream: deterministic replies and usage for a given request, optional
 * latency (`litellm_params.mock_latency_ms`), and LiteLLM's `mock_response` (from the request
 * or the deployment). The default local config, the tests and the benchmark use it.
 */

const encoder = new TextEncoder();

function lastUserText(messages: unknown): string {
  if (!Array.isArray(messages)) return "";
  for (let index = messages.length - 1; index >= 0; index -= 1) {
    const message: unknown = messages[index];
    if (message !== null && typeof message === "object" && "content" in message && typeof message.content === "string") {
      return message.content;
    }
  }
  return "";
}

function replyText(call: ProviderCall, prompt: string): string {
  const requested = call.body.mock_response;
  if (typeof requested === "string") return requested;
  if (call.deployment.mockResponse !== undefined) return call.deployment.mockResponse;
  const echo = prompt.slice(0, 60).replace(/\s+/g, " ").trim();
  return `This is a mock reply from ${call.deployment.modelName} to: ${echo || "(empty prompt)"}`;
}

/** Cuts the reply to `max_tokens` the way a model stops at its limit. */
function limitReply(text: string, maxTokens: number | undefined): { text: string; finishReason: "stop" | "length" } {
  if (maxTokens === undefined || estimateTextTokens(text) <= maxTokens) return { text, finishReason: "stop" };
  return { text: text.slice(0, maxTokens * 4), finishReason: "length" };
}

function maxTokensOf(body: Record<string, unknown>): number | undefined {
  const value = body.max_completion_tokens ?? body.max_tokens;
  return typeof value === "number" ? value : undefined;
}

/** A unit vector derived from the text's hash, so the same input always embeds the same. */
function embed(text: string, dimensions: number): number[] {
  const vector: number[] = [];
  let block = createHash("sha256").update(text).digest();
  let counter = 0;
  while (vector.length < dimensions) {
    for (let offset = 0; offset + 2 <= block.length && vector.length < dimensions; offset += 2) {
      vector.push(block.readUInt16BE(offset) / 32_767.5 - 1);
    }
    counter += 1;
    block = createHash("sha256").update(block).update(String(counter)).digest();
  }
  const norm = Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0)) || 1;
  return vector.map((value) => Number((value / norm).toFixed(6)));
}

export class MockProvider implements Provider {
  async send(call: ProviderCall): Promise<ProviderReply> {
    if (call.deployment.mockLatencyMs > 0) await delay(call.deployment.mockLatencyMs, undefined, { signal: call.cancel.signal });
    const created = Math.floor(Date.now() / 1000);
    const model = call.deployment.upstreamModel;

    if (call.route === "embedding") {
      const input = call.body.input;
      const inputs = Array.isArray(input) ? input : [input];
      const dimensions = typeof call.body.dimensions === "number" ? call.body.dimensions : call.deployment.embeddingDimensions;
      const promptTokens = estimateInputTokens(input);
      const vectors = inputs.map((item: unknown) => embed(typeof item === "string" ? item : JSON.stringify(item), dimensions));
      return json(embeddingList(vectors, model, promptTokens, call.body.encoding_format), promptTokens, 0);
    }

    const prompt = call.route === "chat" ? lastUserText(call.body.messages) : String(call.body.prompt ?? "");
    const promptTokens =
      call.route === "chat"
        ? estimateMessagesTokens(Array.isArray(call.body.messages) ? call.body.messages : [])
        : estimateInputTokens(call.body.prompt);
    const { text, finishReason } = limitReply(replyText(call, prompt), maxTokensOf(call.body));
    const completionTokens = estimateTextTokens(text);
    const usage = { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
    const id = `${call.route === "chat" ? "chatcmpl" : "cmpl"}-mock-${randomUUID()}`;

    if (call.stream) return { type: "stream", events: this.stream(call, { id, created, model, text, finishReason, usage }) };

    if (call.route === "chat") {
      return json(
        {
          id,
          object: "chat.completion",
          created,
          model,
          system_fingerprint: null,
          choices: [{ index: 0, finish_reason: finishReason, message: { role: "assistant", content: text } }],
          usage,
        },
        promptTokens,
        completionTokens,
      );
    }
    return json(
      {
        id,
        object: "text_completion",
        created,
        model,
        choices: [{ index: 0, text, logprobs: null, finish_reason: finishReason }],
        usage,
      },
      promptTokens,
      completionTokens,
    );
  }

  private async *stream(
    call: ProviderCall,
    reply: { id: string; created: number; model: string; text: string; finishReason: string; usage: object },
  ): AsyncIterable<Uint8Array> {
    const options = call.body.stream_options;
    const includeUsage =
      options !== null && typeof options === "object" && "include_usage" in options && options.include_usage === true;
    const chat = call.route === "chat";
    const base = { id: reply.id, object: chat ? "chat.completion.chunk" : "text_completion", created: reply.created, model: reply.model };
    const frame = (value: object) => encoder.encode(`data: ${JSON.stringify(value)}\n\n`);
    const pieces = reply.text.match(/\S+\s*/g) ?? [];
    const withUsage = includeUsage ? { usage: null } : {};
    if (chat) {
      yield frame({ ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }], ...withUsage });
    }
    for (const piece of pieces) {
      const choice = chat
        ? { index: 0, delta: { content: piece }, finish_reason: null }
        : { index: 0, text: piece, logprobs: null, finish_reason: null };
      yield frame({ ...base, choices: [choice], ...withUsage });
    }
    const last = chat
      ? { index: 0, delta: {}, finish_reason: reply.finishReason }
      : { index: 0, text: "", logprobs: null, finish_reason: reply.finishReason };
    yield frame({ ...base, choices: [last], ...withUsage });
    if (includeUsage) yield frame({ ...base, choices: [], usage: reply.usage });
    yield encoder.encode("data: [DONE]\n\n");
  }

  async checkHealth(_deployment: Deployment): Promise<HealthResult> {
    return { healthy: true };
  }

  async close(): Promise<void> {}
}

function json(body: object, promptTokens: number, completionTokens: number): ProviderReply {
  return { type: "json", body: Buffer.from(JSON.stringify(body)), usage: { promptTokens, completionTokens } };
}
