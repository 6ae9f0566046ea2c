import { EventTap, parseChatChunk } from "../chat-wire";
import { z } from "zod";
import type { Usage } from "../spend";
import { customInput, customToolNames, type ResponsesRequest } from "./request";
import {
  customToolCallItem,
  functionCallItem,
  itemId,
  messageItem,
  outputTextPart,
  responseObject,
  type Item,
} from "./response";

/**
 * OpenAI chat chunks, one at a time, as the Responses API's event stream: response.created and
 * response.in_progress; per run of text a message item (output_item.added, content_part.added,
 * output_text.delta…, output_text.done, content_part.done, output_item.done); per tool call a
 * function_call item (output_item.added, function_call_arguments.delta…, .done,
 * output_item.done), or for a custom tool a custom_tool_call item whose input comes in one
 * custom_tool_call_input.delta when the call is complete (it is inside the arguments' JSON); then response.completed (or response.incomplete) with the whole response
 * and its usage, from the upstream's usage chunk or, without one, estimated.
 */

type Open =
  | { kind: "message"; id: string; text: string }
  | {
      kind: "call";
      id: string;
      callId: string;
      name: string;
      args: string;
      openAiIndex: number;
      /** A custom (freeform) tool's call: its input is sent whole when the call ends. */
      custom: boolean;
    };

export class OpenAiToResponsesStream {
  private readonly id = itemId("resp");
  private readonly createdAt = Math.floor(Date.now() / 1000);
  private sequence = 0;
  private started = false;
  private finished = false;
  private readonly output: Item[] = [];
  private open: Open | null = null;
  private finishReason: string | null = null;
  private usage: Usage | null = null;
  private streamedChars = 0;
  private readonly customTools: ReadonlySet<string>;

  constructor(
    private readonly request: ResponsesRequest,
    private model: string,
    private readonly estimatedInputTokens: number,
  ) {
    this.customTools = customToolNames(request);
  }

  /** One event of the Responses stream, numbered in order. */
  event(type: string, data: Record<string, unknown>): string {
    const sequence = this.sequence;
    this.sequence += 1;
    return `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence, ...data })}\n\n`;
  }

  /** The events for one `data:` payload of the chat stream. */
  push(data: string): string {
    if (data === "[DONE]") return this.finish();
    const chunk = parseChatChunk(data);
    if (!chunk) return "";
    let out = this.start(chunk.model);
    if (chunk.usage) {
      const cached = chunk.usage.prompt_tokens_details?.cached_tokens;
      this.usage = {
        promptTokens: chunk.usage.prompt_tokens,
        completionTokens: chunk.usage.completion_tokens ?? 0,
        ...(cached ? { cacheReadTokens: cached } : {}),
      };
    }
    for (const choice of chunk.choices ?? []) {
      const delta = choice.delta;
      if (delta?.content) {
        let open = this.open;
        if (open?.kind !== "message") {
          out += this.close();
          open = { kind: "message", id: itemId("msg"), text: "" };
          out += this.add(open, messageItem(open.id, "", "in_progress"));
          out += this.event("response.content_part.added", {
            ...this.at(open),
            content_index: 0,
            part: outputTextPart(""),
          });
        }
        open.text += delta.content;
        this.streamedChars += delta.content.length;
        out += this.event("response.output_text.delta", {
          ...this.at(open),
          content_index: 0,
          delta: delta.content,
          logprobs: [],
        });
      }
      for (const call of delta?.tool_calls ?? []) {
        const openAiIndex = call.index ?? 0;
        let open = this.open;
        if (call.id || open?.kind !== "call" || open.openAiIndex !== openAiIndex) {
          out += this.close();
          const callId = call.id ?? `call_${this.id}_${openAiIndex}`;
          const name = call.function?.name ?? "";
          const custom = this.customTools.has(name);
          open = {
            kind: "call",
            id: itemId(custom ? "ctc" : "fc"),
            callId,
            name,
            args: "",
            openAiIndex,
            custom,
          };
          const item = custom
            ? customToolCallItem(open.id, callId, name, "", "in_progress")
            : functionCallItem(open.id, callId, name, "", "in_progress");
          out += this.add(open, item);
        }
        const args = call.function?.arguments;
        if (args) {
          open.args += args;
          this.streamedChars += args.length;
          if (!open.custom) {
            out += this.event("response.function_call_arguments.delta", {
              ...this.at(open),
              delta: args,
            });
          }
        }
      }
      if (choice.finish_reason) this.finishReason = choice.finish_reason;
    }
    return out;
  }

