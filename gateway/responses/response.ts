import { randomUUID } from "node:crypto";
import { parseChatCompletion } from "../chat-wire";
import type { Usage } from "../spend";
import { customInput, customToolNames, type ResponsesRequest } from "./request";

/**
 * A chat completion as OpenAI's Response object: the text as a `message` item with one
 * `output_text` part, each tool call as a `function_call` item (a `custom_tool_call` item for a
 * custom tool, its input taken out of the function arguments), a completion cut off by its
 * token limit or the content filter as `incomplete` with the reason.
 */

export type Item = Record<string, unknown>;

export function itemId(prefix: "resp" | "msg" | "fc" | "ctc"): string {
  return `${prefix}_${randomUUID().replace(/-/g, "")}`;
}

export function messageItem(id: string, text: string, status: "in_progress" | "completed"): Item {
  return {
    id,
    type: "message",
    status,
    role: "assistant",
    content: status === "completed" ? [outputTextPart(text)] : [],
  };
}

export function outputTextPart(text: string): Item {
  return { type: "output_text", text, annotations: [], logprobs: [] };
}

export function functionCallItem(
  id: string,
  callId: string,
  name: string,
  args: string,
  status: "in_progress" | "completed",
): Item {
  return { id, type: "function_call", status, call_id: callId, name, arguments: args };
}

/** A call of a custom (freeform) tool: its `input` is the text the model wrote, not JSON. */
export function customToolCallItem(
  id: string,
  callId: string,
  name: string,
  input: string,
  status: "in_progress" | "completed",
): Item {
  return { id, type: "custom_tool_call", status, call_id: callId, name, input };
}

const incompleteReasons: Record<string, string> = {
  length: "max_output_tokens",
  content_filter: "content_filter",
};

/** The Response object around `output`, echoing the request's settings as OpenAI's does. */
export function responseObject(
  id: string,
  createdAt: number,
  request: ResponsesRequest,
  model: string,
  state: {
    status: "in_progress" | "completed" | "incomplete";
    finishReason: string | null;
    output: Item[];
    usage: Usage | null;
  },
): Record<string, unknown> {
  const reason = state.finishReason ? incompleteReasons[state.finishReason] : undefined;
  const status = state.status === "completed" && reason ? "incomplete" : state.status;
  return {
    id,
    object: "response",
    created_at: createdAt,
    status,
    error: null,
    incomplete_details: status === "incomplete" && reason ? { reason } : null,
    instructions: request.instructions ?? null,
    max_output_tokens: request.max_output_tokens ?? null,
    model,
    output: state.output,
    parallel_tool_calls: request.parallel_tool_calls ?? true,
    previous_response_id: null,
    reasoning: { effort: request.reasoning?.effort ?? null, summary: null },
    store: false,
    temperature: request.temperature ?? 1,
    text: { format: request.text?.format ?? { type: "text" } },
    tool_choice: request.tool_choice ?? "auto",
    tools: request.tools ?? [],
    top_p: request.top_p ?? 1,
    truncation: "disabled",
    usage: state.usage ? usageObject(state.usage) : null,
    user: request.user ?? null,
    metadata: {},
  };
}

export function usageObject(usage: Usage): Record<string, unknown> {
  return {
    input_tokens: usage.promptTokens,
    input_tokens_details: { cached_tokens: usage.cacheReadTokens ?? 0 },
    output_tokens: usage.completionTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: usage.promptTokens + usage.completionTokens,
  };
}

export function toResponse(
  raw: Buffer,
  usage: Usage,
  request: ResponsesRequest,
  model: string,
): Record<string, unknown> {
  const parsed = parseChatCompletion(raw, model);
  const [choice] = parsed.choices;
  const output: Item[] = [];
  const text = choice?.message.content;
  if (text) output.push(messageItem(itemId("msg"), text, "completed"));
  const custom = customToolNames(request);
  for (const call of choice?.message.tool_calls ?? []) {
    const { name, arguments: args } = call.function;
    output.push(
      custom.has(name)
        ? customToolCallItem(itemId("ctc"), call.id, name, customInput(args), "completed")
        : functionCallItem(itemId("fc"), call.id, name, args, "completed"),
    );
  }
  return responseObject(
    itemId("resp"),
    Math.floor(Date.now() / 1000),
    request,
    parsed.model ?? model,
    {
      status: "completed",
      finishReason: choice?.finish_reason ?? null,
      output,
      usage,
    },
  );
}
