import type { Sql } from "../lib/db/client";
import type { Admitter } from "./admission";
import type { GatewaySettings } from "./config";
import type { Directory } from "./directory";
import type { SpendFlusher } from "./flusher";
import type { RateLimiter } from "./limits";
import type { Logger } from "./log";
import type { GatewayMetrics } from "./metrics";
import type { ModelCatalog } from "./models";
import type { Providers } from "./providers";
import type { HealthMonitor } from "./health";
import type { Router } from "./router";
import type { SpendAccount } from "./spend";
import type { Tracer } from "./tracing";

/** Everything a route handler may use, built once at start-up by main.ts. */
export interface Gateway {
  settings: GatewaySettings;
  sql: Sql;
  log: Logger;
  directory: Directory;
  limiter: RateLimiter;
  /** Budget and rate-limit admission: in this process, or shared through Redis. */
  admitter: Admitter;
  providers: Providers;
  metrics: GatewayMetrics;
  flusher: SpendFlusher;
  models: ModelCatalog;
  /** Picks deployments, retries, falls back and times out (router.ts). */
  router: Router;
  health: HealthMonitor;
  masterKeyHash: string;
  /** Spend of every key against litellm_settings.max_budget (no limit when that is unset). */
  proxyAccount: SpendAccount;
  /** Langfuse traces of LLM calls, or a no-op when Langfuse is not configured. */
  tracer: Tracer;
}
