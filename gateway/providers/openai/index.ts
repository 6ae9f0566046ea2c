import { Pool, errors as undiciErrors, type Dispatcher } from "undici";
import type { Deployment } from "../../config";
import { estimateInputTokens, estimateMessagesTokens } from "../../tokens";
import {
  UpstreamError,
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

// LiteLLM's own request fields; an OpenAI server would refuse or misread them.
const gatewayOnlyFields = ["mock_response", "metadata", "fallbacks", "num_retries", "caching", "mock_latency_ms"];

export class OpenAiProvider implements Provider {
  private readonly pools = new Map<string, Pool>();

  private pool(origin: string): Pool {
    let pool = this.pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, {
        connections: 256,
        pipelining: 1,
        keepAliveTimeout: 30_000,
        keepAliveMaxTimeout: 600_000,
      });
      this.pools.set(origin, pool);
    }
    return pool;
  }

  private target(deployment: Deployment, suffix: string): { pool: Pool; path: string } {
    const base = new URL(deployment.apiBase);
    return { pool: this.pool(base.origin), path: `${base.pathname.replace(/\/+$/, "")}${suffix}` };
  }

  private headers(deployment: Deployment): Record<string, string> {
    const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json" };
    if (deployment.apiKey) headers.authorization = `Bearer ${deployment.apiKey}`;
    return headers;
  }

  async send(call: ProviderCall): Promise<ProviderReply> {
    const { deployment } = call;
    const body: Record<string, unknown> = { ...call.body, model: deployment.upstreamModel };
    for (const field of gatewayOnlyFields) delete body[field];
    const { pool, path } = this.target(deployment, paths[call.route]);
    let response: Dispatcher.ResponseData;
    try {
      response = await pool.request({
        method: "POST",
        path,
        headers: this.headers(deployment),
        body: JSON.stringify(body),
        signal: call.signal,
        headersTimeout: deployment.timeoutMs,
        bodyTimeout: deployment.timeoutMs,
      });
    } catch (err) {
      throw upstreamFailure(err, deployment);
    }

    if (response.statusCode >= 400) {
      const text = await readBody(response.body, deployment).catch(() => Buffer.alloc(0));
      throw new UpstreamError("status", upstreamMessage(text, response.statusCode), response.statusCode);
    }
    if (call.stream) return { type: "stream", events: guardStream(response.body, deployment) };

    const raw = await readBody(response.body, deployment);
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString("utf8"));
    } catch {
      throw new UpstreamError("malformed", `upstream of model ${deployment.modelName} answered with a body that is not JSON`);
    }
    const reported = parsed !== null && typeof parsed === "object" && "usage" in parsed ? usageFrom(parsed.usage) : null;
    return { type: "json", body: raw, usage: reported ?? estimateUsage(call, parsed) };
  }

  async checkHealth(deployment: Deployment): Promise<HealthResult> {
    const { pool, path } = this.target(deployment, "/models");
    try {
      const response = await pool.request({
        method: "GET",
        path,
        headers: this.headers(deployment),
        headersTimeout: 5_000,
        bodyTimeout: 5_000,
      });
      await response.body.dump();
      if (response.statusCode >= 400) return { healthy: false, error: `upstream answered ${response.statusCode}` };
      return { healthy: true };
    } catch (err) {
      return { healthy: false, error: upstreamFailure(err, deployment).message };
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((pool) => pool.close()));
    this.pools.clear();
  }
}

async function readBody(body: Dispatcher.ResponseData["body"], deployment: Deployment): Promise<Buffer> {
  try {
    // undici's own consumer: one promise for the whole body instead of one per chunk.
    return Buffer.from(await body.arrayBuffer());
  } catch (err) {
    throw upstreamFailure(err, deployment);
  }
}

async function* guardStream(body: Dispatcher.ResponseData["body"], deployment: Deployment): AsyncIterable<Uint8Array> {
  try {
    for await (const chunk of body) yield chunk as Uint8Array;
  } catch (err) {
    throw upstreamFailure(err, deployment);
  }
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

function upstreamFailure(err: unknown, deployment: Deployment): UpstreamError {
  if (err instanceof UpstreamError) return err;
  if (
    err instanceof undiciErrors.HeadersTimeoutError ||
    err instanceof undiciErrors.BodyTimeoutError ||
    err instanceof undiciErrors.ConnectTimeoutError
  ) {
    return new UpstreamError("timeout", `upstream of model ${deployment.modelName} did not answer within ${deployment.timeoutMs} ms`);
  }
  const reason = err instanceof Error ? err.message : String(err);
  return new UpstreamError("unreachable", `upstream of model ${deployment.modelName} failed: ${reason}`);
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
