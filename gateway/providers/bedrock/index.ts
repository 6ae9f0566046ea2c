import type { Dispatcher } from "undici";
import type { Deployment } from "../../config";
import { badRequest } from "../../errors";
import { estimateInputTokens } from "../../tokens";
import { Pools, doneFrame, embeddingList, parseJson, primed, readAll, sseFrame, upstreamFailure, type ResponseBody } from "../native";
import { UpstreamError, type HealthResult, type Provider, type ProviderCall, type ProviderReply } from "../types";
import { embeddingFamily, planEmbeddings, readEmbeddingAnswer, type EmbeddingCall, type EmbeddingFamily } from "./embeddings";
import { toConverseRequest } from "./request";
import { ConverseStreamTranslator, converseResponseSchema, fromConverseResponse, isStreamEventType } from "./response";
import { loadAwsLibraries, signerFor, type AwsLibraries } from "./signing";

/**
 * AWS Bedrock through the Converse and ConverseStream APIs: OpenAI chat requests translated to
 * Converse, SigV4-signed, sent over a keep-alive pool; answers and event-stream frames
 * translated back to OpenAI's shape with Bedrock's usage. Embeddings go through InvokeModel
 * (Titan Text Embeddings and Cohere Embed v3, `embeddings.ts`).
 */

type Operation = "converse" | "converse-stream" | "invoke";

// Titan embeds one text per call: a list of texts is this many calls at a time.
const embeddingCallsAtOnce = 4;

// Converse's error statuses; a model timeout is a timeout to the caller (504), not a bad request.
const streamExceptionStatus: Record<string, number> = {
  throttlingException: 429,
  validationException: 400,
  accessDeniedException: 403,
  resourceNotFoundException: 404,
  modelTimeoutException: 408,
  modelStreamErrorException: 424,
  internalServerException: 500,
  serviceUnavailableException: 503,
};

function errorOf(status: number, type: string, message: string, deployment: Deployment): UpstreamError {
  if (/^ModelTimeoutException$/i.test(type)) {
    return new UpstreamError("timeout", `bedrock model ${deployment.upstreamModel} timed out: ${message}`);
  }
  return new UpstreamError("status", `${type ? `${type}: ` : ""}${message}`, status);
}

/** Bedrock's error body is `{"message": "..."}` with the error's name in `x-amzn-errortype`. */
function upstreamError(status: number, headers: Dispatcher.ResponseData["headers"], raw: Buffer, deployment: Deployment): UpstreamError {
  const header = headers["x-amzn-errortype"];
  const type = (Array.isArray(header) ? header[0] : header)?.split(":")[0] ?? "";
  let message = raw.toString("utf8").slice(0, 500).trim();
  try {
    const parsed: unknown = JSON.parse(raw.toString("utf8"));
    if (parsed !== null && typeof parsed === "object") {
      const record = parsed as Record<string, unknown>;
      const text = record.message ?? record.Message;
      if (typeof text === "string") message = text;
    }
  } catch {
    // Not JSON: keep the text.
  }
  // A signature error's later paragraphs quote the canonical request, which can carry the
  // session token: only the first paragraph reaches the caller.
  const firstParagraph = message.split(/\n\s*\n/)[0]?.trim() ?? "";
  return errorOf(status, type, firstParagraph || `upstream answered ${status}`, deployment);
}

export class BedrockProvider implements Provider {
  private readonly pools = new Pools();

