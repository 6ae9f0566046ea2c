import { z } from "zod";
import { badRequest } from "../errors";
import { validate } from "../http";

/**
 * Anthropic's Messages request as the pipeline checks it and, for a deployment that does not
 * speak Anthropic's format, as an OpenAI chat request: `system` as a system message,
 * `tool_result` blocks as `tool` messages, `tool_use` blocks as `tool_calls`, images as
 * `image_url` parts. Thinking blocks have no OpenAI counterpart and are left out.
 */

const block = z.looseObject({ type: z.string().min(1) });

export const messagesRequestSchema = z.looseObject({
  model: z.string().min(1),
  max_tokens: z.number().int().positive(),
  messages: z
    .array(z.looseObject({ role: z.enum(["user", "assistant"]), content: z.union([z.string(), z.array(block)]) }))
    .min(1),
  system: z.union([z.string(), z.array(block)]).optional(),
  stream: z.boolean().optional(),
  temperature: z.number().min(0).optional(),
  top_p: z.number().min(0).max(1).optional(),
  top_k: z.number().int().positive().optional(),
  stop_sequences: z.array(z.string()).optional(),
  metadata: z.looseObject({ user_id: z.string().nullable().optional() }).optional(),
  tools: z.array(z.looseObject({ name: z.string().min(1) })).optional(),
  tool_choice: z
    .looseObject({
      type: z.enum(["auto", "any", "tool", "none"]),
      name: z.string().optional(),
      disable_parallel_tool_use: z.boolean().optional(),
    })
    .optional(),
  mock_response: z.string().optional(),
});
export type MessagesRequest = z.infer<typeof messagesRequestSchema>;

/** The fields the pipeline reads: model, budget (max_tokens), end user, stream, prompt size. */
export function checkedBody(request: MessagesRequest): Record<string, unknown> & { model: string } {
  const body: Record<string, unknown> & { model: string } = {
    model: request.model,
    max_tokens: request.max_tokens,
    stream: request.stream === true,
    messages: request.messages,
  };
  if (request.metadata?.user_id) body.user = request.metadata.user_id;
  if (request.mock_response !== undefined) body.mock_response = request.mock_response;
  return body;
}

const textBlock = z.looseObject({ type: z.literal("text"), text: z.string() });
const imageBlock = z.looseObject({
  type: z.literal("image"),
  source: z.discriminatedUnion("type", [
    z.looseObject({ type: z.literal("base64"), media_type: z.string().min(1), data: z.string() }),
    z.looseObject({ type: z.literal("url"), url: z.string().min(1) }),
  ]),
});
const toolUseBlock = z.looseObject({ type: z.literal("tool_use"), id: z.string().min(1), name: z.string().min(1), input: z.unknown() });
const toolResultBlock = z.looseObject({
  type: z.literal("tool_result"),
  tool_use_id: z.string().min(1),
  content: z.union([z.string(), z.array(block)]).optional(),
  is_error: z.boolean().optional(),
});
const customTool = z.looseObject({
  name: z.string().min(1),
  description: z.string().optional(),
  input_schema: z.record(z.string(), z.unknown()),
});

type Part = Record<string, unknown>;

function unsupported(type: string, where: string): never {
  throw badRequest(
    `${where}: content blocks of type ${type} need a model served by Anthropic; this model is reached through OpenAI's format`,
    where,
  );
}

function textOf(content: string | readonly { type: string }[] | undefined, where: string): string {
  if (content === undefined) return "";
  if (typeof content === "string") return content;
  return content
    .map((item, index) => {
      if (item.type !== "text") unsupported(item.type, `${where}.${index}`);
      return validate(textBlock, item).text;
    })
    .join("");
}

function userMessages(content: MessagesRequest["messages"][number]["content"], where: string): Part[] {
  if (typeof content === "string") return [{ role: "user", content }];
  const toolMessages: Part[] = [];
  const parts: Part[] = [];
  content.forEach((item, index) => {
    const at = `${where}.${index}`;
    if (item.type === "text") parts.push({ type: "text", text: validate(textBlock, item).text });
    else if (item.type === "image") {
      const { source } = validate(imageBlock, item);
      const url = source.type === "base64" ? `data:${source.media_type};base64,${source.data}` : source.url;
      parts.push({ type: "image_url", image_url: { url } });
    } else if (item.type === "tool_result") {
      const result = validate(toolResultBlock, item);
      const text = textOf(result.content, `${at}.content`);
      toolMessages.push({ role: "tool", tool_call_id: result.tool_use_id, content: result.is_error ? `Error: ${text}` : text });
    } else unsupported(item.type, at);
  });
  // OpenAI wants the tool results right after the assistant's tool calls, before any new text.
  return parts.length > 0 ? [...toolMessages, { role: "user", content: parts }] : toolMessages;
}

function assistantMessage(content: MessagesRequest["messages"][number]["content"], where: string): Part {
  if (typeof content === "string") return { role: "assistant", content };
  let text = "";
  const toolCalls: Part[] = [];
  content.forEach((item, index) => {
    if (item.type === "text") text += validate(textBlock, item).text;
    else if (item.type === "tool_use") {
      const call = validate(toolUseBlock, item);
      toolCalls.push({ id: call.id, type: "function", function: { name: call.name, arguments: JSON.stringify(call.input ?? {}) } });
    } else if (item.type !== "thinking" && item.type !== "redacted_thinking") unsupported(item.type, `${where}.${index}`);
  });
  const message: Part = { role: "assistant", content: text === "" && toolCalls.length > 0 ? null : text };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  return message;
}

function toolChoiceOf(choice: NonNullable<MessagesRequest["tool_choice"]>): unknown {
  if (choice.type === "any") return "required";
  if (choice.type === "tool") {
    if (!choice.name) throw badRequest("tool_choice.name: required when tool_choice.type is tool", "tool_choice.name");
    return { type: "function", function: { name: choice.name } };
  }
  return choice.type;
}

export function toOpenAiChat(request: MessagesRequest): Record<string, unknown> {
  const messages: Part[] = [];
  if (request.system !== undefined) {
    const system = textOf(request.system, "system");
    if (system !== "") messages.push({ role: "system", content: system });
  }
  request.messages.forEach((message, index) => {
    const where = `messages.${index}.content`;
    if (message.role === "user") messages.push(...userMessages(message.content, where));
    else messages.push(assistantMessage(message.content, where));
  });
  const body: Record<string, unknown> = { model: request.model, messages, max_tokens: request.max_tokens };
  if (request.stream) body.stream = true;
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.top_p !== undefined) body.top_p = request.top_p;
  if (request.stop_sequences !== undefined && request.stop_sequences.length > 0) body.stop = request.stop_sequences;
  if (request.metadata?.user_id) body.user = request.metadata.user_id;
  if (request.mock_response !== undefined) body.mock_response = request.mock_response;
  if (request.tools && request.tools.length > 0) {
    body.tools = request.tools.map((tool, index) => {
      const parsed = customTool.safeParse(tool);
      if (!parsed.success) {
        throw badRequest(`tools.${index}: only custom tools (name, input_schema) work with this model; ${tool.name} is an Anthropic server tool`, `tools.${index}`);
      }
      const { name, description, input_schema } = parsed.data;
      return { type: "function", function: { name, ...(description === undefined ? {} : { description }), parameters: input_schema } };
    });
    if (request.tool_choice) {
      body.tool_choice = toolChoiceOf(request.tool_choice);
      if (request.tool_choice.disable_parallel_tool_use) body.parallel_tool_calls = false;
    }
  }
  return body;
}
