import type { EventOutcome } from "./types";

/**
 * Every other event (charge.failed, transfers, subscriptions, disputes…) is acknowledged with
 * a 200 so Paystack stops retrying, recorded, and changes nothing.
 */
export function handleIgnoredEvent(event: string, data: unknown): EventOutcome {
  const reference = typeof data === "object" && data !== null && "reference" in data && typeof data.reference === "string" ? data.reference : null;
  return { outcome: `ignored ${event}`, reference, needsReview: false };
}
