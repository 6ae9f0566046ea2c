import { z } from "zod";
import { badRequest } from "../../errors";
import { dataUrlImage, parseToolArguments, textOf } from "../native";

/**
 * OpenAI chat request → Bedrock Converse request body (the model id goes in the URL). Converse
 * wants strictly alternating user/assistant turns, so consecutive messages of one side (several
 * tool results, a tool result then a user message) are merged into one turn.
 */

type ContentBlock = Record<string, unknown>;
interface ConverseMessage {
  role: "user" | "assistant";
  content: ContentBlock[];
}

const toolCallSchema = z.looseObject({
  id: z.string().min(1),
  function: z.looseObject({ name: z.string().min(1), arguments: z.string().optional() }),
});

const messageSchema = z.looseObject({
  role: z.enum(["system", "developer", "user", "assistant", "tool", "function"]),
  content: z.unknown().optional(),
  tool_calls: z.array(toolCallSchema).nullable().optional(),
  tool_call_id: z.string().optional(),
  name: z.string().optional(),
});

const toolSchema = z.looseObject({
  type: z.literal("function"),
  function: z.looseObject({
    name: z.string().min(1),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
  }),
});

const requestSchema = z.looseObject({
  messages: z.array(messageSchema).min(1),
  tools: z.array(toolSchema).nullable().optional(),
  tool_choice: z
    .union([
      z.enum(["auto", "none", "required"]),
      z.looseObject({ type: z.literal("function"), function: z.looseObject({ name: z.string().min(1) }) }),
    ])
    .nullable()
    .optional(),
  max_tokens: z.number().int().positive().nullable().optional(),
  max_completion_tokens: z.number().int().positive().nullable().optional(),
  temperature: z.number().min(0).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  stop: z.union([z.string(), z.array(z.string())]).nullable().optional(),
});

const imageFormats: Record<string, string> = {
  "image/png": "png",
  "image/jpeg": "jpeg",
  "image/jpg": "jpeg",
  "image/gif": "gif",
  "image/webp": "webp",
};

function imageBlock(part: Record<string, unknown>): ContentBlock {
  const imageUrl = part.image_url;
  const url =
    typeof imageUrl === "string"
      ? imageUrl
      : imageUrl !== null && typeof imageUrl === "object" && "url" in imageUrl && typeof imageUrl.url === "string"
        ? imageUrl.url
        : "";
  const image = dataUrlImage(url);
  const format = image ? imageFormats[image.mediaType] : undefined;
  if (!image || !format) {
    throw badRequest(
      "bedrock models take images as base64 data URLs (data:image/png;base64,...) of png, jpeg, gif or webp",
      "messages",
    );
  }
  // Converse's `bytes` is a blob, which its JSON wire carries as base64.
  return { image: { format, source: { bytes: image.data } } };
}

function userBlocks(content: unknown): ContentBlock[] {
  if (typeof content === "string") return content === "" ? [] : [{ text: content }];
  if (!Array.isArray(content)) return [];
  const blocks: ContentBlock[] = [];
  for (const part of content as unknown[]) {
    if (part === null || typeof part !== "object") continue;
    const record = part as Record<string, unknown>;
    if (record.type === "text" && typeof record.text === "string" && record.text !== "") blocks.push({ text: record.text });
    else if (record.type === "image_url") blocks.push(imageBlock(record));
  }
  return blocks;
}

function convertMessages(messages: z.infer<typeof messageSchema>[]): { system: ContentBlock[]; turns: ConverseMessage[] } {
  const system: ContentBlock[] = [];
  const turns: ConverseMessage[] = [];
  const push = (role: ConverseMessage["role"], blocks: ContentBlock[]) => {
    if (blocks.length === 0) return;
    const last = turns.at(-1);
    if (last?.role === role) last.content.push(...blocks);
    else turns.push({ role, content: blocks });
  };
  for (const message of messages) {
    switch (message.role) {
      case "system":
      case "developer": {
        const text = textOf(message.content);
        if (text !== "") system.push({ text });
        break;
      }
      case "user":
        push("user", userBlocks(message.content));
        break;
      case "assistant": {
        const blocks: ContentBlock[] = [];
        const text = textOf(message.content);
        if (text !== "") blocks.push({ text });
        for (const call of message.tool_calls ?? []) {
          blocks.push({
            toolUse: { toolUseId: call.id, name: call.function.name, input: parseToolArguments(call.function.arguments, call.function.name) },
          });
        }
        push("assistant", blocks);
        break;
      }
      case "tool":
      case "function": {
        const toolUseId = message.tool_call_id ?? message.name;
        if (!toolUseId) throw badRequest("a tool message needs tool_call_id", "messages");
        push("user", [{ toolResult: { toolUseId, content: [{ text: textOf(message.content) || " " }] } }]);
        break;
      }
    }
  }
  if (turns.length === 0) throw badRequest("messages need at least one user or assistant message with content", "messages");
  return { system, turns };
}

function toolChoiceOf(choice: z.infer<typeof requestSchema>["tool_choice"]): Record<string, unknown> | undefined {
  if (choice === undefined || choice === null || choice === "none") return undefined;
  if (choice === "auto") return { auto: {} };
  if (choice === "required") return { any: {} };
  return { tool: { name: choice.function.name } };
}

export function toConverseRequest(body: Record<string, unknown>): Record<string, unknown> {
  const parsed = requestSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.join(".") || "body";
    throw badRequest(`${path}: ${issue?.message ?? "invalid"}`, String(issue?.path[0] ?? "body"));
  }
  const request = parsed.data;
  const { system, turns } = convertMessages(request.messages);
  const converse: Record<string, unknown> = { messages: turns };
  if (system.length > 0) converse.system = system;

  const inference: Record<string, unknown> = {};
  const maxTokens = request.max_completion_tokens ?? request.max_tokens;
  if (maxTokens) inference.maxTokens = maxTokens;
  if (typeof request.temperature === "number") inference.temperature = request.temperature;
  if (typeof request.top_p === "number") inference.topP = request.top_p;
  if (request.stop) inference.stopSequences = typeof request.stop === "string" ? [request.stop] : request.stop;
  if (Object.keys(inference).length > 0) converse.inferenceConfig = inference;

  const tools = request.tools ?? [];
  if (tools.length > 0) {
    const toolConfig: Record<string, unknown> = {
      tools: tools.map((tool) => ({
        toolSpec: {
          name: tool.function.name,
          ...(tool.function.description ? { description: tool.function.description } : {}),
          inputSchema: { json: tool.function.parameters ?? { type: "object", properties: {} } },
        },
      })),
    };
    const toolChoice = toolChoiceOf(request.tool_choice);
    if (toolChoice) toolConfig.toolChoice = toolChoice;
    converse.toolConfig = toolConfig;
  }
  return converse;
}
