import { Cancellation, type CallerLink } from "./caller";
import type { Deployment } from "./config";
import { GatewayError } from "./errors";
import type { Logger } from "./log";
import type { Providers } from "./providers";
import {
  UpstreamError,
  type HealthResult,
  type LlmRoute,
  type Provider,
  type ProviderCall,
  type ProviderReply,
} from "./providers/types";
import type { FallbackMap, RetryPolicy, RouterSettings } from "./router-config";

/**
 * LiteLLM's router, for the parts its users rely on: several deployments behind one model name
 * (simple-shuffle, weighted; least-busy; latency-based-routing; usage- and cost-based routing,
 * which keep each deployment under its own rpm/tpm), retries within the group on transient upstream failures, timeouts
 * (`timeout` for a whole answer, `stream_timeout` for a stream's first chunk), fallbacks to other
 * groups once a group has failed, cooldowns that take a failing deployment out of the rotation,
 * and the probe call behind /health.
 *
 * Everything here happens before the caller has seen a byte: a stream is only handed over once
 * its first chunk has arrived, so a stream that fails later is never retried (its bytes are
 * already the caller's). Budgets and rate limits are checked once before and settled once after
 * by llm.ts, so retries and fallbacks cannot reserve or charge twice.
 */

export interface RouteRequest {
  /** The model group to answer from (the model name the caller asked for, after aliases). */
  group: string;
  /** The deployment the budget check priced the request with; tried first unless cooling down. */
  preferred?: Deployment;
  route: LlmRoute;
  body: Record<string, unknown>;
  stream: boolean;
  /** The caller: its leaving stops the attempt in flight and any further ones. */
  caller: CallerLink;
  /** Answer from the mock provider (a request with `mock_response`). */
  mock: boolean;
  /** How to call a provider; /v1/messages calls Anthropic natively. By default `provider.send`. */
  send?: (provider: Provider, call: ProviderCall) => Promise<ProviderReply>;
  /** The request's own `fallbacks` (LiteLLM's request field): replace the config's for this call. */
  fallbacks?: readonly string[];
  /** The request's own `num_retries`: replaces each tried group's retries for this call. */
  numRetries?: number;
}

export interface Routed {
  reply: ProviderReply;
  /** The deployment that answered: spend is charged at its price. */
  deployment: Deployment;
  /** Retries made within the group that answered. */
  retries: number;
  /** Fallback groups tried, the answering one included. */
  fallbacks: number;
}

/** How a failure affects retries, fallbacks and cooldowns. */
export type FailureClass =
  | "transient" // timeouts, connection failures, 408/409/429/5xx: retried, cool the deployment, fall back
  | "deployment" // upstream 401/403/404: this deployment is misconfigured; not retried, falls back
  | "context_window" // the prompt is too long for this model: context_window_fallbacks only
  | "content_policy" // the upstream's content filter refused: content_policy_fallbacks only
  | "unavailable" // every deployment of the group is cooling down: falls back
  | "request"; // anything else the caller's request caused (400, 422): returned as it is

export function classifyFailure(err: unknown): FailureClass {
  if (err instanceof GatewayError)
    return err.type === noDeploymentsType ? "unavailable" : "request";
  if (!(err instanceof UpstreamError)) return "request";
  if (err.kind !== "status" || err.status === null) return "transient";
  const status = err.status;
  if (status === 408 || status === 409 || status === 429 || status >= 500) return "transient";
  if (status === 401 || status === 403 || status === 404) return "deployment";
  if (
    /context.?(length|window)|maximum context|too many tokens|prompt is too long|input is too long/i.test(
      err.message,
    )
  ) {
    return "context_window";
  }
  if (/content.?(policy|filter|management)|safety system/i.test(err.message))
    return "content_policy";
  return "request";
}

const noDeploymentsType = "no_deployments_available";

/**
 * LiteLLM's `order`: of `list`, those with the lowest order, or all of it when none has one
 * (a deployment without an order is routed to only when no deployment in the list has one).
 */
export function lowestOrder(list: readonly Deployment[]): readonly Deployment[] {
  let lowest: number | undefined;
  for (const deployment of list) {
    if (deployment.order !== undefined && (lowest === undefined || deployment.order < lowest)) lowest = deployment.order;
  }
  return lowest === undefined ? list : list.filter((deployment) => deployment.order === lowest);
}

