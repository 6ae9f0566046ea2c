import { z } from "zod";
import { withCache, type Usage } from "../../spend";
import { usageBody } from "../native";

/**
 * Anthropic's Messages API as far as the gateway reads it (docs: "Messages", "Streaming
 * Messages", "Errors"). Loose objects: fields Anthropic adds later pass through untouched.
 */

export const anthropicVersion = "2023-06-01";

const count = z.number().int().min(0);

export const anthropicUsageSchema = z.looseObject({
  input_tokens: count.nullable().optional(),
  output_tokens: count.nullable().optional(),
  cache_creation_input_tokens: count.nullable().optional(),
  cache_read_input_tokens: count.nullable().optional(),
});
export type AnthropicUsage = z.infer<typeof anthropicUsageSchema>;

export const contentBlockSchema = z.looseObject({
  type: z.string(),
  text: z.string().optional(),
  id: z.string().optional(),
  name: z.string().optional(),
  input: z.unknown().optional(),
  thinking: z.string().optional(),
});
export type ContentBlock = z.infer<typeof contentBlockSchema>;

export const messageSchema = z.looseObject({
  id: z.string(),
  type: z.literal("message").optional(),
  role: z.literal("assistant").optional(),
  model: z.string(),
  content: z.array(contentBlockSchema),
  stop_reason: z.string().nullable().optional(),
  stop_sequence: z.string().nullable().optional(),
  usage: anthropicUsageSchema,
});
export type AnthropicMessage = z.infer<typeof messageSchema>;

export const errorBodySchema = z.looseObject({
  type: z.literal("error"),
  error: z.looseObject({ type: z.string(), message: z.string() }),
});

/** The stream's events, one schema per `type`; unknown types are skipped, as Anthropic asks of clients. */
export const streamEventSchema = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("message_start"), message: messageSchema.extend({ content: z.array(contentBlockSchema) }) }),
  z.looseObject({ type: z.literal("content_block_start"), index: count, content_block: contentBlockSchema }),
  z.looseObject({
    type: z.literal("content_block_delta"),
    index: count,
    delta: z.looseObject({
      type: z.string(),
      text: z.string().optional(),
      partial_json: z.string().optional(),
      thinking: z.string().optional(),
    }),
  }),
  z.looseObject({ type: z.literal("content_block_stop"), index: count }),
  z.looseObject({
    type: z.literal("message_delta"),
    delta: z.looseObject({ stop_reason: z.string().nullable().optional(), stop_sequence: z.string().nullable().optional() }),
    usage: anthropicUsageSchema.optional(),
  }),
  z.looseObject({ type: z.literal("message_stop") }),
  z.looseObject({ type: z.literal("ping") }),
  z.looseObject({ type: z.literal("error"), error: z.looseObject({ type: z.string(), message: z.string() }) }),
]);
export type StreamEvent = z.infer<typeof streamEventSchema>;

/**
 * OpenAI's prompt tokens are everything read: Anthropic reports cache reads and cache writes
 * apart from `input_tokens`, and LiteLLM adds them back in.
 */
export function promptTokensOf(usage: AnthropicUsage): number {
  return (usage.input_tokens ?? 0) + (usage.cache_creation_input_tokens ?? 0) + (usage.cache_read_input_tokens ?? 0);
}

/** The usage to bill, with the cache's reads and writes apart so they are priced as such. */
export function usageOf(usage: AnthropicUsage): Usage {
  return withCache(
    { promptTokens: promptTokensOf(usage), completionTokens: usage.output_tokens ?? 0 },
    usage.cache_read_input_tokens,
    usage.cache_creation_input_tokens,
  );
}

/** OpenAI's usage object for an Anthropic usage, with the cache counts LiteLLM adds. */
export function openAiUsage(usage: AnthropicUsage): Record<string, unknown> {
  return usageBody(promptTokensOf(usage), usage.output_tokens ?? 0, {
    read: usage.cache_read_input_tokens ?? 0,
    write: usage.cache_creation_input_tokens ?? 0,
  });
}

const finishReasons: Record<string, string> = {
  end_turn: "stop",
  stop_sequence: "stop",
  pause_turn: "stop",
  max_tokens: "length",
  model_context_window_exceeded: "length",
  tool_use: "tool_calls",
  refusal: "content_filter",
};

export function finishReasonOf(stopReason: string | null | undefined): string {
  return (stopReason && finishReasons[stopReason]) ?? "stop";
}

/** The status Anthropic documents for each error type, for errors that arrive inside a stream. */
export const statusOfErrorType: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};
