import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Sql } from "../db/client";

/**
 * The app's and the worker's Prometheus metrics (prom-client). One registry per process, kept on
 * globalThis: Next.js reloads modules in development, and a second registry would register
 * every metric twice. Labels never carry emails, user ids or keys: only bounded values.
 */

export type SyncPushOutcome = "synced" | "retry" | "failed";
export type WebhookResult = "credited" | "refunded" | "no_change" | "ignored" | "needs_review" | "rejected" | "error";
export type BreakerStateName = "closed" | "half-open" | "open";

/** Breaker states as numbers, so one series can be graphed and alerted on (`> 0`). */
export const breakerStateValue: Record<BreakerStateName, number> = { closed: 0, "half-open": 1, open: 2 };

const secondsBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const syncStatuses = ["pending", "synced", "failed"] as const;

function createAppMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "creditgate_" });
  const state: { breaker: (() => BreakerStateName) | null } = { breaker: null };
  return {
    registry,
    state,
    syncRows: new Gauge({
      name: "creditgate_sync_rows",
      help: "Rows waiting for, or confirmed by, the gateway, by kind (key, user budget) and sync status; read from the database at scrape time",
      labelNames: ["kind", "status"],
      registers: [registry],
    }),
    syncPush: new Counter({
      name: "creditgate_sync_push_total",
      help: "Pushes of key and budget changes to the gateway by this process, by outcome (synced, retry, failed)",
      labelNames: ["kind", "outcome"],
      registers: [registry],
    }),
    syncPushDuration: new Histogram({
      name: "creditgate_sync_push_duration_seconds",
      help: "How long one push to the gateway took, including its database writes",
      labelNames: ["kind", "outcome"],
      buckets: secondsBuckets,
      registers: [registry],
    }),
    breakerState: new Gauge({
      name: "creditgate_breaker_state",
      help: "This process's circuit breaker around the gateway: 0 closed, 1 half-open, 2 open (pushes fail fast)",
      registers: [registry],
      collect() {
        if (state.breaker) this.set(breakerStateValue[state.breaker()]);
      },
    }),
    webhookEvents: new Counter({
      name: "creditgate_webhook_events_total",
      help: "Paystack webhook deliveries by result",
      labelNames: ["result"],
      registers: [registry],
    }),
    paymentsCredited: new Counter({
      name: "creditgate_payments_credited_minor_total",
      help: "Amounts of payments turned into credits, in the currency's minor unit (kobo, cents), by currency",
      labelNames: ["currency"],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: "creditgate_http_request_duration_seconds",
      help: "Duration of the app's API requests by route pattern, method and status",
      labelNames: ["route", "method", "status"],
      buckets: secondsBuckets,
      registers: [registry],
    }),
  };
}

type AppMetrics = ReturnType<typeof createAppMetrics>;
const globalKey = Symbol.for("creditgate.metrics");
const holder = globalThis as typeof globalThis & { [globalKey]?: AppMetrics };

export function appMetrics(): AppMetrics {
  holder[globalKey] ??= createAppMetrics();
  return holder[globalKey];
}

export function recordSyncPush(kind: "key" | "user", outcome: SyncPushOutcome, seconds: number): void {
  const metrics = appMetrics();
  metrics.syncPush.inc({ kind, outcome });
  metrics.syncPushDuration.observe({ kind, outcome }, seconds);
}

export function recordWebhook(result: WebhookResult): void {
  appMetrics().webhookEvents.inc({ result });
}

/** A webhook's logged outcome sentence, reduced to a bounded label. */
export function webhookResultOf(outcome: { outcome: string; needsReview: boolean }): WebhookResult {
  if (outcome.needsReview || outcome.outcome.startsWith("needs review")) return "needs_review";
  if (outcome.outcome.startsWith("credited ")) return "credited";
  if (outcome.outcome.startsWith("took back ")) return "refunded";
  if (outcome.outcome.startsWith("ignored ")) return "ignored";
  return "no_change";
}

export function recordPaymentCredited(currency: string, amountMinor: number): void {
  appMetrics().paymentsCredited.inc({ currency }, amountMinor);
}

export function recordHttpRequest(route: string, method: string, status: number, seconds: number): void {
  appMetrics().httpDuration.observe({ route, method, status: String(status) }, seconds);
}

/** The breaker whose state this process reports (the app's, or the worker's). */
export function reportBreaker(state: () => BreakerStateName): void {
  appMetrics().state.breaker = state;
}

/**
 * Sets the sync-row gauge from the database: two grouped counts over tables of one row per key
 * and per user, cheap enough for every scrape. Only the app does this, so a sum over the app and the
 * worker does not count rows twice.
 */
export async function collectSyncRows(sql: Sql): Promise<void> {
  const rows = await sql<{ kind: string; status: string; n: number }[]>`
    select 'key' as kind, sync_status as status, count(*)::int as n
      from public.virtual_keys where not is_placeholder group by sync_status
    union all
    select 'user', sync_status, count(*)::int from public.gateway_users group by sync_status`;
  const gauge = appMetrics().syncRows;
  gauge.reset();
  for (const kind of ["key", "user"]) for (const status of syncStatuses) gauge.set({ kind, status }, 0);
  for (const row of rows) gauge.set({ kind: row.kind, status: row.status }, row.n);
}

export const metricsContentType = "text/plain; version=0.0.4; charset=utf-8";

/** The registry as Prometheus text; with `sql`, the database-derived gauges are refreshed first. */
export async function renderMetrics(sources: { sql?: Sql } = {}): Promise<string> {
  if (sources.sql) await collectSyncRows(sources.sql);
  return appMetrics().registry.metrics();
}
