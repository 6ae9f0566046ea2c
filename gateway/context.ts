import type { Sql } from "../lib/db/client";
import type { GatewaySettings } from "./config";
import type { Directory } from "./directory";
import type { SpendFlusher } from "./flusher";
import type { RateLimiter } from "./limits";
import type { Logger } from "./log";
import type { GatewayMetrics } from "./metrics";
import type { ModelCatalog } from "./models";
import type { Providers } from "./providers";
import type { HealthMonitor } from "./health";
import type { SpendAccount } from "./spend";

/** Everything a route handler may use, built once at start-up by main.ts. */
export interface Gateway {
  settings: GatewaySettings;
  sql: Sql;
  log: Logger;
  directory: Directory;
  limiter: RateLimiter;
  providers: Providers;
  metrics: GatewayMetrics;
  flusher: SpendFlusher;
  models: ModelCatalog;
  health: HealthMonitor;
  masterKeyHash: string;
  /** Spend of every key against litellm_settings.max_budget (no limit when that is unset). */
  proxyAccount: SpendAccount;
}
