import { z } from "zod";
import type { AppEnv } from "../env";

/** What credits cost, from configuration; the price of a payment is fixed when it is initialized. */
export interface Pricing {
  currency: string;
  /** Price of one credit, in the currency's subunit (kobo, cents). */
  pricePerCreditSubunits: number;
  /** The amounts of credits the dashboard offers as buttons. */
  packs: number[];
  minCredits: number;
  maxCredits: number;
}

export function pricingFromEnv(
  env: Pick<AppEnv, "PAYMENTS_CURRENCY" | "PAYMENTS_PRICE_PER_CREDIT" | "PAYMENTS_PACKS" | "PAYMENTS_MIN_CREDITS" | "PAYMENTS_MAX_CREDITS">,
): Pricing {
  return {
    currency: env.PAYMENTS_CURRENCY,
    pricePerCreditSubunits: env.PAYMENTS_PRICE_PER_CREDIT,
    packs: env.PAYMENTS_PACKS,
    minCredits: env.PAYMENTS_MIN_CREDITS,
    maxCredits: env.PAYMENTS_MAX_CREDITS,
  };
}

/** `{credits}` for POST /api/payments/initialize, bounded by the configured minimum and maximum. */
export function initializePaymentSchema(pricing: Pricing) {
  return z.object({
    credits: z
      .number({ error: "must be a whole number of credits" })
      .int("must be a whole number of credits")
      .min(pricing.minCredits, `must be at least ${pricing.minCredits}`)
      .max(pricing.maxCredits, `must be at most ${pricing.maxCredits}`),
  });
}

export function priceInSubunits(pricing: Pricing, credits: number): number {
  return credits * pricing.pricePerCreditSubunits;
}

/** The pricing as the dashboard reads it. */
export function pricingView(pricing: Pricing) {
  return {
    currency: pricing.currency,
    price_per_credit_subunits: pricing.pricePerCreditSubunits,
    packs: pricing.packs,
    min_credits: pricing.minCredits,
    max_credits: pricing.maxCredits,
  };
}