  async send(call: ProviderCall): Promise<ProviderReply> {
    const { deployment } = call;
    if (call.route === "embedding") {
      const family = embeddingFamily(deployment.upstreamModel);
      if (!family) {
        throw badRequest(
          `bedrock model ${deployment.upstreamModel} makes no embeddings; Titan Text Embeddings (amazon.titan-embed-text-v1, -v2:0) and Cohere Embed v3 do`,
          "model",
        );
      }
      return this.embed(call, family);
    }
    if (call.route !== "chat") {
      throw badRequest(`bedrock models answer /chat/completions and /embeddings; ${deployment.modelName} cannot serve /completions`, "model");
    }
    const converse = toConverseRequest(call.body);
    const libraries = await loadAwsLibraries();
    const response = await this.request(libraries, deployment, converse, call.stream ? "converse-stream" : "converse", call.cancel.signal);

    if (response.statusCode >= 400) {
      const raw = await readAll(response.body, deployment).catch(() => Buffer.alloc(0));
      throw upstreamError(response.statusCode, response.headers, raw, deployment);
    }
    if (call.stream) {
      return { type: "stream", events: await primed(this.translateStream(libraries, response.body, deployment)) };
    }
    const parsed = converseResponseSchema.safeParse(parseJson(await readAll(response.body, deployment), deployment));
    if (!parsed.success) {
      throw new UpstreamError("malformed", `bedrock answered for ${deployment.modelName} with a body that is not a Converse response`);
    }
    const { body, usage } = fromConverseResponse(parsed.data, deployment.upstreamModel);
    return { type: "json", body: Buffer.from(JSON.stringify(body)), usage };
  }

  /**
   * An embedding request as InvokeModel calls (one per text for Titan, up to 96 texts each for
   * Cohere), a few at a time; the vectors come back in the request's order, billed on Bedrock's
   * token counts.
   */
  private async embed(call: ProviderCall, family: EmbeddingFamily): Promise<ProviderReply> {
    const { deployment } = call;
    const calls = planEmbeddings(deployment, family, call.body);
    const libraries = await loadAwsLibraries();
    const answers: { vectors: number[][]; tokens: number }[] = [];
    for (let start = 0; start < calls.length; start += embeddingCallsAtOnce) {
      const batch = calls.slice(start, start + embeddingCallsAtOnce);
      answers.push(...(await Promise.all(batch.map((one) => this.invokeEmbedding(libraries, deployment, family, one, call.cancel.signal)))));
    }
    const vectors = answers.flatMap((answer) => answer.vectors);
    const promptTokens = answers.reduce((sum, answer) => sum + answer.tokens, 0);
    const body = embeddingList(vectors, deployment.upstreamModel, promptTokens, call.body.encoding_format);
    return { type: "json", body: Buffer.from(JSON.stringify(body)), usage: { promptTokens, completionTokens: 0 } };
  }

  private async invokeEmbedding(
    libraries: AwsLibraries,
    deployment: Deployment,
    family: EmbeddingFamily,
    one: EmbeddingCall,
    signal?: AbortSignal,
    timeoutMs = deployment.timeoutMs,
  ): Promise<{ vectors: number[][]; tokens: number }> {
    const response = await this.request(libraries, deployment, one.body, "invoke", signal, timeoutMs);
    const raw = await readAll(response.body, deployment);
    if (response.statusCode >= 400) throw upstreamError(response.statusCode, response.headers, raw, deployment);
    const answer = readEmbeddingAnswer(family, parseJson(raw, deployment), response.headers["x-amzn-bedrock-input-token-count"]);
    if (!answer || answer.vectors.length !== one.texts.length) {
      throw new UpstreamError("malformed", `bedrock answered for ${deployment.modelName} with a body that is not ${one.texts.length} embedding(s)`);
    }
    // Bedrock's count, else the gateway's estimate of the call's texts.
    return { vectors: answer.vectors, tokens: answer.tokens ?? estimateInputTokens(one.texts) };
  }

