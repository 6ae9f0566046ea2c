import type { Deployment } from "../config";
import { withCache, type Usage } from "../spend";

export type LlmRoute = "chat" | "completion" | "embedding";

export interface ProviderCall {
  deployment: Deployment;
  route: LlmRoute;
  /** The caller's body, validated; the provider maps it to its upstream's shape. */
  body: Record<string, unknown>;
  stream: boolean;
  /** Aborted when the caller goes away or the attempt times out, so the upstream call stops too. */
  cancel: Cancel;
}

/** An upstream call's cancellation: listen on it directly, or take an AbortSignal from it. */
export interface Cancel {
  readonly aborted: boolean;
  /** An AbortSignal that follows this cancellation, made on first use. */
  readonly signal: AbortSignal;
  /** Calls `listener` once on abort (at once if already aborted); returns how to stop listening. */
  onAbort(listener: () => void): () => void;
}

/** A complete response, already in OpenAI's shape, with the usage the provider reported. */
export interface JsonReply {
  type: "json";
  body: Buffer;
  /** As the upstream reported it, or estimated from the exchange when it reported none. */
  usage: Usage;
}

/** A stream of OpenAI-shaped server-sent events (`data: {...}\n\n` … `data: [DONE]\n\n`). */
export interface StreamReply {
  type: "stream";
  events: AsyncIterable<Uint8Array>;
}

export type ProviderReply = JsonReply | StreamReply;

export interface HealthResult {
  healthy: boolean;
  error?: string;
}

/** One upstream kind: how to reach it and how its wire maps to OpenAI's. */
export interface Provider {
  send(call: ProviderCall): Promise<ProviderReply>;
  checkHealth(deployment: Deployment): Promise<HealthResult>;
  close(): Promise<void>;
}

/** The upstream answered with an error status, or could not be reached in time. */
export class UpstreamError extends Error {
  constructor(
    readonly kind: "status" | "unreachable" | "timeout" | "malformed",
    message: string,
    readonly status: number | null = null,
    /** The upstream's `retry-after`, in seconds, when it sent one. */
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(message);
    this.name = "UpstreamError";
  }
}

export function usageFrom(value: unknown): Usage | null {
  if (value === null || typeof value !== "object") return null;
  const record = value as Record<string, unknown>;
  const prompt = record.prompt_tokens;
  const completion = record.completion_tokens;
  if (typeof prompt !== "number") return null;
  const usage: Usage = { promptTokens: prompt, completionTokens: typeof completion === "number" ? completion : 0 };
  // Cached input: OpenAI's prompt_tokens_details.cached_tokens, or the cache_read_input_tokens
  // and cache_creation_input_tokens LiteLLM (and our Anthropic translation) add for Anthropic.
  const details = record.prompt_tokens_details;
  const cached =
    typeof record.cache_read_input_tokens === "number"
      ? record.cache_read_input_tokens
      : details !== null && typeof details === "object"
        ? (details as Record<string, unknown>).cached_tokens
        : undefined;
  const written = record.cache_creation_input_tokens;
  return withCache(usage, typeof cached === "number" ? cached : null, typeof written === "number" ? written : null);
}
