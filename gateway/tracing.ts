import type { ServerResponse } from "node:http";
import type { Langfuse } from "langfuse";
import { z } from "zod";
import { parseEnv } from "../lib/env";
import type { Caller } from "./auth";
import type { Deployment } from "./config";
import type { GatewayError } from "./errors";
import type { Logger } from "./log";
import type { RequestLabels } from "./metrics";
import type { LlmRoute } from "./providers/types";
import { requestIdOf } from "./response-head";
import type { Usage } from "./spend";

/**
 * Optional Langfuse traces of each LLM call, as LiteLLM's `langfuse` callback sends them: one
 * trace and one generation per call (model, user, key alias, tokens, cost, latency, status,
 * request id). Off unless LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY are set. The SDK queues
 * events and sends them in batches in the background; `shutdown` flushes what is left.
 *
 * Prompts and completions leave the gateway only when explicitly enabled (LANGFUSE_LOG_IO=true),
 * and never when the config says `litellm_settings.turn_off_message_logging: true` (LiteLLM's
 * switch). Keys appear only as their hash.
 */

/** What llm.ts knows about a call when it settles it. */
export interface TracedCall {
  res: ServerResponse;
  route: LlmRoute;
  caller: Caller;
  deployment: Deployment;
  body: Record<string, unknown>;
  labels: RequestLabels;
  startTime: Date;
  /** The caller's wire format when it is not OpenAI's: its call type names the trace. */
  dialect?: { callType?: string };
}

export interface TracedOutcome {
  usage: Usage | null;
  failure: GatewayError | null;
  /** The JSON answer sent to the caller (not kept for streams). */
  output?: Buffer;
}

export interface Tracer {
  readonly enabled: boolean;
  /** Queues the call's trace; never throws and never waits on the network. */
  record(call: TracedCall, callId: string, outcome: TracedOutcome, costDollars: number): void;
  shutdown(): Promise<void>;
}

export const noopTracer: Tracer = {
  enabled: false,
  record() {},
  async shutdown() {},
};

const flag = z.enum(["true", "false", "1", "0"]).transform((value) => value === "true" || value === "1");

export const tracingEnvSchema = z.object({
  LANGFUSE_PUBLIC_KEY: z.string().min(1).optional(),
  LANGFUSE_SECRET_KEY: z.string().min(1).optional(),
  // LiteLLM reads LANGFUSE_HOST; the Langfuse SDKs LANGFUSE_BASE_URL (and LANGFUSE_BASEURL).
  LANGFUSE_HOST: z.url({ protocol: /^https?$/, message: "must be an http(s) URL" }).optional(),
  LANGFUSE_BASE_URL: z.url({ protocol: /^https?$/, message: "must be an http(s) URL" }).optional(),
  LANGFUSE_BASEURL: z.url({ protocol: /^https?$/, message: "must be an http(s) URL" }).optional(),
  LANGFUSE_LOG_IO: flag.default(false),
  LANGFUSE_FLUSH_AT: z.coerce.number().int().min(1).max(1000).default(15),
  LANGFUSE_FLUSH_INTERVAL_MS: z.coerce.number().int().min(10).max(600_000).default(10_000),
  LANGFUSE_RELEASE: z.string().optional(),
});

const callbackList = z.union([z.array(z.string()), z.string().transform((value) => [value])]).optional();
const tracingSettingsSchema = z.looseObject({
  callbacks: callbackList,
  success_callback: callbackList,
  failure_callback: callbackList,
  turn_off_message_logging: z.union([z.boolean(), z.enum(["true", "false"]).transform((value) => value === "true")]).optional(),
});

const callTypes: Record<LlmRoute, string> = { chat: "acompletion", completion: "atext_completion", embedding: "aembedding" };

/**
 * The tracer the env and the config's `litellm_settings` ask for. With the keys set, every call
 * is traced, unless the config names `langfuse` in `success_callback`/`failure_callback`: then
 * only the kinds it names are.
 */
