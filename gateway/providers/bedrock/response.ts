import { randomUUID } from "node:crypto";
import { z } from "zod";
import { withCache, type Usage } from "../../spend";
import { chunkBase, usageBody, type ChunkBase, type OpenAiToolCall } from "../native";

/** Bedrock Converse answers (whole, or as ConverseStream events) → OpenAI chat completions. */

const finishReasons: Record<string, string> = {
  end_turn: "stop",
  stop_sequence: "stop",
  max_tokens: "length",
  model_context_window_exceeded: "length",
  tool_use: "tool_calls",
  guardrail_intervened: "content_filter",
  content_filtered: "content_filter",
};

export function finishReasonOf(stopReason: string | undefined): string {
  return (stopReason && finishReasons[stopReason]) ?? "stop";
}

const count = z.number().int().min(0);
const usageSchema = z.looseObject({
  inputTokens: count,
  outputTokens: count,
  cacheReadInputTokens: count.nullable().optional(),
  cacheWriteInputTokens: count.nullable().optional(),
});
type ConverseUsage = z.infer<typeof usageSchema>;

/**
 * Converse counts prompt-cache reads and writes apart from `inputTokens`; as LiteLLM does, the
 * prompt tokens are all three, and the cache's share is kept apart so it is priced as such.
 */
function usageOfConverse(usage: ConverseUsage): { usage: Usage; body: object } {
  const cacheReadTokens = usage.cacheReadInputTokens ?? 0;
  const cacheWriteTokens = usage.cacheWriteInputTokens ?? 0;
  const promptTokens = usage.inputTokens + cacheReadTokens + cacheWriteTokens;
  const cached = cacheReadTokens + cacheWriteTokens > 0;
  return {
    usage: withCache({ promptTokens, completionTokens: usage.outputTokens }, cacheReadTokens, cacheWriteTokens),
    body: usageBody(promptTokens, usage.outputTokens, cached ? { read: cacheReadTokens, write: cacheWriteTokens } : undefined),
  };
}

const contentBlockSchema = z.looseObject({
  text: z.string().optional(),
  toolUse: z.looseObject({ toolUseId: z.string(), name: z.string(), input: z.unknown() }).optional(),
  reasoningContent: z.looseObject({ reasoningText: z.looseObject({ text: z.string() }).optional() }).optional(),
});

export const converseResponseSchema = z.looseObject({
  output: z.looseObject({
    message: z.looseObject({ role: z.string(), content: z.array(contentBlockSchema) }),
  }),
  stopReason: z.string(),
  usage: usageSchema,
});

export type ConverseResponse = z.infer<typeof converseResponseSchema>;

export function fromConverseResponse(response: ConverseResponse, model: string): { body: object; usage: Usage } {
  let text = "";
  let reasoning = "";
  const toolCalls: OpenAiToolCall[] = [];
  for (const block of response.output.message.content) {
    if (block.text !== undefined) text += block.text;
    if (block.reasoningContent?.reasoningText) reasoning += block.reasoningContent.reasoningText.text;
    if (block.toolUse) {
      toolCalls.push({
        id: block.toolUse.toolUseId,
        type: "function",
        function: { name: block.toolUse.name, arguments: JSON.stringify(block.toolUse.input ?? {}) },
      });
    }
  }
  const message: Record<string, unknown> = { role: "assistant", content: text === "" && toolCalls.length > 0 ? null : text };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  // LiteLLM's field for reasoning models (DeepSeek R1, Claude thinking) on Bedrock.
  if (reasoning !== "") message.reasoning_content = reasoning;
  const usage = usageOfConverse(response.usage);
  return {
    body: {
      id: `chatcmpl-${randomUUID()}`,
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model,
      system_fingerprint: null,
      choices: [{ index: 0, finish_reason: finishReasonOf(response.stopReason), message }],
      usage: usage.body,
    },
    usage: usage.usage,
  };
}

const streamEventSchemas = {
  messageStart: z.looseObject({ role: z.string() }),
  contentBlockStart: z.looseObject({
    contentBlockIndex: z.number().int(),
    start: z.looseObject({ toolUse: z.looseObject({ toolUseId: z.string(), name: z.string() }).optional() }).optional(),
  }),
  contentBlockDelta: z.looseObject({
    contentBlockIndex: z.number().int(),
    delta: z.looseObject({
      text: z.string().optional(),
      toolUse: z.looseObject({ input: z.string() }).optional(),
      reasoningContent: z.looseObject({ text: z.string().optional() }).optional(),
    }),
  }),
  contentBlockStop: z.looseObject({ contentBlockIndex: z.number().int() }),
  messageStop: z.looseObject({ stopReason: z.string() }),
  metadata: z.looseObject({ usage: usageSchema }),
};

export type StreamEventType = keyof typeof streamEventSchemas;

export function isStreamEventType(type: string): type is StreamEventType {
  return type in streamEventSchemas;
}

/**
 * Turns ConverseStream events into OpenAI chunks, one event at a time. Tool-use blocks get
 * OpenAI tool-call indexes in the order they start; the usage chunk comes last, from the
 * `metadata` event that follows `messageStop`.
 */
export class ConverseStreamTranslator {
  private readonly base: ChunkBase;
  private readonly toolIndexes = new Map<number, number>();
  private finishReason: string | null = null;
  usage: Usage | null = null;

  /** Whether `messageStop` came: a stream that ends before it was cut short. */
  get finished(): boolean {
    return this.finishReason !== null;
  }

  constructor(model: string) {
    this.base = chunkBase(`chatcmpl-${randomUUID()}`, model);
  }

  /** The chunks (as objects) one event becomes; a malformed event throws. */
  translate(type: StreamEventType, payload: unknown): object[] {
    switch (type) {
      case "messageStart":
        streamEventSchemas.messageStart.parse(payload);
        return [this.chunk({ role: "assistant", content: "" })];
      case "contentBlockStart": {
        const event = streamEventSchemas.contentBlockStart.parse(payload);
        const toolUse = event.start?.toolUse;
        if (!toolUse) return [];
        const index = this.toolIndexes.size;
        this.toolIndexes.set(event.contentBlockIndex, index);
        return [
          this.chunk({
            tool_calls: [{ index, id: toolUse.toolUseId, type: "function", function: { name: toolUse.name, arguments: "" } }],
          }),
        ];
      }
      case "contentBlockDelta": {
        const { contentBlockIndex, delta } = streamEventSchemas.contentBlockDelta.parse(payload);
        if (delta.text !== undefined) return [this.chunk({ content: delta.text })];
        if (delta.reasoningContent?.text !== undefined) return [this.chunk({ reasoning_content: delta.reasoningContent.text })];
        const index = this.toolIndexes.get(contentBlockIndex);
        if (delta.toolUse && index !== undefined) {
          return [this.chunk({ tool_calls: [{ index, function: { arguments: delta.toolUse.input } }] })];
        }
        return [];
      }
      case "contentBlockStop":
        streamEventSchemas.contentBlockStop.parse(payload);
        return [];
      case "messageStop": {
        const event = streamEventSchemas.messageStop.parse(payload);
        this.finishReason = finishReasonOf(event.stopReason);
        return [{ ...this.base, choices: [{ index: 0, delta: {}, finish_reason: this.finishReason }] }];
      }
      case "metadata": {
        const usage = usageOfConverse(streamEventSchemas.metadata.parse(payload).usage);
        this.usage = usage.usage;
        return [{ ...this.base, choices: [], usage: usage.body }];
      }
    }
  }

  private chunk(delta: Record<string, unknown>): object {
    return { ...this.base, choices: [{ index: 0, delta, finish_reason: null }] };
  }
}
