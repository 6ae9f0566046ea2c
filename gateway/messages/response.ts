import { randomUUID } from "node:crypto";
import { z } from "zod";
import { UpstreamError } from "../providers/types";
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

const completionSchema = z.looseObject({
  model: z.string().optional(),
  choices: z
    .array(
      z.looseObject({
        finish_reason: z.string().nullable().optional(),
        message: z.looseObject({
          content: z.string().nullable().optional(),
          tool_calls: z
            .array(z.looseObject({ id: z.string(), function: z.looseObject({ name: z.string(), arguments: z.string() }) }))
            .nullable()
            .optional(),
        }),
      }),
    )
    .min(1),
});

export function toAnthropicMessage(raw: Buffer, usage: Usage, model: string): Record<string, unknown> {
  let parsed: z.infer<typeof completionSchema>;
  try {
    parsed = completionSchema.parse(JSON.parse(raw.toString("utf8")));
  } catch {
    throw new UpstreamError("malformed", `upstream of model ${model} answered with a body that is not a chat completion`);
  }
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
