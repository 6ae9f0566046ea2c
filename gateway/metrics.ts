import { Registry, collectDefaultMetrics } from "prom-client";
import { nanosToDollars } from "./spend";
import { ComputedGauge, CounterFamily, HistogramFamily, type CounterCell, type HistogramCell } from "./metric-families";

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

/** The series one (labels, model) pair updates, resolved once instead of per request. */
interface Series {
  succeeded: CounterCell;
  tokens: CounterCell;
  inputTokens: CounterCell;
  outputTokens: CounterCell;
  spend: CounterCell;
  llmApiLatency: HistogramCell;
  requestTotalLatency: HistogramCell;
}

/** The two counters one kind of failure adds to. */
interface FailureSeries {
  total: CounterCell;
  failed: CounterCell;
}

/** A remaining budget as the gauges read it at scrape time. */
export interface BudgetView {
  maxBudgetNanos: number | null;
  spentNanos: number;
}

export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly series = new Map<string, Series>();
  private readonly failures = new Map<string, FailureSeries>();
  private readonly watchedKeys = new Map<string, { alias: string; account: BudgetView }>();
  private readonly watchedUsers = new Map<string, BudgetView>();

  private readonly totalRequests = new CounterFamily(
    "litellm_proxy_total_requests_metric_total",
    "Total number of requests made to the proxy server",
    this.registry,
  );

  private readonly failedRequests = new CounterFamily(
    "litellm_proxy_failed_requests_metric_total",
    "Total number of failed responses from proxy - the client did not get a success response from litellm proxy",
    this.registry,
  );

  private readonly totalTokens = new CounterFamily(
    "litellm_total_tokens_metric_total",
    "Total number of input + output tokens from LLM requests",
    this.registry,
  );

  private readonly inputTokens = new CounterFamily(
    "litellm_input_tokens_metric_total",
    "Total number of input tokens from LLM requests",
    this.registry,
  );

  private readonly outputTokens = new CounterFamily(
    "litellm_output_tokens_metric_total",
    "Total number of output tokens from LLM requests",
    this.registry,
  );

  private readonly spend = new CounterFamily("litellm_spend_metric_total", "Total spend on LLM requests (US dollars)", this.registry);

  private readonly llmApiLatency = new HistogramFamily(
    "litellm_llm_api_latency_metric",
    "Total latency (seconds) for a model's LLM API call",
    latencyBuckets,
    this.registry,
  );

  private readonly requestTotalLatency = new HistogramFamily(
    "litellm_request_total_latency_metric",
    "Total latency (seconds) for a request to the proxy",
    latencyBuckets,
    this.registry,
  );

  private readonly remainingKeyBudget = new ComputedGauge(
    "litellm_remaining_api_key_budget_metric",
    "Remaining budget for api key (US dollars)",
    this.registry,
  );

  private readonly remainingUserBudget = new ComputedGauge(
    "litellm_remaining_user_budget_metric",
    "Remaining budget for user (US dollars)",
    this.registry,
  );

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "gateway_" });
  }

  private seriesOf(labels: RequestLabels, model: string): Series {
    const name = `${labels.hashed_api_key}\u0000${labels.requested_model}\u0000${model}\u0000${labels.end_user}\u0000${labels.team}\u0000${labels.user}\u0000${labels.api_key_alias}\u0000${labels.team_alias}`;
    let found = this.series.get(name);
    if (!found) {
      const ordered = requestLabelsOf(labels);
      const withModel = { ...ordered, model };
      const { requested_model: _requested, ...spendLabels } = withModel;
      found = {
        succeeded: this.totalRequests.cell({ ...ordered, status_code: "200" }),
        tokens: this.totalTokens.cell(withModel),
        inputTokens: this.inputTokens.cell(withModel),
        outputTokens: this.outputTokens.cell(withModel),
        spend: this.spend.cell(spendLabels),
        llmApiLatency: this.llmApiLatency.cell(withModel),
        requestTotalLatency: this.requestTotalLatency.cell(withModel),
      };
      this.series.set(name, found);
    }
    return found;
  }

  /** A successful request: its count, tokens, spend and latencies in one call. */
  succeeded(labels: RequestLabels, model: string, usage: MeteredUsage | null, upstreamSeconds: number, totalSeconds: number): void {
    const series = this.seriesOf(labels, model);
    series.succeeded.value += 1;
    if (usage) this.addUsage(series, usage);
    this.llmApiLatency.observe(series.llmApiLatency, upstreamSeconds);
    this.requestTotalLatency.observe(series.requestTotalLatency, totalSeconds);
  }

  requestFailed(labels: RequestLabels, statusCode: number, exceptionClass: string): void {
    const name = `${labels.hashed_api_key}\u0000${labels.requested_model}\u0000${labels.end_user}\u0000${labels.team}\u0000${labels.user}\u0000${labels.api_key_alias}\u0000${labels.team_alias}\u0000${statusCode}\u0000${exceptionClass}`;
    let found = this.failures.get(name);
    if (!found) {
      const ordered = requestLabelsOf(labels);
      const status = String(statusCode);
      found = {
        total: this.totalRequests.cell({ ...ordered, status_code: status }),
        failed: this.failedRequests.cell({ ...ordered, exception_status: status, exception_class: exceptionClass }),
      };
      this.failures.set(name, found);
    }
    found.total.value += 1;
    found.failed.value += 1;
  }

  /** Tokens and spend of a request that failed after using some (a stream cut short). */
  usage(labels: RequestLabels, model: string, usage: MeteredUsage): void {
    this.addUsage(this.seriesOf(labels, model), usage);
  }

  latency(labels: RequestLabels, model: string, upstreamSeconds: number, totalSeconds: number): void {
    const series = this.seriesOf(labels, model);
    this.llmApiLatency.observe(series.llmApiLatency, upstreamSeconds);
    this.requestTotalLatency.observe(series.requestTotalLatency, totalSeconds);
  }

  private addUsage(series: Series, usage: MeteredUsage): void {
    series.tokens.value += usage.promptTokens + usage.completionTokens;
    series.inputTokens.value += usage.promptTokens;
    series.outputTokens.value += usage.completionTokens;
    series.spend.value += usage.spendDollars;
  }

  /**
   * The remaining budgets of a key and its user, as gauges read when scraped (so they also
   * show a reset or an admin's change since the last request). Cheap on repeat calls.
   */
  watchBudgets(key: { hash: string; alias: string; account: BudgetView }, user: { id: string; account: BudgetView } | null): void {
    const known = this.watchedKeys.get(key.hash);
    if (!known || known.alias !== key.alias || known.account !== key.account) {
      // A renamed key keeps one series, under its new alias.
      if (known) this.remainingKeyBudget.remove({ hashed_api_key: key.hash, api_key_alias: known.alias });
      this.watchedKeys.set(key.hash, { alias: key.alias, account: key.account });
      this.remainingKeyBudget.watch({ hashed_api_key: key.hash, api_key_alias: key.alias }, () => remainingDollars(key.account));
    }
    if (user && this.watchedUsers.get(user.id) !== user.account) {
      this.watchedUsers.set(user.id, user.account);
      this.remainingUserBudget.watch({ user: user.id }, () => remainingDollars(user.account));
    }
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }
}

/** The request labels in one fixed order, so each series has one identity in its family. */
function requestLabelsOf(labels: RequestLabels): RequestLabels {
  return {
    end_user: labels.end_user,
    hashed_api_key: labels.hashed_api_key,
    api_key_alias: labels.api_key_alias,
    requested_model: labels.requested_model,
    team: labels.team,
    team_alias: labels.team_alias,
    user: labels.user,
  };
}

function remainingDollars(account: BudgetView): number | null {
  return account.maxBudgetNanos === null ? null : nanosToDollars(account.maxBudgetNanos - account.spentNanos);
}
