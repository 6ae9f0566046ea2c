import { randomUUID } from "node:crypto";
import { once } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import { authenticate, type Caller } from "./auth";
import { ResponseCaller, type CallerLink } from "./caller";
import type { Deployment } from "./config";
import type { Gateway } from "./context";
import type { KeyContext } from "./directory";
import { GatewayError, badRequest, errorBody, forbidden, sendError } from "./errors";
import { parseJsonObject, readBody, validate } from "./http";
import { noAdmission, type Admission, type BudgetCheck } from "./admission";
import type { LimitSubject } from "./limits";
import type { RequestLabels } from "./metrics";
import type { LlmRoute, Provider, ProviderCall, ProviderReply } from "./providers/types";
import { UpstreamError } from "./providers/types";
import { setCallId, writeHead } from "./response-head";
import { StreamTap } from "./sse";
import { costNanos, nanosToDollars, worstCaseNanos, type Usage } from "./spend";
import { estimateInputTokens, estimateMessagesTokens, promptTokensUpperBound } from "./tokens";

/**
 * The OpenAI-compatible routes. Checks run in LiteLLM's order: key → model access → budgets
 * (key, then team, or the user's for keys without a team) → rate limits → forward → record.
 * The budget check reserves the request's worst-case cost and the settlement replaces it with
 * the real one, so concurrent requests cannot all spend the same remaining budget.
 */

