import { z } from "zod";
import type { Deployment } from "../../config";
import { badRequest } from "../../errors";
import { validate } from "../../http";

/**
 * An OpenAI chat request as Anthropic's Messages API wants it: system messages lifted into
 * `system`, tool results as `tool_result` blocks in a user turn, tool calls as `tool_use` blocks,
 * images as `image` blocks, consecutive turns of one role merged (Anthropic alternates roles),
 * and `max_tokens` always set because Anthropic requires it.
 */

const textPart = z.looseObject({ type: z.literal("text"), text: z.string() });
const imagePart = z.looseObject({
  type: z.literal("image_url"),
  image_url: z.union([z.string(), z.looseObject({ url: z.string().min(1) })]),
});
const contentPart = z.union([textPart, imagePart], {
  error: "content parts must be {type: 'text', text} or {type: 'image_url', image_url: {url}}",
});
const content = z.union([z.string(), z.array(contentPart)]).nullable().optional();

const toolCall = z.looseObject({
  id: z.string().min(1),
  type: z.literal("function").optional(),
  function: z.looseObject({ name: z.string().min(1), arguments: z.string() }),
});

const message = z.discriminatedUnion(
  "role",
  [
    z.looseObject({ role: z.enum(["system", "developer"]), content: z.union([z.string(), z.array(textPart)]) }),
    z.looseObject({ role: z.literal("user"), content: z.union([z.string(), z.array(contentPart)]) }),
    z.looseObject({ role: z.literal("assistant"), content, tool_calls: z.array(toolCall).nullable().optional() }),
    z.looseObject({
      role: z.literal("tool"),
      tool_call_id: z.string().min(1),
      content: z.union([z.string(), z.array(textPart)]),
    }),
  ],
  { error: "role must be system, developer, user, assistant or tool" },
);

const functionTool = z.looseObject({
  type: z.literal("function", { error: "only function tools are supported by anthropic models" }),
  function: z.looseObject({
    name: z.string().min(1),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
  }),
});

const toolChoice = z.union([
  z.enum(["auto", "none", "required"]),
  z.looseObject({ type: z.literal("function"), function: z.looseObject({ name: z.string().min(1) }) }),
]);

export const openAiChatSchema = z.looseObject({
  messages: z.array(message).min(1),
  max_tokens: z.number().int().positive().nullable().optional(),
  max_completion_tokens: z.number().int().positive().nullable().optional(),
  temperature: z.number().min(0).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  top_k: z.number().int().positive().nullable().optional(),
  stop: z.union([z.string(), z.array(z.string())]).nullable().optional(),
  n: z.number().int().max(1, { error: "anthropic models return one choice; n must be 1" }).nullable().optional(),
  tools: z.array(functionTool).nullable().optional(),
  tool_choice: toolChoice.nullable().optional(),
  parallel_tool_calls: z.boolean().nullable().optional(),
  user: z.string().optional(),
});
type OpenAiChat = z.infer<typeof openAiChatSchema>;
type Block = Record<string, unknown>;
interface Turn {
  role: "user" | "assistant";
  content: Block[];
}