  /** Ends the response; a chat stream that ended without `[DONE]` is ended the same way. */
  finish(): string {
    if (this.finished) return "";
    this.finished = true;
    let out = this.start(undefined) + this.close();
    // Without a usage chunk the counts are estimated, so the stream is never billed as free.
    const usage = this.usage ?? {
      promptTokens: this.estimatedInputTokens,
      completionTokens: Math.ceil(this.streamedChars / 4),
    };
    const response = responseObject(this.id, this.createdAt, this.request, this.model, {
      status: "completed",
      finishReason: this.finishReason,
      output: this.output,
      usage,
    });
    out += this.event(
      response.status === "incomplete" ? "response.incomplete" : "response.completed",
      { response },
    );
    return out;
  }

  /** An error after the stream began, as the Responses stream's `error` event. */
  error(code: string, message: string, param: string | null): string {
    return this.event("error", { code, message, param });
  }

  private start(model: string | undefined): string {
    if (this.started) return "";
    this.started = true;
    if (model) this.model = model;
    const response = responseObject(this.id, this.createdAt, this.request, this.model, {
      status: "in_progress",
      finishReason: null,
      output: [],
      usage: null,
    });
    return (
      this.event("response.created", { response }) +
      this.event("response.in_progress", { response })
    );
  }

  private at(open: Open): { item_id: string; output_index: number } {
    return { item_id: open.id, output_index: this.output.length - 1 };
  }

  private add(open: Open, item: Item): string {
    this.open = open;
    this.output.push(item);
    return this.event("response.output_item.added", { output_index: this.output.length - 1, item });
  }

  /** Ends the item in progress: its .done events, and the item as it ends in the output. */
  private close(): string {
    const open = this.open;
    if (!open) return "";
    this.open = null;
    const at = this.at(open);
    let out: string;
    let item: Item;
    if (open.kind === "message") {
      out =
        this.event("response.output_text.done", {
          ...at,
          content_index: 0,
          text: open.text,
          logprobs: [],
        }) +
        this.event("response.content_part.done", {
          ...at,
          content_index: 0,
          part: outputTextPart(open.text),
        });
      item = messageItem(open.id, open.text, "completed");
    } else if (open.custom) {
      // The input is the text inside the arguments' JSON, known once they are complete.
      const input = customInput(open.args);
      out =
        this.event("response.custom_tool_call_input.delta", { ...at, delta: input }) +
        this.event("response.custom_tool_call_input.done", { ...at, input });
      item = customToolCallItem(open.id, open.callId, open.name, input, "completed");
    } else {
      out = this.event("response.function_call_arguments.done", { ...at, arguments: open.args });
      item = functionCallItem(open.id, open.callId, open.name, open.args, "completed");
    }
    this.output[at.output_index] = item;
    return out + this.event("response.output_item.done", { output_index: at.output_index, item });
  }
}

const usageSchema = z.looseObject({
  input_tokens: z.number(),
  output_tokens: z.number(),
  input_tokens_details: z
    .looseObject({ cached_tokens: z.number().nullable().optional() })
    .nullable()
    .optional(),
});
const eventSchema = z.looseObject({
  type: z.string(),
  delta: z.string().optional(),
  response: z.looseObject({ usage: usageSchema.nullable().optional() }).optional(),
});

/**
 * Watches a Responses event stream on its way to the caller, passing it on unchanged: the usage
 * from response.completed (or .incomplete), and the streamed text and arguments for a stream cut
 * off before it.
 */
export class ResponsesStreamTap extends EventTap {
  usage: Usage | null = null;
  streamedChars = 0;

  protected inspect(parsed: unknown): void {
    const event = eventSchema.safeParse(parsed);
    if (!event.success) return;
    const { type, delta, response } = event.data;
    if (
      (type === "response.output_text.delta" ||
        type === "response.function_call_arguments.delta" ||
        type === "response.custom_tool_call_input.delta") &&
      delta
    )
      this.streamedChars += delta.length;
    if ((type === "response.completed" || type === "response.incomplete") && response?.usage) {
      const { input_tokens, output_tokens, input_tokens_details } = response.usage;
      const cached = input_tokens_details?.cached_tokens;
      this.usage = {
        promptTokens: input_tokens,
        completionTokens: output_tokens,
        ...(cached ? { cacheReadTokens: cached } : {}),
      };
    }
  }
}
