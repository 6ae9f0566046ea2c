import type { Deployment } from "../../config";
import { Pools, doneFrame, parseJson, primed, readAll, sseFrame, upstreamFailure, type ResponseBody } from "../native";
import { UpstreamError, type HealthResult, type Provider, type ProviderCall, type ProviderReply } from "../types";
import {
  OllamaStreamTranslator,
  answerSchema,
  embedAnswerSchema,
  fromAnswer,
  fromEmbedAnswer,
  toChatRequest,
  toGenerateRequest,
} from "./translate";

/**
 * Ollama's native API, as LiteLLM maps it: `ollama_chat/<model>` chats through `/api/chat`
 * (tools, images), `ollama/<model>` through `/api/generate` with the messages as one prompt;
 * text completions use `/api/generate` and embeddings `/api/embed` for both.
 */

export class OllamaProvider implements Provider {
  private readonly pools = new Pools();

  constructor(private readonly api: "chat" | "generate") {}

  private async post(deployment: Deployment, suffix: string, body: unknown, signal: AbortSignal) {
    const upstream = this.pools.at(deployment.apiBase);
    const headers: Record<string, string> = { "content-type": "application/json" };
    // Ollama itself takes no key; one behind an authenticating proxy may.
    if (deployment.apiKey) headers.authorization = `Bearer ${deployment.apiKey}`;
    try {
      return await upstream.pool.request({
        method: "POST",
        path: `${upstream.path}${suffix}`,
        headers,
        body: JSON.stringify(body),
        signal,
        headersTimeout: deployment.timeoutMs,
        bodyTimeout: deployment.timeoutMs,
      });
    } catch (err) {
      throw upstreamFailure(err, deployment);
    }
  }

  async send(call: ProviderCall): Promise<ProviderReply> {
    const { deployment } = call;
    const model = deployment.upstreamModel;
    if (call.route === "embedding") {
      const response = await this.post(deployment, "/api/embed", { model, input: call.body.input }, call.cancel.signal);
      const raw = await readAll(response.body, deployment);
      if (response.statusCode >= 400) throw ollamaError(response.statusCode, raw);
      const parsed = embedAnswerSchema.safeParse(parseJson(raw, deployment));
      if (!parsed.success) throw malformed(deployment);
      const { body, usage } = fromEmbedAnswer(parsed.data, model, call.body.encoding_format);
      return { type: "json", body: Buffer.from(JSON.stringify(body)), usage };
    }

    const useChat = this.api === "chat" && call.route === "chat";
    const request = useChat ? toChatRequest(call.body, model, call.stream) : toGenerateRequest(call.body, model, call.stream);
    const response = await this.post(deployment, useChat ? "/api/chat" : "/api/generate", request, call.cancel.signal);
    const shape = call.route === "chat" ? "chat" : "text";
    if (response.statusCode >= 400) {
      throw ollamaError(response.statusCode, await readAll(response.body, deployment).catch(() => Buffer.alloc(0)));
    }
    if (call.stream) return { type: "stream", events: await primed(translateLines(response.body, deployment, shape)) };
    const parsed = answerSchema.safeParse(parseJson(await readAll(response.body, deployment), deployment));
    if (!parsed.success) throw malformed(deployment);
    const { body, usage } = fromAnswer(parsed.data, model, shape);
    return { type: "json", body: Buffer.from(JSON.stringify(body)), usage };
  }

  async checkHealth(deployment: Deployment): Promise<HealthResult> {
    // `/api/tags` lists the pulled models: the server answers and the model is there to run.
    const upstream = this.pools.at(deployment.apiBase);
    try {
      const response = await upstream.pool.request({
        method: "GET",
        path: `${upstream.path}/api/tags`,
        headersTimeout: 5_000,
        bodyTimeout: 5_000,
      });
      const raw = await readAll(response.body, deployment);
      if (response.statusCode >= 400) return { healthy: false, error: ollamaError(response.statusCode, raw).message };
      const tags = parseJson(raw, deployment) as { models?: { name?: unknown; model?: unknown }[] };
      const names = (tags.models ?? []).flatMap((entry) => [entry.name, entry.model]);
      const wanted = deployment.upstreamModel;
      if (!names.some((name) => name === wanted || name === `${wanted}:latest`)) {
        return { healthy: false, error: `ollama at ${deployment.apiBase} has no model ${wanted} (ollama pull ${wanted})` };
      }
      return { healthy: true };
    } catch (err) {
      return { healthy: false, error: upstreamFailure(err, deployment).message };
    }
  }

  async close(): Promise<void> {
    await this.pools.close();
  }
}

/** Ollama's errors are `{"error": "..."}` with a status. */
function ollamaError(status: number, raw: Buffer): UpstreamError {
  const text = raw.toString("utf8");
  let message = text.slice(0, 500).trim();
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === "object" && "error" in parsed && typeof parsed.error === "string") message = parsed.error;
  } catch {
    // Not JSON: keep the text.
  }
  return new UpstreamError("status", message || `upstream answered ${status}`, status);
}

function malformed(deployment: Deployment): UpstreamError {
  return new UpstreamError("malformed", `ollama answered for ${deployment.modelName} with a body the gateway cannot read`);
}

async function* translateLines(body: ResponseBody, deployment: Deployment, shape: "chat" | "text"): AsyncIterable<Uint8Array> {
  const translator = new OllamaStreamTranslator(deployment.upstreamModel, shape);
  const decoder = new TextDecoder();
  let pending = "";
  let done = false;
  const handle = function* (line: string): Iterable<Uint8Array> {
    if (line.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw malformed(deployment);
    }
    // An error in the middle of a stream comes as its own line.
    if (value !== null && typeof value === "object" && "error" in value && typeof value.error === "string") {
      throw new UpstreamError("status", value.error, 500);
    }
    const parsed = answerSchema.safeParse(value);
    if (!parsed.success) throw malformed(deployment);
    if (parsed.data.done) done = true;
    for (const chunk of translator.translate(parsed.data)) yield sseFrame(chunk);
  };
  try {
    for await (const chunk of body) {
      pending += decoder.decode(chunk as Uint8Array, { stream: true });
      let newline = pending.indexOf("\n");
      while (newline >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        yield* handle(line);
        newline = pending.indexOf("\n");
      }
    }
    yield* handle(pending + decoder.decode());
  } catch (err) {
    throw upstreamFailure(err, deployment);
  }
  if (!done) throw new UpstreamError("unreachable", `ollama closed the stream for ${deployment.modelName} before it was done`);
  yield doneFrame;
}
