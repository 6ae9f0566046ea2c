import { json, route } from "@/lib/http/respond";
import { reconcilePendingPayments } from "@/lib/payments/reconcile";
import { requirePaymentServices } from "@/lib/payments/services";
import { requireAdmin } from "@/lib/services";

/** Admins: re-verify pending payments older than 15 minutes with Paystack now. */
export const POST = route(async (_request, ctx) => {
  await requireAdmin(ctx.cookies);
  return json({ outcomes: await reconcilePendingPayments(requirePaymentServices()) });
});