/**
 * The count `policy` (LiteLLM's RetryPolicy) gives a failure, by the exception LiteLLM maps it
 * to (a timeout, 408 or 504: Timeout; 401: AuthenticationError; 429: RateLimitError; 500:
 * InternalServerError; 400: BadRequestError), or undefined when it gives none. A content-policy
 * refusal or a too-long prompt is a kind of BadRequestError in LiteLLM, so BadRequestErrorRetries
 * counts for them when nothing more specific is set.
 */
export function policyRetries(policy: RetryPolicy | undefined, err: unknown): number | undefined {
  if (!policy || !(err instanceof UpstreamError)) return undefined;
  if (err.kind === "timeout") return policy.TimeoutErrorRetries;
  if (err.kind !== "status") return undefined;
  switch (err.status) {
    case 401:
      return policy.AuthenticationErrorRetries;
    case 408:
    case 504:
      return policy.TimeoutErrorRetries;
    case 429:
      return policy.RateLimitErrorRetries;
    case 500:
      return policy.InternalServerErrorRetries;
    case 400: {
      const specific = classifyFailure(err) === "content_policy" ? policy.ContentPolicyViolationErrorRetries : undefined;
      return specific ?? policy.BadRequestErrorRetries;
    }
    default:
      return undefined;
  }
}

/**
 * LiteLLM's simple-shuffle: a random deployment, each drawn in proportion to its weight (the
 * config's `weight`, else `rpm`, else `tpm`, else 1).
 */
export function weightedPick<T extends { weight: number }>(
  list: readonly T[],
  random: () => number = Math.random,
): T | undefined {
  if (list.length <= 1) return list[0];
  const total = list.reduce((sum, item) => sum + item.weight, 0);
  let point = random() * total;
  for (const item of list) {
    point -= item.weight;
    if (point < 0) return item;
  }
  return list[list.length - 1];
}

interface MinuteUsage {
  minute: number;
  requests: number;
  tokens: number;
  /** Counted here and not yet taken to be shared with other instances. */
  unsharedRequests: number;
  unsharedTokens: number;
}

/** Requests and tokens a deployment used in one UTC minute (`minute` = ms since the epoch / 60,000). */
export interface UsageCount {
  deploymentId: string;
  minute: number;
  requests: number;
  tokens: number;
}

/** The other instances' view of a deployment, as a shared store told it: calls in flight, answer times. */
export interface SharedLoad {
  deploymentId: string;
  /** The other instances' calls in flight to it (least-busy). */
  inFlight: number;
  /** Each other instance's moving average of its answer time, in ms (latency-based routing). */
  latenciesMs: number[];
}

interface DeploymentState {
  windowStart: number;
  fails: number;
  coolUntil: number;
}

export interface RouterOptions {
  now?: () => number;
  random?: () => number;
  /** The longest wait between two retries, in ms. */
  maxBackoffMs?: number;
  /** Told when a deployment leaves the rotation. */
  log?: Logger;
}

export class Router {
  private readonly groups = new Map<string, Deployment[]>();
  private readonly states = new Map<string, DeploymentState>();
  /** `retriesOf` per group: the groups are fixed once the router is built. */
  private readonly retries = new Map<string, number>();
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly maxBackoffMs: number;
  private readonly log: Logger | undefined;
  /** least-busy: calls in flight per deployment id (streams until their last chunk). */
  private readonly inFlight = new Map<string, number>();
  /** latency-based-routing: a moving average of each deployment's answer time, in ms. */
  private readonly latencyMs = new Map<string, number>();
  /**
   * usage- and cost-based routing: each deployment's requests and tokens in the current minute,
   * and how many of them this instance counted since it last shared them (see `takeUsage`).
   */
  private readonly usage = new Map<string, MinuteUsage>();
  /** Deployments that can cool down (those of a group with others), by id. */
  private readonly coolable = new Map<string, Deployment>();
  private readonly cooldownListeners: ((deploymentId: string, ms: number) => void)[] = [];
  /** Whether the strategy keeps deployments under their own rpm/tpm (LiteLLM: usage- and cost-based routing). */
  private readonly limitsDeployments: boolean;
  /** The deployments whose minute usage instances share (see `usageSharedDeployments`). */
  private readonly usageShared = new Set<string>();
  /** least-busy and latency-based routing: what the other instances last said of each deployment (see `adoptLoad`). */
  private readonly othersLoad = new Map<string, { inFlight: number; latencySumMs: number; latencies: number }>();

