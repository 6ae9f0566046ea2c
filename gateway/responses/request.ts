import { z } from "zod";
import { badRequest } from "../errors";
import { validate } from "../http";

/**
 * OpenAI's Responses request (`POST /v1/responses`, as the openai clients' `responses.create`,
 * Codex and the Agents SDK send it) as the pipeline checks it, and as an OpenAI chat request,
 * which every deployment serves: `instructions` and system/developer messages as system
 * messages, `function_call` items as an assistant's `tool_calls`, `function_call_output` items as
 * `tool` messages, images as `image_url` parts, function tools as chat tools, `text.format` as
 * `response_format`. Reasoning items carry nothing a chat model takes and are left out. The
 * gateway keeps no responses, so what needs a stored one (`previous_response_id`,
 * `item_reference`) is a 400 saying so, as are OpenAI's hosted tools.
 */

const item = z.looseObject({ type: z.string().optional() });

export const responsesRequestSchema = z.looseObject({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(item)]),
  instructions: z.string().nullable().optional(),
  max_output_tokens: z.number().int().positive().nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  tools: z.array(z.looseObject({ type: z.string().min(1) })).optional(),
  tool_choice: z
    .union([
      z.enum(["none", "auto", "required"]),
      z.looseObject({ type: z.string().min(1), name: z.string().optional() }),
    ])
    .optional(),
  parallel_tool_calls: z.boolean().nullable().optional(),
  stream: z.boolean().nullable().optional(),
  text: z
    .looseObject({
      format: z
        .looseObject({
          type: z.enum(["text", "json_schema", "json_object"]),
          name: z.string().optional(),
          schema: z.record(z.string(), z.unknown()).optional(),
          strict: z.boolean().nullable().optional(),
          description: z.string().optional(),
        })
        .optional(),
    })
    .optional(),
  reasoning: z.looseObject({ effort: z.string().nullable().optional() }).nullable().optional(),
  user: z.string().optional(),
  previous_response_id: z.string().nullable().optional(),
  mock_response: z.string().optional(),
});
export type ResponsesRequest = z.infer<typeof responsesRequestSchema>;

type Part = Record<string, unknown>;

const inputText = z.looseObject({ type: z.literal("input_text"), text: z.string() });
const outputText = z.looseObject({ type: z.enum(["output_text", "input_text"]), text: z.string() });
const refusal = z.looseObject({ type: z.literal("refusal"), refusal: z.string() });
const inputImage = z.looseObject({
  type: z.literal("input_image"),
  image_url: z.string().min(1).nullable().optional(),
  detail: z.enum(["low", "high", "auto"]).optional(),
});
const messageItem = z.looseObject({
  type: z.literal("message").optional(),
  role: z.enum(["user", "assistant", "system", "developer"]),
  content: z.union([z.string(), z.array(z.looseObject({ type: z.string() }))]),
});
const functionCallItem = z.looseObject({
  type: z.literal("function_call"),
  call_id: z.string().min(1),
  name: z.string().min(1),
  arguments: z.string(),
});
const functionCallOutputItem = z.looseObject({
  type: z.literal("function_call_output"),
  call_id: z.string().min(1),
  output: z.union([z.string(), z.array(z.looseObject({ type: z.string() }))]),
});
const customToolCallItem = z.looseObject({
  type: z.literal("custom_tool_call"),
  call_id: z.string().min(1),
  name: z.string().min(1),
  input: z.string(),
});
const customToolCallOutputItem = z.looseObject({
  type: z.literal("custom_tool_call_output"),
  call_id: z.string().min(1),
  output: z.union([z.string(), z.array(z.looseObject({ type: z.string() }))]),
});
const customTool = z.looseObject({
  type: z.literal("custom"),
  name: z.string().min(1),
  description: z.string().nullable().optional(),
  format: z
    .looseObject({
      type: z.string(),
      syntax: z.string().optional(),
      definition: z.string().optional(),
    })
    .optional(),
});
const functionTool = z.looseObject({
  type: z.literal("function"),
  name: z.string().min(1),
  description: z.string().nullable().optional(),
  parameters: z.record(z.string(), z.unknown()).nullable().optional(),
  strict: z.boolean().nullable().optional(),
});

function notServed(what: string, where: string): never {
  throw badRequest(`${where}: ${what} is not served by this gateway's /v1/responses`, where);
}