const tokenLimit = z.number().int().positive().nullable().optional();
const common = {
  model: z.string().min(1),
  stream: z.boolean().nullable().optional(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullable().optional(),
  max_tokens: tokenLimit,
  max_completion_tokens: tokenLimit,
  user: z.string().optional(),
  mock_response: z.string().optional(),
  // LiteLLM's request-level router fields: other model names to try, and retries per model.
  fallbacks: z.array(z.string().min(1)).max(10).optional(),
  num_retries: z.number().int().min(0).max(10).optional(),
};
const textInput = z.union([
  z.string(),
  z.array(z.string()).min(1),
  z.array(z.number().int()).min(1),
  z.array(z.array(z.number().int()).min(1)).min(1),
]);

const bodySchemas = {
  chat: z.looseObject({
    ...common,
    messages: z.array(z.looseObject({ role: z.string().min(1) })).min(1),
  }),
  completion: z.looseObject({ ...common, prompt: textInput }),
  embedding: z.looseObject({
    model: z.string().min(1),
    input: textInput,
    dimensions: z.number().int().positive().optional(),
    encoding_format: z.enum(["float", "base64"]).optional(),
    user: z.string().optional(),
  }),
} satisfies Record<LlmRoute, z.ZodType>;

const callTypes: Record<LlmRoute, string> = { chat: "acompletion", completion: "atext_completion", embedding: "aembedding" };

/**
 * How one public wire format meets the pipeline: OpenAI's (the default) or Anthropic's on
 * /v1/messages. Every check between parse and answer is the same for both.
 */
export interface LlmDialect {
  /** The validated body in the shape the checks read: model, user, max_tokens, stream, messages. */
  parse(raw: Buffer, route: LlmRoute): Record<string, unknown> & { model: string };
  /** Calls the upstream; the reply is in this dialect's wire format, with its usage. */
  send(provider: Provider, call: ProviderCall): Promise<ProviderReply>;
  /** Watches the outgoing events for the usage to bill. */
  tap(forwardUsageChunk: boolean): { push(chunk: Uint8Array): string; end(): string; usage: Usage | null; streamedChars: number };
  errorBody(err: GatewayError): string;
  /** An error after the stream began, as one event. */
  streamError(err: GatewayError): string;
  callType?: string;
}

export const openAiDialect: LlmDialect = {
  parse: (raw, route) => validate(bodySchemas[route], parseJsonObject(raw)) as Record<string, unknown> & { model: string },
  send: (provider, call) => provider.send(call),
  tap: (forwardUsageChunk) => new StreamTap(forwardUsageChunk),
  errorBody,
  streamError: (err) => `data: ${errorBody(err)}\n\n`,
};

/**
 * OpenAI's format with the model named by the path (Azure's `/openai/deployments/{model}/…`,
 * LiteLLM's `/engines/{model}/…`): as in LiteLLM, the path's model replaces the body's.
 */
export function pathModelDialect(model: string): LlmDialect {
  return {
    ...openAiDialect,
    parse: (raw, route) => {
      const body = parseJsonObject(raw);
      body.model = model;
      return validate(bodySchemas[route], body) as Record<string, unknown> & { model: string };
    },
  };
}

export async function handleLlmRequest(
  gateway: Gateway,
  req: IncomingMessage,
  res: ServerResponse,
  route: LlmRoute,
  routePath: string,
  dialect: LlmDialect = openAiDialect,
): Promise<void> {
  const started = performance.now();
  const startTime = new Date();
  // What is known so far, for the metrics' labels if a check refuses the request.
  let caller: Caller | null = null;
  let body: (Record<string, unknown> & { model: string }) | null = null;
  try {
    caller = await authenticate(gateway, req.headers);
    const raw = await readBody(req, gateway.settings.maxRequestBytes);
    body = dialect.parse(raw, route);
    const deployment = chooseDeployment(gateway, caller, body.model, routePath);
    const fallbacks = fallbacksOf(gateway, caller, body.fallbacks);
    const admission = await admit(gateway, caller, deployment, fallbacks, body, route, raw.length, startTime);
    const labels = labelsOf(caller, body);
    await forward(gateway, { req, res, route, caller, deployment, body, admission, labels, started, startTime, dialect });
  } catch (err) {
    const error = toGatewayError(gateway, err);
    gateway.metrics.requestFailed(caller ? labelsOf(caller, body) : emptyLabels(), error.status, error.type);
    sendError(res, error, dialect.errorBody);
  }
}

function emptyLabels(): RequestLabels {
  return { end_user: "", hashed_api_key: "", api_key_alias: "", requested_model: "", team: "", team_alias: "", user: "" };
}

function labelsOf(caller: Caller, body: Record<string, unknown> & { model: string } | null): RequestLabels {
  const model = body ? body.model : "";
  const endUser = typeof body?.user === "string" ? body.user : "";
  if (caller.kind === "master") {
    return { ...emptyLabels(), hashed_api_key: caller.hash, requested_model: model, end_user: endUser, user: "default_user_id" };
  }
  const { key, team } = caller.context;
  return {
    end_user: endUser,
    hashed_api_key: key.token,
    api_key_alias: key.key_alias ?? "",
    requested_model: model,
    team: key.team_id ?? "",
    team_alias: team?.team_alias ?? "",
    user: key.user_id ?? "",
  };
}

export function chooseDeployment(gateway: Gateway, caller: Caller, model: string, routePath: string): Deployment {
  if (caller.kind === "key") {
    const { context } = caller;
    if (context.team?.blocked) {
      throw new GatewayError(
        401,
        "auth_error",
        `Authentication Error, Team=${context.team.team_id} is blocked. Update via \`/team/unblock\` if you're an admin.`,
      );
    }
    // A key's `aliases` map a name the caller uses to a model of the config; either name may
    // be the one the key is allowed.
    const alias = context.key.aliases[model];
    const target = typeof alias === "string" ? alias : model;
    const refusedBy = gateway.models.refusal(context, target) && gateway.models.refusal(context, model);
    if (refusedBy) throw modelAccessDenied(refusedBy, context, model);
    const aliased = gateway.router.pick(target);
    if (aliased) return aliased;
  }
  const deployment = gateway.router.pick(model);
  if (!deployment) {
    throw badRequest(
      `${routePath.replace(/^\/v1/, "")}: Invalid model name passed in model=${model}. Call \`/v1/models\` to view available models for your key.`,
      "model",
    );
  }
  return deployment;
}

const noDeployments: readonly Deployment[] = [];

/**
 * A deployment of each model a request's own `fallbacks` name, for its budget reservation. They
 * must be models of the config the key may use: a fallback cannot be a way around the key's,
 * team's or user's model list.
 */
function fallbacksOf(gateway: Gateway, caller: Caller, fallbacks: unknown): readonly Deployment[] {
  if (!Array.isArray(fallbacks)) return noDeployments;
  return (fallbacks as string[]).map((model, index) => {
    const deployment = gateway.router.pick(model);
    if (!deployment) {
      throw badRequest(`fallbacks.${index}: ${model} is not a model of this proxy. Call \`/v1/models\` to view available models for your key.`, `fallbacks.${index}`);
    }
    if (caller.kind === "key") {
      const refusedBy = gateway.models.refusal(caller.context, model);
      if (refusedBy) throw modelAccessDenied(refusedBy, caller.context, model);
    }
    return deployment;
  });
}

function modelAccessDenied(refusedBy: "key" | "team" | "user", context: KeyContext, model: string): GatewayError {
  if (refusedBy === "team") {
    return forbidden(
      `Team not allowed to access model. Team=${context.key.team_id ?? ""}, Model=${model}. Allowed team models = ${JSON.stringify(context.team?.models ?? [])}`,
      "team_model_access_denied",
      "model",
    );
  }
  if (refusedBy === "user") {
    return forbidden(
      `User not allowed to access model. User=${context.key.user_id ?? ""}, Model=${model}. Allowed user models = ${JSON.stringify(context.user?.models ?? [])}`,
      "user_model_access_denied",
      "model",
    );
  }
  return forbidden(
    `The requested model '${model}' is not available for this API key, or the model name is invalid. Check the models available to you and try again.`,
    "key_model_access_denied",
    "model",
  );
}

function maxOutputTokens(body: Record<string, unknown>, route: LlmRoute, deployment: Deployment): number {
  if (route === "embedding") return 0;
  const asked = body.max_completion_tokens ?? body.max_tokens;
  return typeof asked === "number" ? asked : deployment.maxOutputTokens;
}

/**
 * The budget check and the rate-limit check as one step (in memory, or one Redis script when
 * instances share counters), so no other request interleaves between check and reservation.
 */
function admit(
  gateway: Gateway,
  caller: Caller,
  deployment: Deployment,
  fallbacks: readonly Deployment[],
  body: Record<string, unknown>,
  route: LlmRoute,
  bodyBytes: number,
  now: Date,
): Admission | Promise<Admission> {
  if (caller.kind === "master") return noAdmission;
  const { context } = caller;
  const promptTokens = promptTokensUpperBound(bodyBytes);
  let worstCase = worstCaseNanos(promptTokens, maxOutputTokens(body, route, deployment), deployment);
  // LiteLLM skips budget checks for models priced at exactly zero in both directions.
  let free = deployment.inputCostPerToken === 0 && deployment.outputCostPerToken === 0;
  // A request's own fallbacks are the caller's choice: it reserves at the dearest model it named.
  for (const fallback of fallbacks) {
    worstCase = Math.max(worstCase, worstCaseNanos(promptTokens, maxOutputTokens(body, route, fallback), fallback));
    free &&= fallback.inputCostPerToken === 0 && fallback.outputCostPerToken === 0;
  }
  const checks = checksOf(gateway, context);
  return gateway.admitter.admit({ budgets: free ? [] : checks.budgets, worstCaseNanos: worstCase, subjects: checks.subjects, now });
}

// What a key's checks draw on, made once per context (the directory keeps a key's context until
// one of its rows changes) rather than on every request.
const checksByContext = new WeakMap<KeyContext, { budgets: BudgetCheck[]; subjects: LimitSubject[] }>();

function checksOf(gateway: Gateway, context: KeyContext): { budgets: BudgetCheck[]; subjects: LimitSubject[] } {
  let checks = checksByContext.get(context);
  if (!checks) {
    checks = { budgets: budgetsOf(gateway, context), subjects: limitSubjects(context) };
    checksByContext.set(context, checks);
  }
  return checks;
}

function budgetsOf(gateway: Gateway, context: KeyContext): BudgetCheck[] {
  const budgets = [{ account: context.keyAccount, name: `Key=${context.key.key_alias ?? context.key.key_name}` }];
  // LiteLLM's rule: a team key draws on the team's budget, not on its user's personal one.
  if (context.teamAccount) budgets.push({ account: context.teamAccount, name: `Team=${context.key.team_id ?? ""}` });
  else if (context.userAccount) budgets.push({ account: context.userAccount, name: `User=${context.key.user_id ?? ""}` });
  // A member's own cap inside the team (max_budget_in_team), checked after the team's.
  if (context.memberAccount) {
    budgets.push({
      account: context.memberAccount,
      name: `User=${context.key.user_id ?? ""} in Team=${context.key.team_id ?? ""}`,
    });
  }
  // The proxy-wide budget last, as LiteLLM checks it (litellm_settings.max_budget).
  if (gateway.proxyAccount.maxBudgetNanos !== null) budgets.push({ account: gateway.proxyAccount, name: "Proxy=global" });
  return budgets;
}

function limitSubjects(context: KeyContext): LimitSubject[] {
  const { key, user, team } = context;
  const subjects: LimitSubject[] = [
    {
      descriptor: "api_key",
      id: key.token,
      rpmLimit: key.rpm_limit,
      tpmLimit: key.tpm_limit,
      maxParallelRequests: key.max_parallel_requests,
    },
  ];
  if (user) {
    subjects.push({
      descriptor: "user",
      id: user.user_id,
      rpmLimit: user.rpm_limit,
      tpmLimit: user.tpm_limit,
      maxParallelRequests: user.max_parallel_requests,
    });
  }
  if (team) {
    subjects.push({
      descriptor: "team",
      id: team.team_id,
      rpmLimit: team.rpm_limit,
      tpmLimit: team.tpm_limit,
      maxParallelRequests: team.max_parallel_requests,
    });
  }
  return subjects;
}

interface Forwarding {
  req: IncomingMessage;
  res: ServerResponse;
  route: LlmRoute;
  caller: Caller;
  deployment: Deployment;
  body: Record<string, unknown>;
  admission: Admission;
  labels: RequestLabels;
  started: number;
  startTime: Date;
  dialect: LlmDialect;
}

async function forward(gateway: Gateway, call: Forwarding): Promise<void> {
  const { res, route, body, admission } = call;
  const stream = route !== "embedding" && body.stream === true;
  // The upstream is always asked for usage on a stream, so the stream can be billed.
  const upstreamBody = stream
    ? { ...body, stream_options: { ...(asRecord(body.stream_options) ?? {}), include_usage: true } }
    : body;
  const caller = new ResponseCaller(res);
  const requestId = randomUUID();
  setCallId(res, requestId);
  const upstreamStarted = performance.now();
  let outcome: Outcome = { usage: null, failure: null };
  try {
    // Retries, fallbacks and timeouts (router.ts); spend is charged at the price of the deployment that answered.
    const routed = await gateway.router.send({
      group: call.deployment.modelName,
      preferred: call.deployment,
      route,
      body: upstreamBody,
      stream,
      caller,
      mock: typeof body.mock_response === "string",
      // The caller's wire format decides how the upstream is called (Anthropic's is passed through).
      send: (provider, providerCall) => call.dialect.send(provider, providerCall),
      fallbacks: Array.isArray(body.fallbacks) ? (body.fallbacks as string[]) : undefined,
      numRetries: typeof body.num_retries === "number" ? body.num_retries : undefined,
    });
    const { reply, deployment } = routed;
    call.deployment = deployment;
    // Name, value pairs: a flat list is the cheapest head for Node to write.
    const headers = [
      ...admission.headers,
      "x-litellm-call-id",
      requestId,
      "x-litellm-model-id",
      deployment.id,
      "x-litellm-model-group",
      deployment.modelName,
      "x-litellm-attempted-retries",
      String(routed.retries),
      "x-litellm-attempted-fallbacks",
      String(routed.fallbacks),
    ];
    if (reply.type === "json") {
      headers.push(
        "content-type",
        "application/json",
        "content-length",
        String(reply.body.length),
        "x-litellm-response-cost",
        String(nanosToDollars(costNanos(reply.usage, deployment))),
        "x-litellm-overhead-duration-ms",
        (upstreamStarted - call.started).toFixed(3),
      );
      writeHead(res, 200, headers);
      res.end(reply.body);
      outcome = { usage: reply.usage, failure: null, output: reply.body };
    } else {
      outcome = await pipeStream(gateway, call, reply.events, headers, caller);
    }
  } catch (err) {
    // A caller that hung up is not an upstream failure, and nothing is left to answer.
    const failure = caller.gone ? callerClosed() : toGatewayError(gateway, err);
    outcome = { usage: null, failure };
    sendError(res, failure, call.dialect.errorBody);
  } finally {
    caller.release();
    settle(gateway, call, requestId, outcome, upstreamStarted);
  }
}

interface Outcome {
  usage: Usage | null;
  failure: GatewayError | null;
  /** The JSON answer, for traces that may include completions. */
  output?: Buffer;
}

const callerClosed = () =>
  new GatewayError(499, "client_closed_request", "The caller closed the connection before the answer.");

/**
 * Pipes the upstream's events to the caller as they come, honouring back-pressure. A failure
 * after the first byte is reported in-band, as LiteLLM does; a stream cut short (by either
 * side) is billed for what it carried.
 */
async function pipeStream(
  gateway: Gateway,
  call: Forwarding,
  events: AsyncIterable<Uint8Array>,
  headers: string[],
  caller: CallerLink,
): Promise<Outcome> {
  const { res, route, body } = call;
  headers.push("content-type", "text/event-stream", "cache-control", "no-cache", "connection", "keep-alive");
  writeHead(res, 200, headers);
  const tap = call.dialect.tap(isIncludeUsage(body.stream_options) || gateway.settings.alwaysIncludeStreamUsage);
  let failure: GatewayError | null = null;
  try {
    for await (const chunk of events) {
      const out = tap.push(chunk);
      if (out !== "" && !res.write(out)) await Promise.race([once(res, "drain"), once(res, "close")]);
      if (caller.gone) {
        failure = callerClosed();
        break;
      }
    }
    const rest = tap.end();
    if (rest !== "" && !caller.gone) res.write(rest);
  } catch (err) {
    failure = caller.gone ? callerClosed() : toGatewayError(gateway, err);
    if (!caller.gone) res.write(call.dialect.streamError(failure));
  }
  res.end();
  const usage = tap.usage ?? { promptTokens: estimatePrompt(route, body), completionTokens: Math.ceil(tap.streamedChars / 4) };
  return { usage, failure };
}

function estimatePrompt(route: LlmRoute, body: Record<string, unknown>): number {
  if (route === "chat") return estimateMessagesTokens(Array.isArray(body.messages) ? body.messages : []);
  return estimateInputTokens(route === "embedding" ? body.input : body.prompt);
}

/**
 * Replaces the reservation with the real cost on key, user and team, counts the tokens against
 * the rate limits, and queues the spend-log row. A request that failed before any output costs
 * nothing; a stream cut short costs what it used.
 */
function settle(gateway: Gateway, call: Forwarding, requestId: string, outcome: Outcome, upstreamStarted: number): void {
  const { caller, deployment, admission, labels } = call;
  const { usage, failure } = outcome;
  const now = performance.now();
  const tokens = usage ? usage.promptTokens + usage.completionTokens : 0;
  const cost = usage ? costNanos(usage, deployment) : 0;
  const context = caller.kind === "key" ? caller.context : null;
  const accounts = [gateway.proxyAccount];
  if (context) {
    for (const account of [context.keyAccount, context.userAccount, context.teamAccount, context.memberAccount]) {
      if (account) accounts.push(account);
    }
  }
  gateway.admitter.settle(admission, { costNanos: cost, tokens, accounts });
  gateway.router.recordTokens(deployment, tokens);
  const dollars = nanosToDollars(cost);
  const upstreamSeconds = (now - upstreamStarted) / 1000;
  const totalSeconds = (now - call.started) / 1000;
  // The metrics' usage in one fixed shape (a spread of `usage` had a shape per provider's extras).
  const used = usage ? { promptTokens: usage.promptTokens, completionTokens: usage.completionTokens, spendDollars: dollars } : null;
  if (failure) {
    gateway.metrics.requestFailed(labels, failure.status, failure.type);
    if (used) gateway.metrics.usage(labels, deployment.upstreamModel, used);
    gateway.metrics.latency(labels, deployment.upstreamModel, upstreamSeconds, totalSeconds);
  } else {
    gateway.metrics.succeeded(labels, deployment.upstreamModel, used, upstreamSeconds, totalSeconds);
  }
  if (context) {
    const { key, user } = context;
    gateway.metrics.watchBudgets(
      { hash: key.token, alias: key.key_alias ?? "", account: context.keyAccount },
      user && context.userAccount ? { id: user.user_id, account: context.userAccount } : null,
    );
  }
  gateway.tracer.record(call, requestId, outcome, dollars);
  if (!usage && !failure) return;
  gateway.flusher.add({
    request_id: requestId,
    call_type: call.dialect.callType ?? callTypes[call.route],
    api_key: caller.hash,
    spendNanos: cost,
    total_tokens: tokens,
    prompt_tokens: usage?.promptTokens ?? 0,
    completion_tokens: usage?.completionTokens ?? 0,
    start_time: call.startTime,
    end_time: new Date(),
    model: deployment.upstreamModel,
    model_id: deployment.id,
    model_group: deployment.modelName,
    custom_llm_provider: deployment.provider,
    api_base: deployment.provider === "mock" ? null : deployment.apiBase,
    user_id: context ? context.key.user_id : "default_user_id",
    team_id: context ? context.key.team_id : null,
    end_user: labels.end_user || null,
    status: failure ? "failure" : "success",
  });
}

function isIncludeUsage(options: unknown): boolean {
  const record = asRecord(options);
  return record !== null && record.include_usage === true;
}

function asRecord(value: unknown): Record<string, unknown> | null {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

/** Maps anything thrown on the request path to what the caller sees; unknown errors are logged. */
export function toGatewayError(gateway: Gateway, err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  if (err instanceof UpstreamError) {
    if (err.kind === "timeout") return new GatewayError(504, "timeout_error", `litellm.Timeout: ${err.message}`);
    if (err.kind === "status" && err.status !== null) {
      // The upstream refusing the gateway's own credentials is the operator's problem, not the caller's.
      if (err.status === 401 || err.status === 403 || err.status >= 500) {
        return new GatewayError(502, "api_error", `litellm.APIError: upstream answered ${err.status}: ${err.message}`);
      }
      const type = err.status === 429 ? "rate_limit_error" : "invalid_request_error";
      return new GatewayError(err.status, type, `litellm.BadRequestError: ${err.message}`);
    }
    return new GatewayError(502, "api_error", `litellm.APIConnectionError: ${err.message}`);
  }
  gateway.log.error({ err }, "unexpected error on an LLM route");
  return new GatewayError(500, "internal_server_error", "Internal server error. The gateway logged the details.");
}