export function imageBlock(url: string): Block {
  const data = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  if (data) return { type: "image", source: { type: "base64", media_type: data[1], data: data[2] } };
  if (/^https?:\/\//i.test(url)) return { type: "image", source: { type: "url", url } };
  throw badRequest("image_url.url must be an http(s) URL or a data:<media type>;base64,… URL", "messages");
}

function textBlocks(value: string | readonly z.infer<typeof textPart>[]): Block[] {
  if (typeof value === "string") return value === "" ? [] : [{ type: "text", text: value }];
  return value.filter((part) => part.text !== "").map(({ type: _type, text, cache_control }) => ({
    type: "text",
    text,
    ...(cache_control === undefined ? {} : { cache_control }),
  }));
}

function userBlocks(value: string | readonly z.infer<typeof contentPart>[]): Block[] {
  if (typeof value === "string") return textBlocks(value);
  return value.flatMap((part) => {
    if (part.type === "text") return textBlocks([part]);
    const url = typeof part.image_url === "string" ? part.image_url : part.image_url.url;
    return [imageBlock(url)];
  });
}

function toolUseBlock(call: z.infer<typeof toolCall>, where: string): Block {
  let input: unknown;
  try {
    input = call.function.arguments.trim() === "" ? {} : JSON.parse(call.function.arguments);
  } catch {
    throw badRequest(`${where}.function.arguments must be a JSON object`, `${where}.function.arguments`);
  }
  return { type: "tool_use", id: call.id, name: call.function.name, input };
}

function turnsOf(messages: OpenAiChat["messages"]): { system: Block[]; turns: Turn[] } {
  const system: Block[] = [];
  const turns: Turn[] = [];
  const push = (role: Turn["role"], blocks: Block[]) => {
    const last = turns.at(-1);
    if (last && last.role === role) last.content.push(...blocks);
    else turns.push({ role, content: blocks });
  };
  messages.forEach((entry, index) => {
    if (entry.role === "system" || entry.role === "developer") {
      system.push(...textBlocks(entry.content));
    } else if (entry.role === "user") {
      push("user", userBlocks(entry.content));
    } else if (entry.role === "tool") {
      const text = typeof entry.content === "string" ? entry.content : entry.content.map((part) => part.text).join("");
      push("user", [{ type: "tool_result", tool_use_id: entry.tool_call_id, content: text }]);
    } else if (entry.role === "assistant") {
      const blocks = entry.content ? userBlocks(entry.content) : [];
      const calls: z.infer<typeof toolCall>[] = entry.tool_calls ?? [];
      calls.forEach((call, callIndex) =>
        blocks.push(toolUseBlock(call, `messages.${index}.tool_calls.${callIndex}`)),
      );
      push("assistant", blocks);
    }
  });
  return { system, turns: turns.filter((turn) => turn.content.length > 0) };
}

function toolChoiceOf(body: OpenAiChat): Block | undefined {
  const choice = body.tool_choice;
  let mapped: Block | undefined;
  if (choice === "auto") mapped = { type: "auto" };
  else if (choice === "required") mapped = { type: "any" };
  else if (choice === "none") mapped = { type: "none" };
  else if (choice) mapped = { type: "tool", name: choice.function.name };
  if (body.parallel_tool_calls === false && mapped?.type !== "none") {
    mapped = { ...(mapped ?? { type: "auto" }), disable_parallel_tool_use: true };
  }
  return mapped;
}

/**
 * Without `max_tokens` the request gets the model's output limit (model_info.max_output_tokens
 * or the built-in table, 4096 for a model neither knows), as LiteLLM does for Anthropic
 * (`get_max_tokens`, falling back to DEFAULT_ANTHROPIC_CHAT_MAX_TOKENS = 4096).
 */
export function toAnthropicRequest(raw: Record<string, unknown>, deployment: Deployment, stream: boolean): Record<string, unknown> {
  const body = validate(openAiChatSchema, raw);
  const { system, turns } = turnsOf(body.messages);
  if (turns.length === 0) throw badRequest("messages: anthropic models need at least one user or assistant message", "messages");
  const request: Record<string, unknown> = {
    model: deployment.upstreamModel,
    messages: turns,
    max_tokens: body.max_completion_tokens ?? body.max_tokens ?? deployment.maxOutputTokens,
  };
  if (system.length > 0) {
    const plain = system.every((block) => block.cache_control === undefined);
    request.system = plain ? system.map((block) => block.text).join("\n") : system;
  }
  if (body.temperature !== undefined && body.temperature !== null) request.temperature = body.temperature;
  if (body.top_p !== undefined && body.top_p !== null) request.top_p = body.top_p;
  if (body.top_k !== undefined && body.top_k !== null) request.top_k = body.top_k;
  if (body.stop !== undefined && body.stop !== null) {
    const sequences = (typeof body.stop === "string" ? [body.stop] : body.stop).filter((sequence) => sequence.trim() !== "");
    if (sequences.length > 0) request.stop_sequences = sequences;
  }
  if (body.tools && body.tools.length > 0) {
    request.tools = body.tools.map(({ function: fn }) => ({
      name: fn.name,
      ...(fn.description === undefined ? {} : { description: fn.description }),
      input_schema: fn.parameters ?? { type: "object", properties: {} },
    }));
  }
  const choice = toolChoiceOf(body);
  if (choice && body.tools && body.tools.length > 0) request.tool_choice = choice;
  if (body.user) request.metadata = { user_id: body.user };
  if (stream) request.stream = true;
  return request;
}
