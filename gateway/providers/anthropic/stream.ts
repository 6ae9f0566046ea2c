import type { EventSourceMessage } from "eventsource-parser";
import { UpstreamError } from "../types";
import { finishReasonOf, openAiUsage, statusOfErrorType, streamEventSchema, type AnthropicUsage } from "./wire";

/**
 * Anthropic's stream, event by event, as OpenAI `chat.completion.chunk`s: text deltas as
 * `content`, tool_use blocks as `tool_calls` (their JSON arguments streamed as they come),
 * thinking as `reasoning_content`, the stop reason as `finish_reason`, and one usage chunk
 * at the end, which the gateway bills from (and drops when the caller did not ask for it).
 */
export class AnthropicToOpenAiStream {
  private id = "";
  private model: string;
  private readonly created = Math.floor(Date.now() / 1000);
  private usage: AnthropicUsage = {};
  private finishReason: string | null = null;
  /** Anthropic content block index → OpenAI tool_calls index. */
  private readonly toolIndexes = new Map<number, number>();
  private finished = false;

  constructor(model: string) {
    this.model = model;
  }

  get done(): boolean {
    return this.finished;
  }

  /** The chunks one upstream event becomes (often none); throws on an `error` event. */
  translate(message: EventSourceMessage): Record<string, unknown>[] {
    let data: unknown;
    try {
      data = JSON.parse(message.data);
    } catch {
      throw new UpstreamError("malformed", `anthropic sent a stream event that is not JSON: ${message.data.slice(0, 200)}`);
    }
    const parsed = streamEventSchema.safeParse(data);
    if (!parsed.success) return [];
    const event = parsed.data;
    switch (event.type) {
      case "message_start":
        this.id = event.message.id;
        this.model = event.message.model;
        this.usage = { ...event.message.usage };
        return [this.chunk({ role: "assistant", content: "" })];
      case "content_block_start": {
        const block = event.content_block;
        if (block.type === "tool_use") {
          const toolIndex = this.toolIndexes.size;
          this.toolIndexes.set(event.index, toolIndex);
          return [
            this.chunk({
              tool_calls: [{ index: toolIndex, id: block.id, type: "function", function: { name: block.name, arguments: "" } }],
            }),
          ];
        }
        if (block.type === "text" && block.text) return [this.chunk({ content: block.text })];
        return [];
      }
      case "content_block_delta": {
        const { delta } = event;
        if (delta.type === "text_delta" && delta.text) return [this.chunk({ content: delta.text })];
        if (delta.type === "thinking_delta" && delta.thinking) return [this.chunk({ reasoning_content: delta.thinking })];
        if (delta.type === "input_json_delta" && delta.partial_json) {
          const toolIndex = this.toolIndexes.get(event.index) ?? 0;
          return [this.chunk({ tool_calls: [{ index: toolIndex, function: { arguments: delta.partial_json } }] })];
        }
        return [];
      }
      case "message_delta":
        // Counts in message_delta are cumulative: they replace, not add to, message_start's.
        if (event.usage) this.usage = { ...this.usage, ...withoutNulls(event.usage) };
        if (event.delta.stop_reason) this.finishReason = finishReasonOf(event.delta.stop_reason);
        return [];
      case "message_stop":
        this.finished = true;
        return [this.chunk({}, this.finishReason ?? "stop"), this.usageChunk()];
      case "error":
        throw new UpstreamError("status", event.error.message, statusOfErrorType[event.error.type] ?? 500);
      default:
        return [];
    }
  }

  /** The usage so far, for a stream that ended before `message_stop`: what it read is still billed. */
  usageChunk(): Record<string, unknown> {
    return { id: this.id, object: "chat.completion.chunk", created: this.created, model: this.model, choices: [], usage: openAiUsage(this.usage) };
  }

  private chunk(delta: Record<string, unknown>, finishReason: string | null = null): Record<string, unknown> {
    return {
      id: this.id,
      object: "chat.completion.chunk",
      created: this.created,
      model: this.model,
      choices: [{ index: 0, delta, finish_reason: finishReason }],
    };
  }
}

function withoutNulls(usage: AnthropicUsage): AnthropicUsage {
  return Object.fromEntries(Object.entries(usage).filter(([, value]) => value !== null && value !== undefined));
}
