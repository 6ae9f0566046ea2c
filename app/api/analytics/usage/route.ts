import { usageQuerySchema, usageReport } from "@/lib/analytics/usage";
import { withUserTransaction } from "@/lib/db";
import { json, parseOrThrow, route } from "@/lib/http/respond";
import { appServices, claimsOf, requireSession } from "@/lib/services";

export const dynamic = "force-dynamic";

/** The caller's usage from the local rollups, with whether they are fresh or local-only. */
export const GET = route(async (request, ctx) => {
  const session = await requireSession(ctx.cookies);
  const query = parseOrThrow(usageQuerySchema, Object.fromEntries(new URL(request.url).searchParams));
  const report = await withUserTransaction(appServices().sql, claimsOf(session), (tx) => usageReport(tx, query));
  return json(report);
});