  constructor(
    deployments: readonly Deployment[],
    readonly settings: RouterSettings,
    private readonly providers: Providers,
    options: RouterOptions = {},
  ) {
    for (const deployment of deployments) {
      const list = this.groups.get(deployment.modelName) ?? [];
      list.push(deployment);
      this.groups.set(deployment.modelName, list);
    }
    for (const list of this.groups.values()) {
      if (list.length > 1) for (const deployment of list) this.coolable.set(deployment.id, deployment);
    }
    const { strategy } = settings;
    this.limitsDeployments = strategy === "usage-based-routing-v2" || strategy === "usage-based-routing" || strategy === "cost-based-routing";
    if (this.limitsDeployments) {
      // A group's only deployment is never chosen between (nor kept under its limits).
      for (const deployment of this.coolable.values()) {
        const limited = deployment.rpmLimit !== undefined || deployment.tpmLimit !== undefined;
        if (strategy !== "cost-based-routing" || limited) this.usageShared.add(deployment.id);
      }
    }
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.maxBackoffMs = options.maxBackoffMs ?? 8_000;
    this.log = options.log;
  }

  /** A deployment of `group` for a new request: shuffled by weight, cooling ones left out while others remain. */
  pick(group: string): Deployment | undefined {
    const all = this.groups.get(group) ?? [];
    // A group's only deployment never cools down: nothing to shuffle.
    if (all.length === 1) return all[0];
    const ready = all.filter((deployment) => this.isAvailable(deployment));
    return this.select(lowestOrder(ready.length > 0 ? ready : all));
  }

  /**
   * The routing strategy's choice among `candidates`: simple-shuffle draws by weight; least-busy
   * takes the one with the fewest calls in flight, latency-based-routing the fastest so far (one
   * without an answer yet counts as fastest, so each is measured), both shuffling by weight
   * among equals (or, for latency, among those within `lowest_latency_buffer` of the fastest).
   */
  private select(candidates: readonly Deployment[]): Deployment | undefined {
    const { strategy } = this.settings;
    if (strategy === "simple-shuffle" || candidates.length <= 1) return weightedPick(candidates, this.random);
    const now = this.now();
    const score =
      strategy === "least-busy"
        ? (deployment: Deployment) => (this.inFlight.get(deployment.id) ?? 0) + (this.othersLoad.get(deployment.id)?.inFlight ?? 0)
        : strategy === "latency-based-routing"
          ? (deployment: Deployment) => this.latencyOf(deployment.id) ?? 0
          : strategy === "cost-based-routing"
            ? (deployment: Deployment) => deployment.inputCostPerToken + deployment.outputCostPerToken
            : (deployment: Deployment) => this.minuteUsage(deployment, now).tokens;
    const best = Math.min(...candidates.map(score));
    const limit = strategy === "latency-based-routing" ? best * (1 + this.settings.lowestLatencyBuffer) : best;
    return weightedPick(
      candidates.filter((deployment) => score(deployment) <= limit),
      this.random,
    );
  }

