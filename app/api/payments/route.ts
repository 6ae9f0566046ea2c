import { json, route } from "@/lib/http/respond";
import { pricingFromEnv, pricingView } from "@/lib/payments/pricing";
import { listOwnPayments } from "@/lib/payments/queries";
import { appServices, requireSession } from "@/lib/services";

/** The caller's payments, newest first, and what credits cost. */
export const GET = route(async (_request, ctx) => {
  const session = await requireSession(ctx.cookies);
  const { sql, env } = appServices();
  return json({ payments: await listOwnPayments(sql, session.userId), pricing: pricingView(pricingFromEnv(env)) });
});
