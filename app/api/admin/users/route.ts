import { adminUserQuerySchema, listUsersForAdmin } from "@/lib/admin/users";
import { json, parseOrThrow, route } from "@/lib/http/respond";
import { appServices, requireAdmin } from "@/lib/services";

export const dynamic = "force-dynamic";

/** Users with credits, spend and keys; `?q=` filters by email. */
export const GET = route(async (request, ctx) => {
  await requireAdmin(ctx.cookies);
  const { q, limit } = parseOrThrow(adminUserQuerySchema, Object.fromEntries(new URL(request.url).searchParams));
  return json({ users: await listUsersForAdmin(appServices().sql, limit, q) });
});
