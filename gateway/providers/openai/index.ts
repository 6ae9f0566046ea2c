import { errors as undiciErrors, type Dispatcher, type Pool } from "undici";
import type { Deployment } from "../../config";
import { estimateInputTokens, estimateMessagesTokens } from "../../tokens";
import { Pools, floatsToBase64, readAll, upstreamFailure } from "../native";
import { Cancellation } from "../../caller";
import {
  UpstreamError,
  type Cancel,
  usageFrom,
  type HealthResult,
  type LlmRoute,
  type Provider,
  type ProviderCall,
  type ProviderReply,
} from "../types";

/**
 * Any OpenAI-compatible server: OpenAI, Ollama's /v1, vLLM, another LiteLLM (seed 004's
 * `openai/<name>`). The body goes upstream as the caller sent it with the upstream's model name;
 * the answer comes back byte for byte, streams piped, through one keep-alive pool per origin.
 */

const paths: Record<LlmRoute, string> = {
  chat: "/chat/completions",
  completion: "/completions",
  embedding: "/embeddings",
};

const healthCheckPrompt = "test from litellm";

// LiteLLM's own request fields; an OpenAI server would refuse or misread them.
const gatewayOnlyFields = new Set(["mock_response", "metadata", "fallbacks", "num_retries", "caching", "mock_latency_ms"]);

export class OpenAiProvider implements Provider {
  private readonly pools = new Pools();
  // Each deployment's request headers, made once (undici only reads them).
  private readonly headerSets = new WeakMap<Deployment, Readonly<Record<string, string>>>();

  private headers(deployment: Deployment): Readonly<Record<string, string>> {
    let headers = this.headerSets.get(deployment);
    if (!headers) {
      headers = {
        "content-type": "application/json",
        accept: "application/json",
        ...(deployment.apiKey ? { authorization: `Bearer ${deployment.apiKey}` } : {}),
      };
      this.headerSets.set(deployment, headers);
    }
    return headers;
  }

  async send(call: ProviderCall): Promise<ProviderReply> {
    const { deployment } = call;
    // One copy without the gateway's own fields (deleting them afterwards made a slow
    // dictionary-mode object for JSON.stringify on every request).
    const body: Record<string, unknown> = {};
    for (const field in call.body) if (!gatewayOnlyFields.has(field)) body[field] = call.body[field];
    body.model = deployment.upstreamModel;
    const upstream = this.pools.at(deployment.apiBase);
    const pool = upstream.pool;
    const path = `${upstream.path}${paths[call.route]}`;
    const options: Dispatcher.DispatchOptions = {
      method: "POST",
      path,
      headers: this.headers(deployment),
      body: JSON.stringify(body),
      headersTimeout: deployment.timeoutMs,
      bodyTimeout: deployment.timeoutMs,
    };
    if (call.stream) return this.sendStream(pool, options, call);

    let reply: Awaited<ReturnType<typeof exchange>>;
    try {
      reply = await exchange(pool, options, call.cancel);
    } catch (err) {
      throw upstreamFailure(err, deployment);
    }
    if (reply.status >= 400) {
      throw new UpstreamError("status", upstreamMessage(reply.body, reply.status), reply.status, retryAfterOf(reply.retryAfter));
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(reply.body.toString("utf8"));
    } catch {
      throw new UpstreamError("malformed", `upstream of model ${deployment.modelName} answered with a body that is not JSON`);
    }
    const reported = parsed !== null && typeof parsed === "object" && "usage" in parsed ? usageFrom(parsed.usage) : null;
    const usage = reported ?? estimateUsage(call, parsed);
    const encoded = call.route === "embedding" && call.body.encoding_format === "base64" ? floatsToBase64(parsed) : null;
    return { type: "json", body: encoded ? Buffer.from(JSON.stringify(encoded)) : reply.body, usage };
  }

  private async sendStream(pool: Pool, options: Dispatcher.DispatchOptions, call: ProviderCall): Promise<ProviderReply> {
    const { deployment } = call;
    let response: Dispatcher.ResponseData;
    try {
      response = await pool.request({ ...options, signal: call.cancel.signal });
    } catch (err) {
      throw upstreamFailure(err, deployment);
    }
    if (response.statusCode >= 400) {
      const text = await readAll(response.body, deployment).catch(() => Buffer.alloc(0));
      throw new UpstreamError(
        "status",
        upstreamMessage(text, response.statusCode),
        response.statusCode,
        retryAfterOf(response.headers["retry-after"]),
      );
    }
    return { type: "stream", events: guardStream(response.body, deployment) };
  }

