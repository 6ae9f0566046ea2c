import { adjustCredits, creditAdjustmentSchema } from "@/lib/credits/adjust";
import { json, readJson, route } from "@/lib/http/respond";
import { appServices, requireAdmin } from "@/lib/services";

/** An admin credit adjustment: one `adjustment` ledger entry with the reason; 201, or 200 for a repeat. */
export const POST = route(async (request, ctx) => {
  const admin = await requireAdmin(ctx.cookies);
  const input = await readJson(request, creditAdjustmentSchema);
  const { created, ...entry } = await adjustCredits(appServices().sql, admin.id, input);
  return json(entry, { status: created ? 201 : 200 });
});
