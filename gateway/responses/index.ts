import { translateChatStream } from "../chat-wire";
import { errorBody, type GatewayError } from "../errors";
import { parseJsonObject, validate } from "../http";
import type { LlmDialect } from "../llm";
import type { Provider, ProviderCall, ProviderReply } from "../providers/types";
import { estimateMessagesTokens } from "../tokens";
import { responsesRequestSchema, toOpenAiChat, type ResponsesRequest } from "./request";
import { toResponse } from "./response";
import { OpenAiToResponsesStream, ResponsesStreamTap } from "./stream";

/**
 * OpenAI's Responses API (`/v1/responses`): the same checks as /v1/chat/completions, on the
 * request translated to a chat request (which every deployment serves), answered as a Response
 * object or the Responses event stream. Billed and logged as LiteLLM's `aresponses` calls.
 */

/** One per request: it keeps the Responses body and the stream's translator. */
export class ResponsesDialect implements LlmDialect {
  readonly callType = "aresponses";
  private request: ResponsesRequest | null = null;
  private chat: (Record<string, unknown> & { model: string }) | null = null;
  private translator: OpenAiToResponsesStream | null = null;

  parse(raw: Buffer): Record<string, unknown> & { model: string } {
    this.request = validate(responsesRequestSchema, parseJsonObject(raw));
    this.chat = toOpenAiChat(this.request);
    // The pipeline checks the chat request: its model, max_tokens, stream, messages and user.
    return this.chat;
  }

  async send(provider: Provider, call: ProviderCall): Promise<ProviderReply> {
    const { request, chat } = this;
    if (!request || !chat) throw new Error("send before parse");
    // The call's body is the chat request parse() gave the pipeline (a stream asks for usage).
    const reply = await provider.send(call);
    const model = call.deployment.upstreamModel;
    if (reply.type === "json") {
      return {
        type: "json",
        body: Buffer.from(JSON.stringify(toResponse(reply.body, reply.usage, request, model))),
        usage: reply.usage,
      };
    }
    const translator = new OpenAiToResponsesStream(
      request,
      model,
      estimateMessagesTokens(chat.messages as unknown[]),
    );
    this.translator = translator;
    return { type: "stream", events: translateChatStream(reply.events, translator) };
  }

  tap(): ResponsesStreamTap {
    return new ResponsesStreamTap();
  }

  errorBody(err: GatewayError): string {
    return errorBody(err);
  }

  streamError(err: GatewayError): string {
    const code = String(err.status);
    if (this.translator) return this.translator.error(code, err.message, err.param ?? null);
    return `event: error\ndata: ${JSON.stringify({ type: "error", sequence_number: 0, code, message: err.message, param: err.param ?? null })}\n\n`;
  }
}