  /**
   * A real call, as LiteLLM's /health makes: a one-token chat with its prompt (or an embedding
   * or completion, by the model's mode). Listing /models would pass with a model that is gone.
   */
  async checkHealth(deployment: Deployment): Promise<HealthResult> {
    const route: LlmRoute = deployment.mode;
    const body: Record<string, unknown> =
      route === "embedding"
        ? { input: healthCheckPrompt }
        : route === "completion"
          ? { prompt: healthCheckPrompt, max_tokens: 1 }
          : { messages: [{ role: "user", content: healthCheckPrompt }], max_tokens: 1 };
    try {
      await this.send({ deployment, route, body, stream: false, cancel: Cancellation.after(deployment.timeoutMs) });
      return { healthy: true };
    } catch (err) {
      return { healthy: false, error: upstreamFailure(err, deployment).message };
    }
  }

  async close(): Promise<void> {
    await this.pools.close();
  }
}

/**
 * One whole request and answer through undici's dispatch interface: the body is collected in
 * the handler, with none of the stream and promise machinery of `pool.request`, which made up
 * a large part of the gateway's own CPU time per request on the hot path.
 */
function exchange(
  pool: Pool,
  options: Dispatcher.DispatchOptions,
  cancel: Cancel,
): Promise<{ status: number; body: Buffer; retryAfter: string | string[] | undefined }> {
  return new Promise((resolve, reject) => {
    if (cancel.aborted) {
      reject(new undiciErrors.RequestAbortedError());
      return;
    }
    let status = 0;
    let retryAfter: string | string[] | undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    let controller: Dispatcher.DispatchController | null = null;
    const done = cancel.onAbort(() => controller?.abort(new undiciErrors.RequestAbortedError()));
    pool.dispatch(options, {
      onRequestStart(started) {
        controller = started;
        if (cancel.aborted) started.abort(new undiciErrors.RequestAbortedError());
      },
      onResponseStart(_controller, statusCode, headers) {
        status = statusCode;
        // The router waits this long before retrying the same deployment.
        if (statusCode >= 400) retryAfter = headers["retry-after"];
      },
      onResponseData(_controller, chunk) {
        chunks.push(chunk);
        size += chunk.length;
      },
      onResponseEnd() {
        done();
        resolve({ status, retryAfter, body: chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks, size) });
      },
      onResponseError(_controller, error) {
        done();
        reject(error);
      },
    });
  });
}


async function* guardStream(body: Dispatcher.ResponseData["body"], deployment: Deployment): AsyncIterable<Uint8Array> {
  try {
    for await (const chunk of body) yield chunk as Uint8Array;
  } catch (err) {
    throw upstreamFailure(err, deployment);
  }
}

/** An upstream's `retry-after` in seconds, when it is a number. */
function retryAfterOf(header: string | string[] | undefined): number | null {
  const seconds = Number(Array.isArray(header) ? header[0] : header);
  return header !== undefined && Number.isFinite(seconds) && seconds >= 0 ? seconds : null;
}

function upstreamMessage(text: Buffer, status: number): string {
  try {
    const parsed: unknown = JSON.parse(text.toString("utf8"));
    if (parsed !== null && typeof parsed === "object" && "error" in parsed) {
      const error = parsed.error;
      if (typeof error === "string") return error;
      if (error !== null && typeof error === "object" && "message" in error && typeof error.message === "string") {
        return error.message;
      }
    }
  } catch {
    // Not JSON: fall through to the raw text.
  }
  const snippet = text.toString("utf8").slice(0, 500).trim();
  return snippet || `upstream answered ${status}`;
}

/** Usage for an upstream that reports none (some OpenAI-compatible servers omit it). */
function estimateUsage(call: ProviderCall, parsed: unknown): { promptTokens: number; completionTokens: number } {
  const promptTokens =
    call.route === "chat"
      ? estimateMessagesTokens(Array.isArray(call.body.messages) ? call.body.messages : [])
      : estimateInputTokens(call.route === "embedding" ? call.body.input : call.body.prompt);
  let completionChars = 0;
  const choices = parsed !== null && typeof parsed === "object" && "choices" in parsed ? parsed.choices : [];
  if (Array.isArray(choices)) {
    for (const choice of choices as { message?: { content?: unknown }; text?: unknown }[]) {
      const content = choice.message?.content ?? choice.text;
      if (typeof content === "string") completionChars += content.length;
    }
  }
  return { promptTokens, completionTokens: Math.ceil(completionChars / 4) };
}