  private async request(
    libraries: AwsLibraries,
    deployment: Deployment,
    payload: Record<string, unknown>,
    operation: Operation,
    signal?: AbortSignal,
    timeoutMs = deployment.timeoutMs,
  ): Promise<Dispatcher.ResponseData> {
    const upstream = this.pools.at(deployment.apiBase);
    const base = upstream.url;
    // The model id is one path segment: `:` and an ARN's `/` are percent-encoded, as the SDK does.
    const path = `${upstream.path}/model/${encodeURIComponent(deployment.upstreamModel)}/${operation}`;
    const body = JSON.stringify(payload);
    try {
      const signed = await signerFor(libraries, deployment).sign({
        method: "POST",
        protocol: base.protocol,
        hostname: base.hostname,
        ...(base.port ? { port: Number(base.port) } : {}),
        path,
        query: {},
        headers: {
          host: base.host,
          "content-type": "application/json",
          accept: operation === "converse-stream" ? "application/vnd.amazon.eventstream" : "application/json",
        },
        body,
      });
      return await upstream.pool.request({
        method: "POST",
        path,
        headers: signed.headers,
        body,
        signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
    } catch (err) {
      throw upstreamFailure(err, deployment);
    }
  }

  private async *translateStream(libraries: AwsLibraries, body: ResponseBody, deployment: Deployment): AsyncIterable<Uint8Array> {
    const translator = new ConverseStreamTranslator(deployment.upstreamModel);
    const codec = libraries.codec;
    try {
      for await (const frame of libraries.getChunkedStream(body as AsyncIterable<Uint8Array>)) {
        const message = codec.decode(frame);
        const header = (name: string) => {
          const value = message.headers[name]?.value;
          return typeof value === "string" ? value : "";
        };
        const messageType = header(":message-type");
        const payload = libraries.toUtf8(message.body);
        if (messageType === "exception" || messageType === "error") {
          const type = messageType === "error" ? header(":error-code") : header(":exception-type");
          const text = messageType === "error" ? header(":error-message") : messageOf(payload);
          throw errorOf(streamExceptionStatus[type] ?? 500, type, text || "the stream failed", deployment);
        }
        const eventType = header(":event-type");
        if (!isStreamEventType(eventType)) continue;
        let event: unknown;
        try {
          event = JSON.parse(payload);
        } catch {
          throw new UpstreamError("malformed", `bedrock sent a ${eventType} event that is not JSON`);
        }
        for (const chunk of translator.translate(eventType, event)) yield sseFrame(chunk);
      }
    } catch (err) {
      if (err instanceof UpstreamError) throw err;
      if (err instanceof Error && err.name === "ZodError") {
        throw new UpstreamError("malformed", `bedrock sent an event the gateway cannot read: ${err.message.slice(0, 200)}`);
      }
      throw upstreamFailure(err, deployment);
    }
    if (!translator.finished) {
      throw new UpstreamError("unreachable", `bedrock closed the stream for ${deployment.modelName} before messageStop`);
    }
    yield doneFrame;
  }

  async checkHealth(deployment: Deployment): Promise<HealthResult> {
    // Bedrock's runtime has no free endpoint to probe: a one-token Converse call, as LiteLLM's
    // health check makes, or the embedding of one word for an embedding model.
    const family = embeddingFamily(deployment.upstreamModel);
    if (family) {
      try {
        const [probe] = planEmbeddings(deployment, family, { input: "ping" });
        if (probe) await this.invokeEmbedding(await loadAwsLibraries(), deployment, family, probe, undefined, 10_000);
        return { healthy: true };
      } catch (err) {
        return { healthy: false, error: err instanceof Error ? err.message : String(err) };
      }
    }
    const probe = { messages: [{ role: "user", content: [{ text: "ping" }] }], inferenceConfig: { maxTokens: 1 } };
    try {
      const libraries = await loadAwsLibraries();
      const response = await this.request(libraries, deployment, probe, "converse", undefined, 10_000);
      const raw = await readAll(response.body, deployment);
      if (response.statusCode >= 400) return { healthy: false, error: upstreamError(response.statusCode, response.headers, raw, deployment).message };
      return { healthy: true };
    } catch (err) {
      return { healthy: false, error: err instanceof Error ? err.message : String(err) };
    }
  }

  async close(): Promise<void> {
    await this.pools.close();
  }
}

function messageOf(payload: string): string {
  try {
    const parsed: unknown = JSON.parse(payload);
    if (parsed !== null && typeof parsed === "object" && "message" in parsed && typeof parsed.message === "string") return parsed.message;
  } catch {
    // Not JSON: the payload is the message.
  }
  return payload.slice(0, 500);
}
