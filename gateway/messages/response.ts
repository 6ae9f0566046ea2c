import { randomUUID } from "node:crypto";
import { parseChatCompletion } from "../chat-wire";
import type { Usage } from "../spend";

/** An OpenAI answer as Anthropic's: content as text and tool_use blocks, finish_reason as stop_reason. */

const stopReasons: Record<string, string> = {
  stop: "end_turn",
  length: "max_tokens",
  tool_calls: "tool_use",
  function_call: "tool_use",
  content_filter: "refusal",
};

export function stopReasonOf(finishReason: string | null | undefined): string {
  return (finishReason && stopReasons[finishReason]) ?? "end_turn";
}

export function messageId(): string {
  return `msg_${randomUUID().replace(/-/g, "")}`;
}

/** Tool arguments as Anthropic's `input` object; a model's malformed JSON is passed on as a string field. */
export function toolInput(args: string): unknown {
  if (args.trim() === "") return {};
  try {
    return JSON.parse(args);
  } catch {
    return { arguments: args };
  }
}

export function toAnthropicMessage(raw: Buffer, usage: Usage, model: string): Record<string, unknown> {
  const parsed = parseChatCompletion(raw, model);
  const [choice] = parsed.choices;
  const content: Record<string, unknown>[] = [];
  const text = choice?.message.content;
  if (text) content.push({ type: "text", text });
  for (const call of choice?.message.tool_calls ?? []) {
    content.push({ type: "tool_use", id: call.id, name: call.function.name, input: toolInput(call.function.arguments) });
  }
  return {
    id: messageId(),
    type: "message",
    role: "assistant",
    model: parsed.model ?? model,
    content,
    stop_reason: stopReasonOf(choice?.finish_reason),
    stop_sequence: null,
    usage: { input_tokens: usage.promptTokens, output_tokens: usage.completionTokens },
  };
}
