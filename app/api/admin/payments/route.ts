import { json, parseOrThrow, route } from "@/lib/http/respond";
import { adminPaymentsQuerySchema, listPaymentsForAdmin } from "@/lib/payments/queries";
import { appServices, requireAdmin } from "@/lib/services";

/** Everyone's payments with the payer's email (`?status=` filters), and events that matched no payment. */
export const GET = route(async (request, ctx) => {
  await requireAdmin(ctx.cookies);
  const query = parseOrThrow(adminPaymentsQuerySchema, Object.fromEntries(new URL(request.url).searchParams));
  return json(await listPaymentsForAdmin(appServices().sql, query.status));
});