  /** Counts a call to `deployment` as in flight until the returned function is called (once). */
  private track(deployment: Deployment): () => void {
    if (this.settings.strategy !== "least-busy") return nothing;
    this.inFlight.set(deployment.id, (this.inFlight.get(deployment.id) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.inFlight.set(deployment.id, (this.inFlight.get(deployment.id) ?? 1) - 1);
    };
  }

  /** The deployment's requests and tokens in the current UTC minute (LiteLLM's window for these strategies). */
  private minuteUsage(deployment: Deployment, now: number): MinuteUsage {
    return this.usageOf(deployment.id, Math.floor(now / 60_000));
  }

  private usageOf(deploymentId: string, minute: number): MinuteUsage {
    let usage = this.usage.get(deploymentId);
    if (!usage || usage.minute !== minute) {
      usage = { minute, requests: 0, tokens: 0, unsharedRequests: 0, unsharedTokens: 0 };
      this.usage.set(deploymentId, usage);
    }
    return usage;
  }

  private countUsage(deployment: Deployment, requests: number, tokens: number): void {
    if (!this.limitsDeployments) return;
    const usage = this.minuteUsage(deployment, this.now());
    usage.requests += requests;
    usage.tokens += tokens;
    usage.unsharedRequests += requests;
    usage.unsharedTokens += tokens;
  }

  /**
   * The deployments whose minute usage decides where requests go, which instances share so they
   * choose, and keep each deployment under its rpm/tpm, together: under usage-based routing every
   * deployment of a group with others (the fewest tokens wins), under cost-based routing those
   * with an rpm or tpm. Empty under any other strategy.
   */
  get usageSharedDeployments(): readonly string[] {
    return [...this.usageShared];
  }

  /**
   * The requests and tokens counted here this minute since the last call, per deployment; they
   * are forgotten here as unshared. A minute that has ended is not reported: its count no longer
   * matters. `giveBackUsage` returns them when they could not be shared.
   */
  takeUsage(): UsageCount[] {
    const minute = Math.floor(this.now() / 60_000);
    const taken: UsageCount[] = [];
    for (const [deploymentId, usage] of this.usage) {
      if (usage.minute !== minute || (usage.unsharedRequests === 0 && usage.unsharedTokens === 0)) continue;
      taken.push({ deploymentId, minute, requests: usage.unsharedRequests, tokens: usage.unsharedTokens });
      usage.unsharedRequests = 0;
      usage.unsharedTokens = 0;
    }
    return taken;
  }

  giveBackUsage(counts: readonly UsageCount[]): void {
    for (const count of counts) {
      const usage = this.usage.get(count.deploymentId);
      if (!usage || usage.minute !== count.minute) continue;
      usage.unsharedRequests += count.requests;
      usage.unsharedTokens += count.tokens;
    }
  }

  /**
   * Every instance's requests and tokens for a deployment in `minute`, as a shared store counted
   * them: this instance's view becomes that total plus what it counted since it took its own
   * counts to share. Other deployments' ids, and ended minutes, are ignored.
   */
  adoptUsage(total: UsageCount): void {
    if (!this.usageShared.has(total.deploymentId)) return;
    if (total.minute !== Math.floor(this.now() / 60_000)) return;
    const usage = this.usageOf(total.deploymentId, total.minute);
    usage.requests = total.requests + usage.unsharedRequests;
    usage.tokens = total.tokens + usage.unsharedTokens;
  }

  /** False once the deployment has used its `rpm` or `tpm` this minute, under the strategies that keep to them. */
  private underLimits(deployment: Deployment, now: number): boolean {
    if (!this.limitsDeployments || (deployment.rpmLimit === undefined && deployment.tpmLimit === undefined)) return true;
    const usage = this.minuteUsage(deployment, now);
    return (
      (deployment.rpmLimit === undefined || usage.requests < deployment.rpmLimit) &&
      (deployment.tpmLimit === undefined || usage.tokens < deployment.tpmLimit)
    );
  }

  private isAvailable(deployment: Deployment): boolean {
    return !this.isCooling(deployment) && this.underLimits(deployment, this.now());
  }

  /**
   * Counts the tokens of an answer from `deployment` against its minute (usage- and cost-based
   * routing); llm.ts calls it once the request is settled, streams included.
   */
  recordTokens(deployment: Deployment, tokens: number): void {
    this.countUsage(deployment, 0, tokens);
  }

  /**
   * A deployment's answer time as latency-based routing judges it: the mean of every instance's
   * moving average, this one's included (each instance counts once), or undefined while no
   * instance has had an answer from it.
   */
  private latencyOf(deploymentId: string): number | undefined {
    const own = this.latencyMs.get(deploymentId);
    const others = this.othersLoad.get(deploymentId);
    const sum = (own ?? 0) + (others?.latencySumMs ?? 0);
    const count = (own === undefined ? 0 : 1) + (others?.latencies ?? 0);
    return count === 0 ? undefined : sum / count;
  }

  /**
   * The deployments whose load instances share so they choose by the same figures: under
   * least-busy and latency-based routing, every deployment of a group with others. Empty under
   * any other strategy.
   */
  get loadSharedDeployments(): readonly string[] {
    const { strategy } = this.settings;
    return strategy === "least-busy" || strategy === "latency-based-routing" ? [...this.coolable.keys()] : [];
  }

  /** This instance's own calls in flight to a deployment and its moving average of answer times. */
  ownLoad(deploymentId: string): { inFlight: number; latencyMs: number | undefined } {
    return { inFlight: this.inFlight.get(deploymentId) ?? 0, latencyMs: this.latencyMs.get(deploymentId) };
  }

  /**
   * What the other instances said of a deployment: least-busy adds their calls in flight to this
   * instance's, latency-based routing averages their answer times with its own. It replaces what
   * they said before; an empty report (no other instance) clears it.
   */
  adoptLoad(load: SharedLoad): void {
    if (!this.coolable.has(load.deploymentId)) return;
    const latencies = load.latenciesMs.filter((value) => Number.isFinite(value) && value >= 0);
    this.othersLoad.set(load.deploymentId, {
      inFlight: Math.max(0, load.inFlight),
      latencySumMs: latencies.reduce((sum, value) => sum + value, 0),
      latencies: latencies.length,
    });
  }

  /** Adds an answer time to the deployment's moving average (latency-based-routing only). */
  private recordLatency(deployment: Deployment, ms: number): void {
    if (this.settings.strategy !== "latency-based-routing") return;
    const previous = this.latencyMs.get(deployment.id);
    this.latencyMs.set(deployment.id, previous === undefined ? ms : previous * 0.8 + ms * 0.2);
  }

  /** Calls `listener` whenever a deployment leaves the rotation here, with how long for. */
  onCooldown(listener: (deploymentId: string, ms: number) => void): void {
    this.cooldownListeners.push(listener);
  }

  /**
   * A cooldown another instance started (LiteLLM shares cooldowns through Redis too): the
   * deployment leaves the rotation here as well for `ms`, so every instance does not have to
   * see it fail on its own first. Ids this config does not have, or whose group has no other
   * deployment, are ignored.
   */
  coolDown(deploymentId: string, ms: number): void {
    const deployment = this.coolable.get(deploymentId);
    if (!deployment) return;
    const longest = Math.min(ms, deployment.cooldownMs ?? this.settings.cooldownMs);
    if (!(longest > 0)) return;
    const now = this.now();
    const until = now + longest;
    const state = this.states.get(deploymentId);
    if (state && state.coolUntil >= until) return;
    this.states.set(deploymentId, { windowStart: now, fails: 0, coolUntil: until });
    this.log?.info(
      { model_group: deployment.modelName, model_id: deployment.id, cooldown_seconds: Math.round((until - now) / 1000) },
      "deployment cooling down: another gateway instance saw it fail",
    );
  }

  /** Deployments of `group` out of the rotation right now, for logs and tests. */
  cooling(group: string): string[] {
    return (this.groups.get(group) ?? [])
      .filter((deployment) => this.isCooling(deployment))
      .map((deployment) => deployment.id);
  }

  /**
   * Answers `request` from its group, retrying and falling back as configured. Throws the
   * primary group's last failure when nothing answered.
   */
  async send(request: RouteRequest): Promise<Routed> {
    const primary = await this.tryGroup(request.group, request, request.preferred);
    if (primary.ok) return primary.routed;
    const targets = (
      request.fallbacks === undefined || classifyFailure(primary.error) === "request"
        ? this.fallbacksFor(request.group, primary.error)
        : request.fallbacks.filter((target) => target !== request.group)
    ).slice(0, this.settings.maxFallbacks);
    let tried = 0;
    for (const target of targets) {
      if (request.caller.gone) break;
      tried += 1;
      const outcome = await this.tryGroup(target, request, undefined);
      if (outcome.ok) {
        outcome.routed.fallbacks = tried;
        return outcome.routed;
      }
    }
    throw primary.error;
  }

  /** Which groups to fall back to after `group` failed with `error`, in order. */
  fallbacksFor(group: string, error: unknown): readonly string[] {
    const from = (map: FallbackMap) =>
      map.get(group) ?? map.get("*")?.filter((target) => target !== group) ?? [];
    switch (classifyFailure(error)) {
      case "context_window":
        return from(this.settings.contextWindowFallbacks);
      case "content_policy":
        return from(this.settings.contentPolicyFallbacks);
      case "request":
        // The caller's own mistake (LiteLLM: a 400 is not fallen back on); another model would refuse too.
        return [];
      default:
        return from(this.settings.fallbacks);
    }
  }

  /** Retries of `group`: the largest `num_retries` its deployments set, else the global one. */
  retriesOf(group: string): number {
    let retries = this.retries.get(group);
    if (retries === undefined) {
      const own = (this.groups.get(group) ?? []).flatMap((deployment) =>
        deployment.numRetries === undefined ? [] : [deployment.numRetries],
      );
      retries = own.length > 0 ? Math.max(...own) : this.settings.numRetries;
      this.retries.set(group, retries);
    }
    return retries;
  }

  private async tryGroup(
    group: string,
    request: RouteRequest,
    preferred: Deployment | undefined,
  ): Promise<{ ok: true; routed: Routed } | { ok: false; error: unknown }> {
    const all = this.groups.get(group) ?? [];
    const retries = request.numRetries ?? this.retriesOf(group);
    const tried = new Set<string>();
    let lastError: unknown = undefined;
    // Ends with an answer, with no deployment left, or when a failure has used its retries.
    for (let attempt = 0; ; attempt += 1) {
      const deployment = this.choose(all, tried, attempt === 0 ? preferred : undefined);
      if (!deployment) {
        lastError ??= this.noDeployments(group, all);
        break;
      }
      tried.add(deployment.id);
      try {
        const reply = await this.attempt(deployment, request);
        // Built whole, not spread into another object with `fallbacks` added: on every request
        // that spread took V8's slow path for defining a property and left the caller's reads
        // of the result missing their inline caches (perf at one connection).
        return { ok: true, routed: { reply, deployment, retries: attempt, fallbacks: 0 } };
      } catch (err) {
        if (request.caller.gone) throw err;
        lastError = err;
        const failure = classifyFailure(err);
        this.failed(deployment, err, failure, all.length);
        // A retry policy's count for this kind of failure replaces the retries, and retries it
        // even when it is not retried otherwise.
        const byPolicy = policyRetries(this.settings.groupRetryPolicies.get(group) ?? this.settings.retryPolicy, err);
        if (byPolicy === undefined ? failure !== "transient" || attempt >= retries : attempt >= byPolicy) break;
        const untried = all.some((other) => !tried.has(other.id) && this.isAvailable(other));
        const wait = untried ? 0 : this.backoffMs(attempt, err);
        if (wait > 0) {
          await pause(wait, request.caller);
          if (request.caller.gone) throw err;
        }
      }
    }
    return { ok: false, error: lastError };
  }

  /** The next deployment to try: the preferred one, else an untried one, else any, skipping cooling ones. */
  private choose(
    all: readonly Deployment[],
    tried: ReadonlySet<string>,
    preferred: Deployment | undefined,
  ): Deployment | undefined {
    if (preferred && this.isAvailable(preferred)) return preferred;
    // A retry stays among the available deployments of the lowest order, as LiteLLM's does: a
    // higher order is tried only once those of the lower are cooling or past their rpm/tpm.
    const ready = lowestOrder(all.filter((deployment) => this.isAvailable(deployment)));
    const untried = ready.filter((deployment) => !tried.has(deployment.id));
    return this.select(untried.length > 0 ? untried : ready);
  }

  /**
   * LiteLLM's backoff when no other deployment is left to try: the upstream's retry-after when
   * it sent a short one, else 0.5 s doubling per retry, with jitter; never under `retry_after`.
   */
  private backoffMs(attempt: number, err: unknown): number {
    const hinted = err instanceof UpstreamError ? err.retryAfterSeconds : null;
    const base =
      hinted !== null && hinted > 0 && hinted <= 60
        ? hinted * 1000
        : 500 * 2 ** attempt * (0.75 + this.random() * 0.25);
    return Math.min(Math.max(base, this.settings.retryAfterMs), this.maxBackoffMs);
  }

  private noDeployments(group: string, all: readonly Deployment[]): GatewayError {
    // When the first of them is back: at the end of its cooldown, and of the minute it used its rpm/tpm in.
    const now = this.now();
    const nextMinute = (Math.floor(now / 60_000) + 1) * 60_000;
    const until = Math.min(
      ...all.map((deployment) =>
        Math.max(this.states.get(deployment.id)?.coolUntil ?? 0, this.underLimits(deployment, now) ? 0 : nextMinute),
      ),
    );
    const seconds = Math.max(1, Math.ceil((until - now) / 1000));
    return new GatewayError(
      429,
      noDeploymentsType,
      `No deployments available for selected model, Try again in ${seconds} seconds. Passed model=${group}.`,
      "model",
      { "retry-after": String(seconds) },
    );
  }

  private isCooling(deployment: Deployment): boolean {
    const state = this.states.get(deployment.id);
    return state !== undefined && state.coolUntil > this.now();
  }

  /**
   * Counts a failure against the deployment: a 429 takes it out of the rotation at once, other
   * failures once more than `allowed_fails` happened within a minute. The only deployment of a
   * group never cools down (LiteLLM too): there would be nothing left to answer.
   */
  private failed(
    deployment: Deployment,
    err: unknown,
    failure: FailureClass,
    groupSize: number,
  ): void {
    if (failure !== "transient" && failure !== "deployment") return;
    if (groupSize <= 1) return;
    const now = this.now();
    let state = this.states.get(deployment.id);
    if (!state || now - state.windowStart >= 60_000) {
      state = { windowStart: now, fails: 0, coolUntil: state?.coolUntil ?? 0 };
      this.states.set(deployment.id, state);
    }
    state.fails += 1;
    const rateLimited = err instanceof UpstreamError && err.status === 429;
    const cooldownMs = deployment.cooldownMs ?? this.settings.cooldownMs;
    if (cooldownMs > 0 && (rateLimited || state.fails > this.settings.allowedFails)) {
      state.coolUntil = now + cooldownMs;
      state.fails = 0;
      state.windowStart = now;
      this.log?.warn(
        {
          model_group: deployment.modelName,
          model_id: deployment.id,
          cooldown_seconds: cooldownMs / 1000,
          reason: err instanceof Error ? redact(err.message, deployment.apiKey) : "failure",
        },
        "deployment cooling down",
      );
      for (const listener of this.cooldownListeners) listener(deployment.id, cooldownMs);
    }
  }

  /** The provider that speaks to `deployment`'s upstream. */
  providerOf(deployment: Deployment): Provider {
    return this.providers[deployment.provider];
  }

  /**
   * One call to one deployment, bounded in time: `timeout` for a complete answer; for a stream,
   * `stream_timeout` until its first chunk, then `timeout` for each gap between chunks.
   */
  private async attempt(deployment: Deployment, request: RouteRequest): Promise<ProviderReply> {
    const provider = request.mock ? this.providers.mock : this.providers[deployment.provider];
    const limitMs = request.stream ? deployment.streamTimeoutMs : deployment.timeoutMs;
    // One cancellation for the upstream call, by the caller leaving or by our clock.
    const upstream = new Cancellation();
    const unfollow = request.caller.onGone(() => upstream.abort());
    let timedOut = false;
    const clock = setTimeout(() => {
      timedOut = true;
      upstream.abort();
    }, limitMs);
    // Unref'd, Node keeps the list of timers of this duration when the last one is cleared (a
    // ref'd one's list is deleted and made again by the next request: ~1.4% of the gateway's CPU
    // at one connection, in perf). The listener and the call's socket keep the process alive.
    clock.unref();
    let handedOver = false;
    const started = performance.now();
    const finished = this.track(deployment);
    this.countUsage(deployment, 1, 0);
    try {
      const call = {
        deployment,
        route: request.route,
        body: request.body,
        stream: request.stream,
        cancel: upstream,
      };
      const reply = await (request.send ? request.send(provider, call) : provider.send(call));
      if (reply.type === "json") {
        this.recordLatency(deployment, performance.now() - started);
        return reply;
      }
      const iterator = reply.events[Symbol.asyncIterator]();
      const first = await iterator.next();
      clearTimeout(clock);
      // A stream's latency is its time to the first chunk, as LiteLLM measures it.
      this.recordLatency(deployment, performance.now() - started);
      handedOver = true;
      return {
        type: "stream",
        events: continueStream(first, iterator, deployment, upstream, request.caller, () => {
          unfollow();
          finished();
        }),
      };
    } catch (err) {
      // Whatever failed, nothing more is read from this attempt: release its connection.
      upstream.abort();
      if (timedOut && !request.caller.gone) {
        throw new UpstreamError(
          "timeout",
          `upstream of model ${deployment.modelName} did not ${request.stream ? "start streaming" : "answer"} within ${limitMs} ms`,
        );
      }
      throw err;
    } finally {
      clearTimeout(clock);
      if (!handedOver) {
        unfollow();
        finished();
      }
    }
  }

  /**
   * The deployment's health, from its provider's own probe (a real call: a one-token chat for
   * OpenAI-compatible servers and Bedrock, `/api/tags` for Ollama), bounded by `timeoutMs` and
   * with the deployment's API key removed from any error text.
   */
  async probe(deployment: Deployment, timeoutMs: number): Promise<HealthResult> {
    const limitMs = Math.min(deployment.timeoutMs, timeoutMs);
    const limited = { ...deployment, timeoutMs: limitMs };
    let clock: NodeJS.Timeout | undefined;
    const late = new Promise<HealthResult>((resolve) => {
      clock = setTimeout(
        () => resolve({ healthy: false, error: `no answer within ${limitMs} ms` }),
        limitMs + 1_000,
      );
    });
    try {
      const result = await Promise.race([
        this.providers[deployment.provider].checkHealth(limited),
        late,
      ]);
      return result.error === undefined
        ? result
        : { ...result, error: redact(result.error, deployment.apiKey) };
    } catch (err) {
      return {
        healthy: false,
        error: redact(err instanceof Error ? err.message : String(err), deployment.apiKey),
      };
    } finally {
      clearTimeout(clock);
    }
  }
}

/**
 * The rest of a stream whose first chunk has arrived. Each wait for the upstream's next chunk is
 * bounded by the deployment's timeout (time spent waiting for the caller to read does not
 * count); one timer per stream, re-armed lazily, rather than one per chunk.
 */
async function* continueStream(
  first: IteratorResult<Uint8Array>,
  iterator: AsyncIterator<Uint8Array>,
  deployment: Deployment,
  upstream: Cancellation,
  caller: CallerLink,
  /** Called once when the stream ends, however it ends. */
  ended: () => void,
): AsyncIterable<Uint8Array> {
  let finished = first.done === true;
  let waitingSince: number | null = null;
  let timedOut = false;
  let clock: NodeJS.Timeout | undefined;
  const check = () => {
    const waited = waitingSince === null ? 0 : performance.now() - waitingSince;
    if (waited >= deployment.timeoutMs) {
      timedOut = true;
      upstream.abort();
      return;
    }
    clock = setTimeout(check, deployment.timeoutMs - waited);
  };
  try {
    if (finished) return;
    yield first.value;
    clock = setTimeout(check, deployment.timeoutMs);
    for (;;) {
      waitingSince = performance.now();
      let next: IteratorResult<Uint8Array>;
      try {
        next = await iterator.next();
      } catch (err) {
        if (timedOut && !caller.gone) {
          throw new UpstreamError(
            "timeout",
            `upstream of model ${deployment.modelName} sent nothing for ${deployment.timeoutMs} ms`,
          );
        }
        throw err;
      }
      waitingSince = null;
      if (next.done) {
        finished = true;
        return;
      }
      yield next.value;
    }
  } finally {
    clearTimeout(clock);
    ended();
    // The caller stopped reading early: let the upstream go.
    if (!finished) await iterator.return?.().catch(() => undefined);
  }
}

const nothing = () => {};

/** Removes a secret from text that is about to be shown or logged (an upstream may echo it). */
export function redact(text: string, secret: string | undefined): string {
  if (!secret || secret.length < 4) return text;
  return text.split(secret).join("[redacted]");
}

/** Waits `ms`, or less if the caller leaves first. */
function pause(ms: number, caller: CallerLink): Promise<void> {
  return new Promise((resolve) => {
    const stop = caller.onGone(() => {
      clearTimeout(clock);
      resolve();
    });
    const clock = setTimeout(() => {
      stop();
      resolve();
    }, ms);
  });
}
