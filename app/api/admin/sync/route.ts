import { listSyncProblems, retrySync, syncRetrySchema } from "@/lib/admin/sync";
import { json, readJson, route } from "@/lib/http/respond";
import { appServices, requireAdmin, requireKeyServices } from "@/lib/services";

export const dynamic = "force-dynamic";

/** Rows the gateway has not confirmed (failed, or pending over a minute) and the breaker's state. */
export const GET = route(async (_request, ctx) => {
  await requireAdmin(ctx.cookies);
  const { sql, keys } = appServices();
  return json({ problems: await listSyncProblems(sql), breaker: keys?.sync.breaker.state() ?? null });
});

/** `{kind, id}` pushes one row now; `{all: true}` retries every failed row. */
export const POST = route(async (request, ctx) => {
  await requireAdmin(ctx.cookies);
  const input = await readJson(request, syncRetrySchema);
  const outcomes = await retrySync(requireKeyServices().sync, input);
  return json({ outcomes, synced: outcomes.filter((outcome) => outcome.ok).length, failed: outcomes.filter((outcome) => !outcome.ok).length });
});
