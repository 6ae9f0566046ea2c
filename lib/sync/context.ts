import type { Logger } from "pino";
import type { Sql } from "../db/client";
import { createLiteLLMClient, type LiteLLMClient } from "../litellm/client";
import { createGatewayBreaker, defaultBreakerOptions, type BreakerOptions, type GatewayBreaker } from "./breaker";
import type { SyncContext } from "./push";

export interface SyncSettings {
  sql: Sql;
  log: Logger;
  litellmBaseUrl: string;
  litellmMasterKey: string;
  keyEncryptionSecret: string;
  requestTimeoutMs?: number;
  leaseSeconds?: number;
  breaker?: BreakerOptions;
}

/** The gateway client and breaker a process shares between its requests and its worker. */
export function createSyncContext(settings: SyncSettings): SyncContext & { client: LiteLLMClient; breaker: GatewayBreaker } {
  return {
    sql: settings.sql,
    log: settings.log,
    keyEncryptionSecret: settings.keyEncryptionSecret,
    leaseSeconds: settings.leaseSeconds,
    client: createLiteLLMClient({
      baseUrl: settings.litellmBaseUrl,
      masterKey: settings.litellmMasterKey,
      requestTimeoutMs: settings.requestTimeoutMs ?? 5_000,
    }),
    breaker: createGatewayBreaker(settings.breaker ?? defaultBreakerOptions),
  };
}
