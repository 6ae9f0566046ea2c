import type { IncomingHttpHeaders } from "node:http";
import { translateChatStream } from "../chat-wire";
import type { GatewayError } from "../errors";
import { parseJsonObject, validate } from "../http";
import type { LlmDialect } from "../llm";
import { AnthropicProvider } from "../providers/anthropic";
import type { Provider, ProviderCall, ProviderReply } from "../providers/types";
import { estimateMessagesTokens } from "../tokens";
import { checkedBody, messagesRequestSchema, toOpenAiChat, type MessagesRequest } from "./request";
import { toAnthropicMessage } from "./response";
import { AnthropicStreamTap, OpenAiToAnthropicStream, sseEvent } from "./stream";

/**
 * Anthropic's `/v1/messages` (LiteLLM serves it for clients such as Claude Code): the same
 * checks as /v1/chat/completions, answered in Anthropic's format. An anthropic deployment gets
 * the body as sent (prompt caching, thinking and server tools included); any other deployment
 * gets it translated to OpenAI's format, and its answer translated back.
 */

const errorTypes: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  402: "billing_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  504: "timeout_error",
  529: "overloaded_error",
};

/** Anthropic's error shape; the status stays the gateway's. */
export function anthropicErrorBody(err: GatewayError): string {
  const type = errorTypes[err.status] ?? (err.status >= 500 ? "api_error" : "invalid_request_error");
  return JSON.stringify({ type: "error", error: { type, message: err.message } });
}

/** The caller's `anthropic-beta` header as Anthropic takes it, for features such as prompt caching. */
export function anthropicBeta(headers: IncomingHttpHeaders): string | undefined {
  const beta = headers["anthropic-beta"];
  return Array.isArray(beta) ? beta.join(",") : beta;
}

/** One per request: it keeps the Anthropic body for the upstream call. */
export class MessagesDialect implements LlmDialect {
  readonly callType = "anthropic_messages";
  private request: MessagesRequest | null = null;

  constructor(private readonly headers: IncomingHttpHeaders) {}

  parse(raw: Buffer): Record<string, unknown> & { model: string } {
    this.request = validate(messagesRequestSchema, parseJsonObject(raw));
    return checkedBody(this.request);
  }

  async send(provider: Provider, call: ProviderCall): Promise<ProviderReply> {
    const request = this.request;
    if (!request) throw new Error("send before parse");
    if (provider instanceof AnthropicProvider) {
      const { mock_response: _mock, ...body } = request;
      return provider.sendNative({ ...call, body, beta: anthropicBeta(this.headers) });
    }
    const chat = toOpenAiChat(request);
    if (call.stream) chat.stream_options = { include_usage: true };
    const reply = await provider.send({ ...call, body: chat });
    if (reply.type === "json") {
      const message = toAnthropicMessage(reply.body, reply.usage, call.deployment.upstreamModel);
      return { type: "json", body: Buffer.from(JSON.stringify(message)), usage: reply.usage };
    }
    const estimated = estimateMessagesTokens(chat.messages as unknown[]);
    return { type: "stream", events: translateChatStream(reply.events, new OpenAiToAnthropicStream(call.deployment.upstreamModel, estimated)) };
  }

  tap(): AnthropicStreamTap {
    return new AnthropicStreamTap();
  }

  errorBody(err: GatewayError): string {
    return anthropicErrorBody(err);
  }

  streamError(err: GatewayError): string {
    const { error } = JSON.parse(anthropicErrorBody(err)) as { error: Record<string, unknown> };
    return sseEvent("error", { error });
  }
}
