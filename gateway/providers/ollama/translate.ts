import { randomUUID } from "node:crypto";
import { z } from "zod";
import { badRequest } from "../../errors";
import type { Usage } from "../../spend";
import { dataUrlImage, embeddingList, parseToolArguments, textOf, usageBody, type OpenAiToolCall } from "../native";

/**
 * OpenAI requests → Ollama's native API (`/api/chat`, `/api/generate`, `/api/embed`) and its
 * answers (one JSON object, or NDJSON lines ending with `done: true`) → OpenAI's shape.
 */

const messageSchema = z.looseObject({
  role: z.string(),
  content: z.unknown().optional(),
  tool_calls: z
    .array(z.looseObject({ id: z.string().optional(), function: z.looseObject({ name: z.string(), arguments: z.string().optional() }) }))
    .nullable()
    .optional(),
  tool_call_id: z.string().optional(),
});

const requestSchema = z.looseObject({
  messages: z.array(messageSchema).optional(),
  tools: z.array(z.looseObject({ type: z.literal("function"), function: z.looseObject({ name: z.string() }) })).nullable().optional(),
  max_tokens: z.number().int().positive().nullable().optional(),
  max_completion_tokens: z.number().int().positive().nullable().optional(),
  temperature: z.number().nullable().optional(),
  top_p: z.number().nullable().optional(),
  seed: z.number().int().nullable().optional(),
  frequency_penalty: z.number().nullable().optional(),
  presence_penalty: z.number().nullable().optional(),
  stop: z.union([z.string(), z.array(z.string())]).nullable().optional(),
  response_format: z
    .looseObject({ type: z.string(), json_schema: z.looseObject({ schema: z.unknown().optional() }).optional() })
    .nullable()
    .optional(),
});

type OllamaRequest = z.infer<typeof requestSchema>;

function parseRequest(body: Record<string, unknown>): OllamaRequest {
  const parsed = requestSchema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw badRequest(`${issue?.path.join(".") || "body"}: ${issue?.message ?? "invalid"}`, String(issue?.path[0] ?? "body"));
}

/** OpenAI sampling fields → Ollama's `options`. */
function optionsOf(request: OllamaRequest): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  const maxTokens = request.max_completion_tokens ?? request.max_tokens;
  if (maxTokens) options.num_predict = maxTokens;
  if (typeof request.temperature === "number") options.temperature = request.temperature;
  if (typeof request.top_p === "number") options.top_p = request.top_p;
  if (typeof request.seed === "number") options.seed = request.seed;
  if (typeof request.frequency_penalty === "number") options.frequency_penalty = request.frequency_penalty;
  if (typeof request.presence_penalty === "number") options.presence_penalty = request.presence_penalty;
  if (request.stop) options.stop = typeof request.stop === "string" ? [request.stop] : request.stop;
  return options;
}

function formatOf(request: OllamaRequest): unknown {
  const format = request.response_format;
  if (format?.type === "json_object") return "json";
  if (format?.type === "json_schema" && format.json_schema?.schema) return format.json_schema.schema;
  return undefined;
}

function imagesOf(content: unknown): string[] {
  if (!Array.isArray(content)) return [];
  const images: string[] = [];
  for (const part of content as unknown[]) {
    if (part === null || typeof part !== "object" || !("type" in part) || part.type !== "image_url") continue;
    const imageUrl = "image_url" in part ? part.image_url : undefined;
    const url = typeof imageUrl === "string" ? imageUrl : (imageUrl as { url?: unknown } | undefined)?.url;
    const image = typeof url === "string" ? dataUrlImage(url) : null;
    if (!image) throw badRequest("ollama models take images as base64 data URLs (data:image/png;base64,...)", "messages");
    images.push(image.data);
  }
  return images;
}

function chatMessages(messages: z.infer<typeof messageSchema>[]): Record<string, unknown>[] {
  const toolNames = new Map<string, string>();
  return messages.map((message) => {
    const role = message.role === "developer" ? "system" : message.role === "function" ? "tool" : message.role;
    const converted: Record<string, unknown> = { role, content: textOf(message.content) };
    const images = role === "user" ? imagesOf(message.content) : [];
    if (images.length > 0) converted.images = images;
    if (message.tool_calls && message.tool_calls.length > 0) {
      converted.tool_calls = message.tool_calls.map((call) => {
        if (call.id) toolNames.set(call.id, call.function.name);
        return { function: { name: call.function.name, arguments: parseToolArguments(call.function.arguments, call.function.name) } };
      });
    }
    const toolName = message.tool_call_id ? toolNames.get(message.tool_call_id) : undefined;
    if (role === "tool" && toolName) converted.tool_name = toolName;
    return converted;
  });
}

