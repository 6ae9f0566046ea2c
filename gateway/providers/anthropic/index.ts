import type { Dispatcher, Pool } from "undici";
import { z } from "zod";
import type { Deployment } from "../../config";
import { Cancellation } from "../../caller";
import { badRequest } from "../../errors";
import { Pools, parseJson, readAll, upstreamFailure, type ResponseBody } from "../native";
import { decodeEvents } from "../sse-decode";
import { UpstreamError, type HealthResult, type Provider, type ProviderCall, type ProviderReply } from "../types";
import { toAnthropicRequest } from "./request";
import { toOpenAiCompletion } from "./response";
import { AnthropicToOpenAiStream } from "./stream";
import { anthropicVersion, errorBodySchema, messageSchema, usageOf } from "./wire";

/**
 * Anthropic's Messages API (`anthropic/<model>`, bare `claude-*`): OpenAI chat requests are
 * translated to `POST {api_base}/v1/messages` and the answer back, streams event by event. The
 * `/v1/messages` route sends Anthropic-format bodies through `sendNative` unchanged.
 */

const encoder = new TextEncoder();

export interface NativeCall extends ProviderCall {
  /** The caller's `anthropic-beta` header, passed on for features such as prompt caching. */
  beta?: string;
}

export class AnthropicProvider implements Provider {
  private readonly pools = new Pools();

  /** LiteLLM's api_base is the host (`https://api.anthropic.com`); a base ending in /v1 works too. */
  private target(deployment: Deployment, resource: "messages" | "messages/count_tokens" | "models"): { pool: Pool; path: string } {
    const upstream = this.pools.at(deployment.apiBase);
    let path = upstream.path;
    if (path.endsWith("/v1/messages")) path = path.slice(0, -"/messages".length);
    else if (!path.endsWith("/v1")) path = `${path}/v1`;
    return { pool: upstream.pool, path: `${path}/${resource}` };
  }

  private headers(deployment: Deployment, beta?: string): Record<string, string> {
    const headers: Record<string, string> = {
      "content-type": "application/json",
      accept: "application/json",
      "anthropic-version": anthropicVersion,
    };
    if (deployment.apiKey) headers["x-api-key"] = deployment.apiKey;
    if (beta) headers["anthropic-beta"] = beta;
    return headers;
  }

  private async post(
    call: ProviderCall,
    body: Record<string, unknown>,
    beta?: string,
    resource: "messages" | "messages/count_tokens" = "messages",
  ): Promise<Dispatcher.ResponseData> {
    const { deployment } = call;
    const { pool, path } = this.target(deployment, resource);
    let response: Dispatcher.ResponseData;
    try {
      response = await pool.request({
        method: "POST",
        path,
        headers: this.headers(deployment, beta),
        body: JSON.stringify(body),
        signal: call.cancel.signal,
        headersTimeout: deployment.timeoutMs,
        bodyTimeout: deployment.timeoutMs,
      });
    } catch (err) {
      throw upstreamFailure(err, deployment);
    }
    if (response.statusCode >= 400) {
      const text = await readAll(response.body, deployment).catch(() => Buffer.alloc(0));
      throw new UpstreamError("status", upstreamMessage(text, response.statusCode), response.statusCode);
    }
    return response;
  }

  async send(call: ProviderCall): Promise<ProviderReply> {
    if (call.route !== "chat") {
      throw badRequest(`model ${call.deployment.modelName} is an anthropic model: it answers chat completions only`, "model");
    }
    const request = toAnthropicRequest(call.body, call.deployment, call.stream);
    const response = await this.post(call, request);
    if (call.stream) return { type: "stream", events: translateStream(response.body, call.deployment) };
    const message = parseMessage(await readAll(response.body, call.deployment), call.deployment);
    return { type: "json", body: Buffer.from(JSON.stringify(toOpenAiCompletion(message))), usage: usageOf(message.usage) };
  }