/** A user's (or system's) content: a string, or text and image parts. */
function inputContent(
  content: z.infer<typeof messageItem>["content"],
  where: string,
): string | Part[] {
  if (typeof content === "string") return content;
  return content.map((part, index) => {
    const at = `${where}.${index}`;
    if (part.type === "input_text")
      return { type: "text", text: validate(inputText, part, at).text };
    if (part.type === "input_image") {
      const image = validate(inputImage, part, at);
      if (!image.image_url) notServed("an input_image by file_id", at);
      return {
        type: "image_url",
        image_url: { url: image.image_url, ...(image.detail ? { detail: image.detail } : {}) },
      };
    }
    return notServed(`content of type ${part.type}`, at);
  });
}

/** Text only: what a system message or an assistant's earlier answer can hold. */
function textContent(content: z.infer<typeof messageItem>["content"], where: string): string {
  if (typeof content === "string") return content;
  return content
    .map((part, index) => {
      const at = `${where}.${index}`;
      if (part.type === "refusal") return validate(refusal, part, at).refusal;
      if (part.type === "output_text" || part.type === "input_text")
        return validate(outputText, part, at).text;
      return notServed(`content of type ${part.type}`, at);
    })
    .join("");
}

function toolOutput(
  output: z.infer<typeof functionCallOutputItem>["output"],
  where: string,
): string {
  if (typeof output === "string") return output;
  return output
    .map((part, index) =>
      part.type === "input_text"
        ? validate(inputText, part, `${where}.${index}`).text
        : notServed(`output of type ${part.type}`, `${where}.${index}`),
    )
    .join("");
}

function toolCallOf(call: { call_id: string; name: string; arguments: string }): Part {
  return {
    id: call.call_id,
    type: "function",
    function: { name: call.name, arguments: call.arguments },
  };
}

/** A custom (freeform) tool's call as the function call the model made: its input under `input`. */
function customToolCallOf(call: { call_id: string; name: string; input: string }): Part {
  return toolCallOf({ ...call, arguments: JSON.stringify({ input: call.input }) });
}

/** The conversation as chat messages, function calls joined onto the assistant turn they belong to. */
function chatMessages(request: ResponsesRequest): Part[] {
  const messages: Part[] = [];
  if (request.instructions) messages.push({ role: "system", content: request.instructions });
  if (typeof request.input === "string") {
    messages.push({ role: "user", content: request.input });
    return messages;
  }
  request.input.forEach((entry, index) => {
    const where = `input.${index}`;
    const type = entry.type ?? "message";
    if (type === "message") {
      const message = validate(messageItem, entry, where);
      const at = `${where}.content`;
      if (message.role === "user")
        messages.push({ role: "user", content: inputContent(message.content, at) });
      else if (message.role === "assistant")
        messages.push({ role: "assistant", content: textContent(message.content, at) });
      else messages.push({ role: "system", content: textContent(message.content, at) });
    } else if (type === "function_call" || type === "custom_tool_call") {
      const toolCall =
        type === "function_call"
          ? toolCallOf(validate(functionCallItem, entry, where))
          : customToolCallOf(validate(customToolCallItem, entry, where));
      const last = messages.at(-1);
      if (last?.role === "assistant")
        last.tool_calls = [...((last.tool_calls as Part[] | undefined) ?? []), toolCall];
      else messages.push({ role: "assistant", content: null, tool_calls: [toolCall] });
    } else if (type === "function_call_output" || type === "custom_tool_call_output") {
      const schema =
        type === "function_call_output" ? functionCallOutputItem : customToolCallOutputItem;
      const output = validate(schema, entry, where);
      messages.push({
        role: "tool",
        tool_call_id: output.call_id,
        content: toolOutput(output.output, `${where}.output`),
      });
    } else if (type === "item_reference") {
      notServed("an item_reference (it needs a stored response; send the item itself)", where);
    } else if (type !== "reasoning") {
      notServed(`an input item of type ${type}`, where);
    }
  });
  // An assistant turn that only called tools has no text.
  for (const message of messages) {
    if (message.role === "assistant" && message.tool_calls && message.content === "")
      message.content = null;
  }
  return messages;
}