/** `ollama_chat/<model>` chat → `POST /api/chat`. */
export function toChatRequest(body: Record<string, unknown>, model: string, stream: boolean): Record<string, unknown> {
  const request = parseRequest(body);
  const converted: Record<string, unknown> = { model, messages: chatMessages(request.messages ?? []), stream };
  const options = optionsOf(request);
  if (Object.keys(options).length > 0) converted.options = options;
  const format = formatOf(request);
  if (format !== undefined) converted.format = format;
  if (request.tools && request.tools.length > 0) converted.tools = request.tools;
  return converted;
}

/**
 * Chat messages as one prompt for `/api/generate`, the way LiteLLM's `ollama/` does: runs of one
 * role under `### User:`, `### System:` and `### Assistant:` headings, images collected aside.
 */
export function messagesToPrompt(messages: z.infer<typeof messageSchema>[]): { prompt: string; images: string[] } {
  const headings: Record<string, string> = { user: "User", tool: "User", function: "User", system: "System", developer: "System", assistant: "Assistant" };
  let prompt = "";
  let current = "";
  let section = "";
  const images: string[] = [];
  const flush = () => {
    if (section !== "") prompt += `### ${current}:\n${section}\n\n`;
    section = "";
  };
  for (const message of messages) {
    const heading = headings[message.role] ?? "User";
    if (heading !== current) flush();
    current = heading;
    section += textOf(message.content);
    if (heading === "User") images.push(...imagesOf(message.content));
    for (const call of message.tool_calls ?? []) section += `Tool Calls: ${JSON.stringify({ name: call.function.name, arguments: call.function.arguments ?? "" })}`;
  }
  flush();
  return { prompt, images };
}

/** `ollama/<model>` (any route but embeddings) and text completions → `POST /api/generate`. */
export function toGenerateRequest(body: Record<string, unknown>, model: string, stream: boolean): Record<string, unknown> {
  const request = parseRequest(body);
  if (request.tools && request.tools.length > 0) {
    throw badRequest("tools need Ollama's chat API: name the model ollama_chat/<model> instead of ollama/<model>", "tools");
  }
  let prompt: string;
  let images: string[] = [];
  if (request.messages) {
    ({ prompt, images } = messagesToPrompt(request.messages));
  } else {
    const raw = body.prompt;
    const text = Array.isArray(raw) && raw.length === 1 ? raw[0] : raw;
    if (typeof text !== "string") throw badRequest("ollama models take prompt as one string", "prompt");
    prompt = text;
  }
  const converted: Record<string, unknown> = { model, prompt, stream };
  if (images.length > 0) converted.images = images;
  const options = optionsOf(request);
  if (Object.keys(options).length > 0) converted.options = options;
  const format = formatOf(request);
  if (format !== undefined) converted.format = format;
  return converted;
}

const toolCallSchema = z.looseObject({
  id: z.string().optional(),
  function: z.looseObject({ name: z.string(), arguments: z.unknown() }),
});

export const answerSchema = z.looseObject({
  model: z.string().optional(),
  message: z
    .looseObject({
      role: z.string().optional(),
      content: z.string().optional(),
      thinking: z.string().optional(),
      tool_calls: z.array(toolCallSchema).nullable().optional(),
    })
    .optional(),
  response: z.string().optional(),
  thinking: z.string().optional(),
  done: z.boolean(),
  done_reason: z.string().optional(),
  prompt_eval_count: z.number().int().min(0).optional(),
  eval_count: z.number().int().min(0).optional(),
});

export type OllamaAnswer = z.infer<typeof answerSchema>;

function toolCallsOf(answer: OllamaAnswer): OpenAiToolCall[] {
  return (answer.message?.tool_calls ?? []).map((call) => ({
    id: call.id ?? `call_${randomUUID().replace(/-/g, "").slice(0, 24)}`,
    type: "function",
    function: {
      name: call.function.name,
      arguments: typeof call.function.arguments === "string" ? call.function.arguments : JSON.stringify(call.function.arguments ?? {}),
    },
  }));
}

function finishReasonOf(answer: OllamaAnswer, sawToolCalls: boolean): string {
  if (sawToolCalls) return "tool_calls";
  return answer.done_reason === "length" ? "length" : "stop";
}

