import type { Sql } from "./db/client";
import { currentRequestId } from "./request-id";

export type PartState = { ok: true; latencyMs: number } | { ok: false; error: string };

export interface HealthReport {
  status: "ok" | "degraded" | "down";
  database: PartState;
  gateway: PartState | { ok: false; error: "not configured" };
  /** The sync breaker around the gateway: open means pushes are failing fast and queue up. */
  sync: { breaker: "closed" | "open" | "half-open" } | null;
}

async function timed(check: () => Promise<void>): Promise<PartState> {
  const started = performance.now();
  try {
    await check();
    return { ok: true, latencyMs: Math.round((performance.now() - started) * 10) / 10 };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * The app is "ok" when both the database and the gateway answer, "degraded" when only the
 * gateway is out (the dashboard still serves local data and queues changes), "down" without a
 * database.
 */
export async function checkHealth(
  sql: Sql,
  gatewayUrl: string | undefined,
  breakerState: (() => "closed" | "open" | "half-open") | undefined,
  timeoutMs = 2000,
): Promise<HealthReport> {
  const [database, gateway] = await Promise.all([
    timed(async () => {
      await sql`select 1`;
    }),
    gatewayUrl
      ? timed(async () => {
          const requestId = currentRequestId();
          const response = await fetch(`${gatewayUrl}/health/liveliness`, {
            signal: AbortSignal.timeout(timeoutMs),
            headers: requestId ? { "x-request-id": requestId } : {},
          });
          if (!response.ok) throw new Error(`gateway answered ${response.status}`);
        })
      : Promise.resolve({ ok: false as const, error: "not configured" as const }),
  ]);
  const status = !database.ok ? "down" : gateway.ok ? "ok" : "degraded";
  return { status, database, gateway, sync: breakerState ? { breaker: breakerState() } : null };
}
