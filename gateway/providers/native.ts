import { Pool, errors as undiciErrors, type Dispatcher } from "undici";
import type { Deployment } from "../config";
import { badRequest } from "../errors";
import { UpstreamError } from "./types";

/**
 * What the providers share: keep-alive pools, timeouts mapped to UpstreamError, and (for those
 * with their own wire format: Anthropic, Bedrock, Ollama) OpenAI-shaped chunks and replies built
 * from parts.
 */

/** Where a deployment's `api_base` points: its origin's pool, its path without a trailing slash. */
export interface Upstream {
  pool: Pool;
  path: string;
  url: URL;
}

export class Pools {
  private readonly pools = new Map<string, Pool>();
  // Parsed once per api_base: a URL parse per request was a visible part of the hot path.
  private readonly upstreams = new Map<string, Upstream>();

  at(apiBase: string): Upstream {
    let upstream = this.upstreams.get(apiBase);
    if (!upstream) {
      const url = new URL(apiBase);
      upstream = { pool: this.get(url.origin), path: url.pathname.replace(/\/+$/, ""), url };
      this.upstreams.set(apiBase, upstream);
    }
    return upstream;
  }

  private get(origin: string): Pool {
    let pool = this.pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, { connections: 256, pipelining: 1, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000 });
      this.pools.set(origin, pool);
    }
    return pool;
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((pool) => pool.close()));
    this.pools.clear();
    this.upstreams.clear();
  }
}

export type ResponseBody = Dispatcher.ResponseData["body"];

export function upstreamFailure(err: unknown, deployment: Deployment): UpstreamError {
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

export async function readAll(body: ResponseBody, deployment: Deployment): Promise<Buffer> {
  try {
    return Buffer.from(await body.arrayBuffer());
  } catch (err) {
    throw upstreamFailure(err, deployment);
  }
}

export function parseJson(raw: Buffer, deployment: Deployment): unknown {
  try {
    return JSON.parse(raw.toString("utf8"));
  } catch {
    throw new UpstreamError("malformed", `upstream of model ${deployment.modelName} answered with a body that is not JSON`);
  }
}

/**
 * Waits for the first item before handing the stream over, so an error the upstream reports
 * before any output (an exception frame, an error line) becomes the response's status instead
 * of an error inside a 200 stream.
 */
export async function primed<T>(source: AsyncIterable<T>): Promise<AsyncIterable<T>> {
  const iterator = source[Symbol.asyncIterator]();
  const first = await iterator.next();
  return {
    async *[Symbol.asyncIterator]() {
      if (first.done) return;
      yield first.value;
      try {
        for (;;) {
          const next = await iterator.next();
          if (next.done) return;
          yield next.value;
        }
      } finally {
        await iterator.return?.();
      }
    },
  };
}

const encoder = new TextEncoder();

export function sseFrame(value: unknown): Uint8Array {
  return encoder.encode(`data: ${JSON.stringify(value)}\n\n`);
}

export const doneFrame = encoder.encode("data: [DONE]\n\n");

export interface OpenAiToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

/** The fields every chunk of one OpenAI chat stream repeats. */
export interface ChunkBase {
  id: string;
  object: "chat.completion.chunk";
  created: number;
  model: string;
}

export function chunkBase(id: string, model: string): ChunkBase {
  return { id, object: "chat.completion.chunk", created: Math.floor(Date.now() / 1000), model };
}

/**
 * OpenAI's usage object; with `cache`, the prompt-cache counts as LiteLLM reports them
 * (`prompt_tokens_details.cached_tokens` and Anthropic's two names beside it).
 */
export function usageBody(promptTokens: number, completionTokens: number, cache?: { read: number; write: number }) {
  const body = { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
  if (!cache) return body;
  return {
    ...body,
    prompt_tokens_details: { cached_tokens: cache.read },
    cache_creation_input_tokens: cache.write,
    cache_read_input_tokens: cache.read,
  };
}

/**
 * OpenAI's embedding list. With `encoding_format: "base64"` each vector is sent as OpenAI sends
 * it, its float32 little-endian bytes in base64 (the official clients ask for that by default).
 */
export function embeddingList(vectors: readonly (readonly number[])[], model: string, promptTokens: number, encodingFormat: unknown) {
  const base64 = encodingFormat === "base64";
  return {
    object: "list",
    data: vectors.map((vector, index) => ({ object: "embedding", index, embedding: base64 ? float32Base64(vector) : vector })),
    model,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  };
}

/**
 * An upstream's OpenAI embedding list with any float vectors turned into base64, for a caller
 * that asked for base64 from an OpenAI-compatible server that answered floats (older vLLM and
 * Ollama builds do): the openai clients decode what they asked for and would read the floats as
 * an empty vector. Null when nothing needed turning.
 */
export function floatsToBase64(answer: unknown): unknown {
  const data = answer !== null && typeof answer === "object" && "data" in answer ? answer.data : null;
  if (!Array.isArray(data)) return null;
  let changed = false;
  for (const item of data as unknown[]) {
    if (item === null || typeof item !== "object" || !("embedding" in item) || !Array.isArray(item.embedding)) continue;
    if (!item.embedding.every((value: unknown) => typeof value === "number")) continue;
    (item as { embedding: unknown }).embedding = float32Base64(item.embedding as number[]);
    changed = true;
  }
  return changed ? answer : null;
}

function float32Base64(vector: readonly number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  vector.forEach((value, index) => bytes.writeFloatLE(value, index * 4));
  return bytes.toString("base64");
}

/** An image URL of an OpenAI content part, split into format and base64 data when it is a data URL. */
export function dataUrlImage(url: string): { mediaType: string; data: string } | null {
  const match = /^data:(image\/[a-z0-9.+-]+);base64,(.*)$/is.exec(url);
  if (!match?.[1] || match[2] === undefined) return null;
  return { mediaType: match[1].toLowerCase(), data: match[2] };
}

/** OpenAI message content (a string or parts) as plain text; non-text parts are skipped. */
export function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((part: unknown) =>
      part !== null && typeof part === "object" && "text" in part && typeof part.text === "string" ? part.text : "",
    )
    .join("");
}

/** A tool call's `arguments` string from the caller, parsed for upstreams that take an object. */
export function parseToolArguments(raw: string | undefined, name: string): unknown {
  if (raw === undefined || raw.trim() === "") return {};
  try {
    return JSON.parse(raw);
  } catch {
    throw badRequest(`the arguments of tool call ${name} in messages are not valid JSON`, "messages");
  }
}