function usageOf(answer: OllamaAnswer): Usage {
  return { promptTokens: answer.prompt_eval_count ?? 0, completionTokens: answer.eval_count ?? 0 };
}

/** The whole answer of `/api/chat` or `/api/generate`, as a chat completion or a text completion. */
export function fromAnswer(answer: OllamaAnswer, model: string, shape: "chat" | "text"): { body: object; usage: Usage } {
  const usage = usageOf(answer);
  const text = answer.message?.content ?? answer.response ?? "";
  const created = Math.floor(Date.now() / 1000);
  const usageJson = usageBody(usage.promptTokens, usage.completionTokens);
  if (shape === "text") {
    return {
      body: {
        id: `cmpl-${randomUUID()}`,
        object: "text_completion",
        created,
        model,
        choices: [{ index: 0, text, logprobs: null, finish_reason: finishReasonOf(answer, false) }],
        usage: usageJson,
      },
      usage,
    };
  }
  const toolCalls = toolCallsOf(answer);
  const message: Record<string, unknown> = { role: "assistant", content: text === "" && toolCalls.length > 0 ? null : text };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  const thinking = answer.message?.thinking ?? answer.thinking;
  if (thinking) message.reasoning_content = thinking;
  return {
    body: {
      id: `chatcmpl-${randomUUID()}`,
      object: "chat.completion",
      created,
      model,
      system_fingerprint: null,
      choices: [{ index: 0, finish_reason: finishReasonOf(answer, toolCalls.length > 0), message }],
      usage: usageJson,
    },
    usage,
  };
}

/**
 * NDJSON lines → OpenAI chunks. Ollama sends each tool call whole in one line, so each becomes
 * one tool-call delta with its complete arguments. The `done` line carries the usage.
 */
export class OllamaStreamTranslator {
  private readonly id: string;
  private readonly created = Math.floor(Date.now() / 1000);
  private started = false;
  private toolCalls = 0;

  constructor(
    private readonly model: string,
    private readonly shape: "chat" | "text",
  ) {
    this.id = shape === "chat" ? `chatcmpl-${randomUUID()}` : `cmpl-${randomUUID()}`;
  }

  translate(answer: OllamaAnswer): object[] {
    const chunks: object[] = [];
    if (this.shape === "chat" && !this.started) chunks.push(this.chunk({ role: "assistant", content: "" }));
    this.started = true;
    const text = answer.message?.content ?? answer.response ?? "";
    if (text !== "") chunks.push(this.shape === "chat" ? this.chunk({ content: text }) : this.textChunk(text, null));
    const thinking = answer.message?.thinking ?? answer.thinking;
    if (this.shape === "chat" && thinking) chunks.push(this.chunk({ reasoning_content: thinking }));
    if (this.shape === "chat") {
      for (const call of toolCallsOf(answer)) {
        chunks.push(this.chunk({ tool_calls: [{ index: this.toolCalls, ...call }] }));
        this.toolCalls += 1;
      }
    }
    if (!answer.done) return chunks;
    const finishReason = finishReasonOf(answer, this.toolCalls > 0);
    chunks.push(
      this.shape === "chat"
        ? { ...this.base(), choices: [{ index: 0, delta: {}, finish_reason: finishReason }] }
        : this.textChunk("", finishReason),
    );
    const usage = usageOf(answer);
    chunks.push({ ...this.base(), choices: [], usage: usageBody(usage.promptTokens, usage.completionTokens) });
    return chunks;
  }

  private base() {
    return { id: this.id, object: this.shape === "chat" ? "chat.completion.chunk" : "text_completion", created: this.created, model: this.model };
  }

  private chunk(delta: Record<string, unknown>): object {
    return { ...this.base(), choices: [{ index: 0, delta, finish_reason: null }] };
  }

  private textChunk(text: string, finishReason: string | null): object {
    return { ...this.base(), choices: [{ index: 0, text, logprobs: null, finish_reason: finishReason }] };
  }
}

export const embedAnswerSchema = z.looseObject({
  embeddings: z.array(z.array(z.number())),
  prompt_eval_count: z.number().int().min(0).optional(),
});

export function fromEmbedAnswer(answer: z.infer<typeof embedAnswerSchema>, model: string, encodingFormat: unknown): { body: object; usage: Usage } {
  const promptTokens = answer.prompt_eval_count ?? 0;
  return { body: embeddingList(answer.embeddings, model, promptTokens, encodingFormat), usage: { promptTokens, completionTokens: 0 } };
}
