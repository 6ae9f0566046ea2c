import { json, readJson, route } from "@/lib/http/respond";
import { initializePayment } from "@/lib/payments/initialize";
import { initializePaymentSchema } from "@/lib/payments/pricing";
import { requirePaymentServices } from "@/lib/payments/services";
import { requireSession } from "@/lib/services";

export const POST = route(async (request, ctx) => {
  const session = await requireSession(ctx.cookies);
  const payments = requirePaymentServices();
  const { credits } = await readJson(request, initializePaymentSchema(payments.pricing));
  return json(await initializePayment(payments, { userId: session.userId, email: session.email }, credits), { status: 201 });
});
