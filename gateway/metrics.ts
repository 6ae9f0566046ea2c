import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/**
 * Prometheus metrics under LiteLLM's names and labels, so dashboards built for a LiteLLM proxy
 * work unchanged. Counters carry the `_total` suffix in their name because that is what
 * LiteLLM's Python client exposes. Keys appear only as their SHA-256 hash, never the secret.
 */

// LiteLLM's latency buckets, in seconds.
const latencyBuckets = [
  0.005, 0.00625, 0.0125, 0.025, 0.05, 0.1, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5, 7, 7.5, 8, 8.5, 9,
  9.5, 10, 15, 20, 25, 30, 60, 120, 180, 240, 300,
];

const requestLabels = ["end_user", "hashed_api_key", "api_key_alias", "requested_model", "team", "team_alias", "user"] as const;

export interface RequestLabels {
  hashed_api_key: string;
  api_key_alias: string;
  requested_model: string;
  team: string;
  team_alias: string;
  user: string;
  end_user: string;
}

/** Tokens and cost of one request, as the spend log records them. */
export interface MeteredUsage {
  promptTokens: number;
  completionTokens: number;
  spendDollars: number;
}

/** The labelled series of one (key, model) pair, resolved once instead of hashing labels per request. */
interface Series {
  succeeded: ReturnType<Counter["labels"]>;
  tokens: ReturnType<Counter["labels"]>;
  inputTokens: ReturnType<Counter["labels"]>;
  outputTokens: ReturnType<Counter["labels"]>;
  spend: ReturnType<Counter["labels"]>;
  llmApiLatency: ReturnType<Histogram["labels"]>;
  requestTotalLatency: ReturnType<Histogram["labels"]>;
}

// Past this many cached series the cache starts over, so a flood of distinct labels stays bounded.
const maxCachedSeries = 10_000;

export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly series = new Map<string, Series>();

  private readonly totalRequests = new Counter({
    name: "litellm_proxy_total_requests_metric_total",
    help: "Total number of requests made to the proxy server",
    labelNames: [...requestLabels, "status_code"],
    registers: [this.registry],
  });

  private readonly failedRequests = new Counter({
    name: "litellm_proxy_failed_requests_metric_total",
    help: "Total number of failed responses from proxy - the client did not get a success response from litellm proxy",
    labelNames: [...requestLabels, "exception_status", "exception_class"],
    registers: [this.registry],
  });

  private readonly totalTokens = new Counter({
    name: "litellm_total_tokens_metric_total",
    help: "Total number of input + output tokens from LLM requests",
    labelNames: [...requestLabels, "model"],
    registers: [this.registry],
  });

  private readonly inputTokens = new Counter({
    name: "litellm_input_tokens_metric_total",
    help: "Total number of input tokens from LLM requests",
    labelNames: [...requestLabels, "model"],
    registers: [this.registry],
  });

  private readonly outputTokens = new Counter({
    name: "litellm_output_tokens_metric_total",
    help: "Total number of output tokens from LLM requests",
    labelNames: [...requestLabels, "model"],
    registers: [this.registry],
  });

  private readonly spend = new Counter({
    name: "litellm_spend_metric_total",
    help: "Total spend on LLM requests (US dollars)",
    labelNames: ["end_user", "hashed_api_key", "api_key_alias", "model", "team", "team_alias", "user"],
    registers: [this.registry],
  });

  private readonly llmApiLatency = new Histogram({
    name: "litellm_llm_api_latency_metric",
    help: "Total latency (seconds) for a model's LLM API call",
    labelNames: [...requestLabels, "model"],
    buckets: latencyBuckets,
    registers: [this.registry],
  });

  private readonly requestTotalLatency = new Histogram({
    name: "litellm_request_total_latency_metric",
    help: "Total latency (seconds) for a request to the proxy",
    labelNames: [...requestLabels, "model"],
    buckets: latencyBuckets,
    registers: [this.registry],
  });

  private readonly remainingKeyBudget = new Gauge({
    name: "litellm_remaining_api_key_budget_metric",
    help: "Remaining budget for api key (US dollars)",
    labelNames: ["hashed_api_key", "api_key_alias"],
    registers: [this.registry],
  });

  private readonly remainingUserBudget = new Gauge({
    name: "litellm_remaining_user_budget_metric",
    help: "Remaining budget for user (US dollars)",
    labelNames: ["user"],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "gateway_" });
  }

  private seriesOf(labels: RequestLabels, model: string): Series {
    const name = `${labels.hashed_api_key}\u0000${labels.requested_model}\u0000${model}\u0000${labels.end_user}\u0000${labels.team}\u0000${labels.user}\u0000${labels.api_key_alias}\u0000${labels.team_alias}`;
    let found = this.series.get(name);
    if (!found) {
      if (this.series.size >= maxCachedSeries) this.series.clear();
      const { requested_model: _requested, ...spendLabels } = labels;
      found = {
        succeeded: this.totalRequests.labels({ ...labels, status_code: "200" }),
        tokens: this.totalTokens.labels({ ...labels, model }),
        inputTokens: this.inputTokens.labels({ ...labels, model }),
        outputTokens: this.outputTokens.labels({ ...labels, model }),
        spend: this.spend.labels({ ...spendLabels, model }),
        llmApiLatency: this.llmApiLatency.labels({ ...labels, model }),
        requestTotalLatency: this.requestTotalLatency.labels({ ...labels, model }),
      };
      this.series.set(name, found);
    }
    return found;
  }

  /** A successful request: its count, tokens, spend and latencies in one call. */
  succeeded(labels: RequestLabels, model: string, usage: MeteredUsage | null, upstreamSeconds: number, totalSeconds: number): void {
    const series = this.seriesOf(labels, model);
    series.succeeded.inc();
    if (usage) {
      series.tokens.inc(usage.promptTokens + usage.completionTokens);
      series.inputTokens.inc(usage.promptTokens);
      series.outputTokens.inc(usage.completionTokens);
      series.spend.inc(usage.spendDollars);
    }
    series.llmApiLatency.observe(upstreamSeconds);
    series.requestTotalLatency.observe(totalSeconds);
  }

  requestFailed(labels: RequestLabels, statusCode: number, exceptionClass: string): void {
    this.totalRequests.inc({ ...labels, status_code: String(statusCode) });
    this.failedRequests.inc({ ...labels, exception_status: String(statusCode), exception_class: exceptionClass });
  }

  usage(labels: RequestLabels, model: string, usage: MeteredUsage): void {
    const series = this.seriesOf(labels, model);
    series.tokens.inc(usage.promptTokens + usage.completionTokens);
    series.inputTokens.inc(usage.promptTokens);
    series.outputTokens.inc(usage.completionTokens);
    series.spend.inc(usage.spendDollars);
  }

  latency(labels: RequestLabels, model: string, upstreamSeconds: number, totalSeconds: number): void {
    this.llmApiLatency.observe({ ...labels, model }, upstreamSeconds);
    this.requestTotalLatency.observe({ ...labels, model }, totalSeconds);
  }

  remainingBudgets(key: { hash: string; alias: string; remaining: number | null }, user: { id: string; remaining: number | null } | null): void {
    if (key.remaining !== null) {
      this.remainingKeyBudget.set({ hashed_api_key: key.hash, api_key_alias: key.alias }, key.remaining);
    }
    if (user && user.remaining !== null) this.remainingUserBudget.set({ user: user.id }, user.remaining);
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }
}