function toolChoiceOf(choice: NonNullable<ResponsesRequest["tool_choice"]>): unknown {
  if (typeof choice === "string") return choice;
  if (choice.type !== "function" && choice.type !== "custom")
    notServed(`tool_choice of type ${choice.type}`, "tool_choice");
  if (!choice.name)
    throw badRequest(
      `tool_choice.name: required when tool_choice.type is ${choice.type}`,
      "tool_choice.name",
    );
  return { type: "function", function: { name: choice.name } };
}

/**
 * A custom (freeform) tool, such as Codex's apply_patch, as a function taking its text as
 * `input`: chat models have no freeform tools. A grammar it declares goes into the description,
 * since only OpenAI's own models decode by it.
 */
function customFunction(tool: z.infer<typeof customTool>): Part {
  const { format } = tool;
  const grammar =
    format?.type === "grammar" && format.definition
      ? `The input follows this ${format.syntax ?? ""} grammar:\n${format.definition}`
      : "";
  const description = [tool.description ?? "", grammar].filter((part) => part !== "").join("\n\n");
  return {
    type: "function",
    function: {
      name: tool.name,
      ...(description ? { description } : {}),
      parameters: {
        type: "object",
        properties: { input: { type: "string" } },
        required: ["input"],
        additionalProperties: false,
      },
    },
  };
}

/** The names of the request's custom tools, whose calls are answered as custom_tool_call items. */
export function customToolNames(request: ResponsesRequest): ReadonlySet<string> {
  const custom = (request.tools ?? []).filter((tool) => tool.type === "custom");
  return new Set(custom.map((tool) => String(tool.name)));
}

/** A custom tool's input from the arguments the model wrote, or the arguments as they are. */
export function customInput(args: string): string {
  try {
    const parsed: unknown = JSON.parse(args);
    if (
      parsed !== null &&
      typeof parsed === "object" &&
      "input" in parsed &&
      typeof parsed.input === "string"
    ) {
      return parsed.input;
    }
  } catch {
    // Not JSON: the model wrote the input itself.
  }
  return args;
}

/** The request as a chat completion request for the deployment. */
export function toOpenAiChat(
  request: ResponsesRequest,
): Record<string, unknown> & { model: string } {
  if (request.previous_response_id) {
    throw badRequest(
      "previous_response_id: this gateway keeps no responses; send the whole conversation in input (store: false, as Codex does)",
      "previous_response_id",
    );
  }
  const body: Record<string, unknown> & { model: string } = {
    model: request.model,
    messages: chatMessages(request),
  };
  if (request.stream) body.stream = true;
  if (request.max_output_tokens) body.max_tokens = request.max_output_tokens;
  if (request.temperature !== undefined && request.temperature !== null)
    body.temperature = request.temperature;
  if (request.top_p !== undefined && request.top_p !== null) body.top_p = request.top_p;
  if (request.user) body.user = request.user;
  if (request.reasoning?.effort) body.reasoning_effort = request.reasoning.effort;
  if (request.mock_response !== undefined) body.mock_response = request.mock_response;
  const format = request.text?.format;
  if (format?.type === "json_object") body.response_format = { type: "json_object" };
  if (format?.type === "json_schema") {
    if (!format.name || !format.schema)
      throw badRequest(
        "text.format: a json_schema format needs a name and a schema",
        "text.format",
      );
    const { name, schema, strict, description } = format;
    body.response_format = {
      type: "json_schema",
      json_schema: {
        name,
        schema,
        ...(strict == null ? {} : { strict }),
        ...(description ? { description } : {}),
      },
    };
  }
  if (request.tools && request.tools.length > 0) {
    body.tools = request.tools.map((tool, index) => {
      if (tool.type === "custom")
        return customFunction(validate(customTool, tool, `tools.${index}`));
      if (tool.type !== "function")
        notServed(`a tool of type ${tool.type} (function and custom tools are)`, `tools.${index}`);
      const { name, description, parameters, strict } = validate(
        functionTool,
        tool,
        `tools.${index}`,
      );
      return {
        type: "function",
        function: {
          name,
          ...(description ? { description } : {}),
          parameters: parameters ?? { type: "object", properties: {} },
          ...(strict == null ? {} : { strict }),
        },
      };
    });
    if (request.tool_choice !== undefined) body.tool_choice = toolChoiceOf(request.tool_choice);
    if (request.parallel_tool_calls === false) body.parallel_tool_calls = false;
  }
  return body;
}
