import { z } from "zod";
import { fulfilPayment } from "../fulfil";
import type { PaymentServices } from "../services";
import type { EventOutcome } from "./types";

const dataSchema = z.object({ reference: z.string().min(1).max(200) }).passthrough();

/**
 * charge.success: the body only tells us which reference to look at. What we credit comes
 * from our payment row and Paystack's verify answer, never from the event itself.
 */
export async function handleChargeSuccess(services: PaymentServices, data: unknown): Promise<EventOutcome> {
  const parsed = dataSchema.safeParse(data);
  if (!parsed.success) return { outcome: "needs review: charge.success without a reference", reference: null, needsReview: true };
  const { reference } = parsed.data;
  const result = await fulfilPayment(services, reference, "webhook");
  if (result.status === null) return { outcome: "needs review: charge.success for a reference we never initialized", reference, needsReview: true };
  return { outcome: result.outcome, reference, needsReview: false };
}
