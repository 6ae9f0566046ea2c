import { randomBytes } from "node:crypto";
import { withServiceTransaction } from "../db/transactions";
import { ApiError } from "../http/errors";
import { priceInSubunits } from "./pricing";
import type { PaymentServices } from "./services";

/** Paystack allows only alphanumerics, `-`, `.` and `=` in a reference; ours sort by time. */
export function newPaymentReference(now = Date.now()): string {
  return `cg-${now.toString(36)}-${randomBytes(8).toString("hex")}`;
}

export interface InitializedPayment {
  reference: string;
  authorization_url: string;
}

/**
 * Fixes the price on a new pending payment row, then asks Paystack for a checkout. The row
 * exists before Paystack hears of the reference, so a webhook can never arrive for a payment
 * we have not recorded.
 */
export async function initializePayment(
  services: PaymentServices,
  user: { userId: string; email: string },
  credits: number,
): Promise<InitializedPayment> {
  const reference = newPaymentReference();
  const amountSubunits = priceInSubunits(services.pricing, credits);
  const currency = services.pricing.currency;
  await withServiceTransaction(services.sql, (tx) => tx`
    insert into public.payments (reference, user_id, credits, amount_subunits, currency)
    values (${reference}, ${user.userId}, ${credits}, ${amountSubunits}, ${currency})`);
  try {
    const checkout = await services.paystack.initialize({
      email: user.email,
      amountSubunits,
      currency,
      reference,
      callbackUrl: `${services.appUrl}/payments/callback`,
      metadata: { credits, cancel_action: `${services.appUrl}/payments/callback?reference=${reference}` },
    });
    return { reference, authorization_url: checkout.authorizationUrl };
  } catch (err) {
    services.log.warn({ reference, err: (err as Error).message }, "Paystack refused to initialize a payment");
    await withServiceTransaction(services.sql, (tx) => tx`
      update public.payments set status = 'failed' where reference = ${reference} and status = 'pending'`);
    throw new ApiError("bad_gateway", "Paystack could not start the payment; nothing was charged. Try again in a moment.");
  }
}
