import { json, route } from "@/lib/http/respond";
import { requirePaymentServices } from "@/lib/payments/services";
import { receiveWebhook } from "@/lib/payments/webhook";

export const runtime = "nodejs";

/** Paystack's events: verified against the raw body, handled, and answered 200 for every authentic one. */
export const POST = route(async (request, ctx) => {
  const payments = requirePaymentServices();
  const result = await receiveWebhook(payments, request);
  payments.log.info({ requestId: ctx.requestId, event: result.event, reference: result.reference, outcome: result.outcome }, "paystack webhook");
  return json({ received: true });
});