  /** An Anthropic-format request, passed through: the answer's bytes are Anthropic's own. */
  async sendNative(call: NativeCall): Promise<ProviderReply> {
    const body = { ...call.body, model: call.deployment.upstreamModel };
    const response = await this.post(call, body, call.beta);
    if (call.stream) return { type: "stream", events: guardStream(response.body, call.deployment) };
    const raw = await readAll(response.body, call.deployment);
    return { type: "json", body: raw, usage: usageOf(parseMessage(raw, call.deployment).usage) };
  }

  /** Anthropic's own count of an Anthropic-format request's input tokens (`/v1/messages/count_tokens`). */
  async countTokens(call: NativeCall): Promise<number> {
    const body = { ...call.body, model: call.deployment.upstreamModel };
    const response = await this.post(call, body, call.beta, "messages/count_tokens");
    const counted = countSchema.safeParse(parseJson(await readAll(response.body, call.deployment), call.deployment));
    if (!counted.success) {
      throw new UpstreamError("malformed", `upstream of model ${call.deployment.modelName} answered count_tokens without input_tokens`);
    }
    return counted.data.input_tokens;
  }

  /** A real one-token call to the deployment's model, as LiteLLM's health check makes. */
  async checkHealth(deployment: Deployment): Promise<HealthResult> {
    const probe = { model: deployment.upstreamModel, max_tokens: 1, messages: [{ role: "user", content: "ping" }] };
    try {
      const cancel = Cancellation.after(deployment.timeoutMs + 1_000);
      const response = await this.post({ deployment, route: "chat", body: probe, stream: false, cancel }, probe);
      await response.body.dump();
      return { healthy: true };
    } catch (err) {
      return { healthy: false, error: upstreamFailure(err, deployment).message };
    }
  }

  async close(): Promise<void> {
    await this.pools.close();
  }
}

const countSchema = z.looseObject({ input_tokens: z.number().int().min(0) });

function parseMessage(raw: Buffer, deployment: Deployment) {
  const message = messageSchema.safeParse(parseJson(raw, deployment));
  if (!message.success) {
    throw new UpstreamError("malformed", `upstream of model ${deployment.modelName} answered with a body that is not an Anthropic message`);
  }
  return message.data;
}

async function* translateStream(body: ResponseBody, deployment: Deployment): AsyncIterable<Uint8Array> {
  const translator = new AnthropicToOpenAiStream(deployment.upstreamModel);
  const frame = (chunks: Record<string, unknown>[]) => chunks.map((chunk) => `data: ${JSON.stringify(chunk)}\n\n`).join("");
  try {
    for await (const events of decodeEvents(body)) {
      let out = "";
      try {
        for (const event of events) out += frame(translator.translate(event));
      } finally {
        // What came before an error event still reaches the caller, ahead of the error.
        if (out !== "") yield encoder.encode(out);
      }
    }
  } catch (err) {
    throw upstreamFailure(err, deployment);
  }
  if (!translator.done) {
    // Cut off before message_stop: bill what was read, then report the failure in-band.
    yield encoder.encode(frame([translator.usageChunk()]));
    throw new UpstreamError("unreachable", `upstream of model ${deployment.modelName} ended the stream before message_stop`);
  }
  yield encoder.encode("data: [DONE]\n\n");
}

async function* guardStream(body: ResponseBody, deployment: Deployment): AsyncIterable<Uint8Array> {
  try {
    for await (const chunk of body) yield chunk as Uint8Array;
  } catch (err) {
    throw upstreamFailure(err, deployment);
  }
}

/** Anthropic's `{"type":"error","error":{"type","message"}}`, or the raw text of anything else. */
function upstreamMessage(text: Buffer, status: number): string {
  try {
    const parsed = errorBodySchema.safeParse(JSON.parse(text.toString("utf8")));
    if (parsed.success) return `${parsed.data.error.type}: ${parsed.data.error.message}`;
  } catch {
    // Not JSON: fall through to the raw text.
  }
  return text.toString("utf8").slice(0, 500).trim() || `upstream answered ${status}`;
}
