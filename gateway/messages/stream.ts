import { EventTap, parseChatChunk } from "../chat-wire";
import { streamEventSchema, usageOf, type AnthropicUsage } from "../providers/anthropic/wire";
import type { Usage } from "../spend";
import { messageId, stopReasonOf } from "./response";

/**
 * OpenAI chunks, one at a time, as Anthropic's event stream: message_start, a content block per
 * run of text or per tool call (start, deltas, stop), then message_delta with the stop reason and
 * usage, and message_stop. The usage comes from the upstream's final usage chunk, so
 * message_delta (not message_start) carries the real input and output counts.
 */

export function sseEvent(type: string, data: Record<string, unknown>): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

export class OpenAiToAnthropicStream {
  private readonly id = messageId();
  private started = false;
  private finished = false;
  private blockIndex = -1;
  private open: { kind: "text" } | { kind: "tool"; openAiIndex: number } | null = null;
  private stopReason: string | null = null;
  private usage: { prompt_tokens: number; completion_tokens?: number } | null = null;
  private streamedChars = 0;

  constructor(
    private model: string,
    private readonly estimatedInputTokens: number,
  ) {}

  /** The events for one `data:` payload of the OpenAI stream. */
  push(data: string): string {
    if (data === "[DONE]") return this.finish();
    const chunk = parseChatChunk(data);
    if (!chunk) return "";
    let out = this.start(chunk.model);
    if (chunk.usage) this.usage = chunk.usage;
    for (const choice of chunk.choices ?? []) {
      const delta = choice.delta;
      if (delta?.content) {
        if (this.open?.kind !== "text") out += this.openBlock({ kind: "text" }, { type: "text", text: "" });
        this.streamedChars += delta.content.length;
        out += sseEvent("content_block_delta", { index: this.blockIndex, delta: { type: "text_delta", text: delta.content } });
      }
      for (const call of delta?.tool_calls ?? []) {
        const openAiIndex = call.index ?? 0;
        const current = this.open;
        if (call.id || current?.kind !== "tool" || current.openAiIndex !== openAiIndex) {
          out += this.openBlock(
            { kind: "tool", openAiIndex },
            { type: "tool_use", id: call.id ?? `toolu_${this.id}_${openAiIndex}`, name: call.function?.name ?? "", input: {} },
          );
        }
        const args = call.function?.arguments;
        if (args) {
          this.streamedChars += args.length;
          out += sseEvent("content_block_delta", { index: this.blockIndex, delta: { type: "input_json_delta", partial_json: args } });
        }
      }
      if (choice.finish_reason) this.stopReason = stopReasonOf(choice.finish_reason);
    }
    return out;
  }

  /** Closes the message; a stream that ended without `[DONE]` is closed the same way. */
  finish(): string {
    if (this.finished) return "";
    this.finished = true;
    let out = this.start(undefined) + this.closeBlock();
    // Without a usage chunk the counts are estimated, so the stream is never billed as free.
    const usage = this.usage
      ? { input_tokens: this.usage.prompt_tokens, output_tokens: this.usage.completion_tokens ?? 0 }
      : { input_tokens: this.estimatedInputTokens, output_tokens: Math.ceil(this.streamedChars / 4) };
    out += sseEvent("message_delta", { delta: { stop_reason: this.stopReason ?? "end_turn", stop_sequence: null }, usage });
    out += sseEvent("message_stop", {});
    return out;
  }

  private start(model: string | undefined): string {
    if (this.started) return "";
    this.started = true;
    if (model) this.model = model;
    const message = {
      id: this.id,
      type: "message",
      role: "assistant",
      model: this.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: this.estimatedInputTokens, output_tokens: 0 },
    };
    return sseEvent("message_start", { message });
  }

  private openBlock(kind: NonNullable<typeof this.open>, contentBlock: Record<string, unknown>): string {
    const out = this.closeBlock();
    this.blockIndex += 1;
    this.open = kind;
    return out + sseEvent("content_block_start", { index: this.blockIndex, content_block: contentBlock });
  }

  private closeBlock(): string {
    if (!this.open) return "";
    this.open = null;
    return sseEvent("content_block_stop", { index: this.blockIndex });
  }
}

/**
 * Watches an Anthropic event stream on its way to the caller, passing it on unchanged: input
 * tokens from message_start, the final counts from message_delta (cumulative, so they replace),
 * and the streamed text for a stream cut off before its message_delta.
 */
export class AnthropicStreamTap extends EventTap {
  private counts: AnthropicUsage | null = null;
  private finalCounts = false;
  streamedChars = 0;

  get usage(): Usage | null {
    if (!this.counts) return null;
    const reported = this.counts.output_tokens ?? 0;
    return {
      ...usageOf(this.counts),
      completionTokens: this.finalCounts ? reported : Math.max(reported, Math.ceil(this.streamedChars / 4)),
    };
  }

  protected inspect(parsed: unknown): void {
    const event = streamEventSchema.safeParse(parsed);
    if (!event.success) return;
    const value = event.data;
    if (value.type === "message_start") this.counts = { ...value.message.usage };
    else if (value.type === "message_delta" && value.usage) {
      const defined = Object.entries(value.usage).filter(([, count]) => count !== null && count !== undefined);
      this.counts = { ...(this.counts ?? {}), ...Object.fromEntries(defined) };
      this.finalCounts = true;
    } else if (value.type === "content_block_delta") {
      this.streamedChars += (value.delta.text ?? value.delta.partial_json ?? value.delta.thinking ?? "").length;
    }
  }
}