export async function createTracer(source: NodeJS.ProcessEnv, litellmSettings: unknown, log: Logger): Promise<Tracer> {
  const env = parseEnv(tracingEnvSchema, source);
  const parsed = tracingSettingsSchema.safeParse(litellmSettings ?? {});
  const settings = parsed.success ? parsed.data : {};
  const names = (list: string[] | undefined) => (list ?? []).map((name) => name.toLowerCase());
  const listed = { success: names(settings.success_callback), failure: names(settings.failure_callback), any: names(settings.callbacks) };
  const named = [...listed.success, ...listed.failure, ...listed.any].includes("langfuse");
  if (!env.LANGFUSE_PUBLIC_KEY || !env.LANGFUSE_SECRET_KEY) {
    if (named) log.warn("litellm_settings names langfuse, but LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY are not set: tracing is off");
    return noopTracer;
  }
  const onlyListed = listed.success.includes("langfuse") || listed.failure.includes("langfuse");
  const traceSuccess = !onlyListed || listed.success.includes("langfuse");
  const traceFailure = !onlyListed || listed.failure.includes("langfuse");
  const logIo = env.LANGFUSE_LOG_IO && settings.turn_off_message_logging !== true;
  const baseUrl = env.LANGFUSE_BASE_URL ?? env.LANGFUSE_BASEURL ?? env.LANGFUSE_HOST ?? "https://cloud.langfuse.com";
  // Loaded only when tracing is on, like ioredis only with REDIS_URL: together they are ~1.5 MB
  // of heap (measured after a full GC) and a few MB resident that a gateway without them carried.
  const { Langfuse } = await import("langfuse");
  const langfuse = new Langfuse({
    publicKey: env.LANGFUSE_PUBLIC_KEY,
    secretKey: env.LANGFUSE_SECRET_KEY,
    baseUrl,
    flushAt: env.LANGFUSE_FLUSH_AT,
    flushInterval: env.LANGFUSE_FLUSH_INTERVAL_MS,
    release: env.LANGFUSE_RELEASE,
    sdkIntegration: "creditgate-gateway",
  });
  langfuse.on("error", (payload: unknown) => log.warn({ error: describe(payload) }, "langfuse export failed"));
  log.info({ baseUrl, success: traceSuccess, failure: traceFailure, logIo }, "langfuse tracing on");

  return {
    enabled: true,
    record(call, callId, outcome, costDollars) {
      if (outcome.failure ? !traceFailure : !traceSuccess) return;
      try {
        send(langfuse, call, callId, outcome, costDollars, logIo);
      } catch (err) {
        log.warn({ error: describe(err) }, "langfuse trace not queued");
      }
    },
    async shutdown() {
      // A Langfuse that does not answer must not hold the gateway's exit for long.
      await Promise.race([langfuse.shutdownAsync(), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
    },
  };
}

function send(langfuse: Langfuse, call: TracedCall, callId: string, outcome: TracedOutcome, costDollars: number, logIo: boolean): void {
  const { labels, deployment, route, body } = call;
  const endTime = new Date();
  const name = `litellm-${call.dialect?.callType ?? callTypes[route]}`;
  const usage = outcome.usage;
  const statusCode = outcome.failure ? outcome.failure.status : 200;
  const input = logIo ? inputOf(route, body) : undefined;
  const output = logIo && outcome.output ? outputOf(route, outcome.output) : undefined;
  const metadata = {
    request_id: requestIdOf(call.res),
    litellm_call_id: callId,
    user_api_key_hash: labels.hashed_api_key,
    user_api_key_alias: labels.api_key_alias || null,
    user_api_key_user_id: labels.user || null,
    user_api_key_team_id: labels.team || null,
    user_api_key_team_alias: labels.team_alias || null,
    end_user: labels.end_user || null,
    model_group: deployment.modelName,
    model_id: deployment.id,
    custom_llm_provider: deployment.provider,
    status: outcome.failure ? "failure" : "success",
    status_code: statusCode,
    response_cost: costDollars,
    latency_seconds: (endTime.getTime() - call.startTime.getTime()) / 1000,
    stream: body.stream === true,
  };
  const trace = langfuse.trace({
    id: callId,
    name,
    timestamp: call.startTime,
    userId: labels.user || undefined,
    tags: [deployment.modelName, metadata.status],
    metadata,
    ...(input === undefined ? {} : { input }),
    ...(output === undefined ? {} : { output }),
  });
  trace.generation({
    id: callId,
    name,
    model: deployment.upstreamModel,
    startTime: call.startTime,
    endTime,
    modelParameters: modelParameters(body),
    ...(usage
      ? {
          usage: { input: usage.promptTokens, output: usage.completionTokens, total: usage.promptTokens + usage.completionTokens, unit: "TOKENS" as const },
          usageDetails: { input: usage.promptTokens, output: usage.completionTokens, total: usage.promptTokens + usage.completionTokens },
        }
      : {}),
    costDetails: { total: costDollars },
    level: outcome.failure ? "ERROR" : "DEFAULT",
    statusMessage: outcome.failure ? `${outcome.failure.status} ${outcome.failure.type}: ${outcome.failure.message}` : undefined,
    metadata,
    ...(input === undefined ? {} : { input }),
    ...(output === undefined ? {} : { output }),
  });
}

/** Sampling settings only: none of them carries prompt text. */
function modelParameters(body: Record<string, unknown>): Record<string, string | number | boolean> {
  const parameters: Record<string, string | number | boolean> = {};
  for (const name of ["temperature", "top_p", "max_tokens", "max_completion_tokens", "stream", "n", "presence_penalty", "frequency_penalty"]) {
    const value = body[name];
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") parameters[name] = value;
  }
  return parameters;
}

function inputOf(route: LlmRoute, body: Record<string, unknown>): unknown {
  if (route === "chat") return body.messages;
  return route === "completion" ? body.prompt : body.input;
}

function outputOf(route: LlmRoute, reply: Buffer): unknown {
  if (route === "embedding") return undefined;
  try {
    const parsed = JSON.parse(reply.toString("utf8")) as {
      choices?: { message?: unknown; text?: unknown }[];
      output?: unknown;
      content?: unknown;
    };
    const first = parsed.choices?.[0];
    if (route !== "chat") return first?.text;
    // OpenAI's chat answer, else a Responses answer's output items, else an Anthropic message's content.
    return first?.message ?? parsed.output ?? parsed.content;
  } catch {
    return undefined;
  }
}

function describe(value: unknown): string {
  if (value instanceof Error) return value.message;
  return typeof value === "string" ? value : JSON.stringify(value);
}
