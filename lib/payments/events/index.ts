import type { PaystackWebhookEvent } from "../../paystack/schemas";
import type { PaymentServices } from "../services";
import { handleChargeSuccess } from "./charge-success";
import { handleIgnoredEvent } from "./ignored";
import { handleRefundProcessed } from "./refund-processed";
import type { EventOutcome } from "./types";

export type { EventOutcome } from "./types";

/** One handler per event type; each is idempotent, so Paystack's retries change nothing. */
export async function dispatchEvent(services: PaymentServices, event: PaystackWebhookEvent): Promise<EventOutcome> {
  switch (event.event) {
    case "charge.success":
      return handleChargeSuccess(services, event.data);
    case "refund.processed":
      return handleRefundProcessed(services, event.data);
    default:
      return handleIgnoredEvent(event.event, event.data);
  }
}
