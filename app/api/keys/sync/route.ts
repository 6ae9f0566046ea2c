import { loadProfile } from "@/lib/auth/profile";
import { json, parseOrThrow, readJson, route } from "@/lib/http/respond";
import { keySyncStates, pushNow, syncFilterSchema, syncRequestSchema } from "@/lib/keys/manage";
import { appServices, requireKeyServices, requireSession } from "@/lib/services";

/** Pushes one key to the gateway now: its owner, or an admin for anyone's key. */
export const POST = route(async (request, ctx) => {
  const session = await requireSession(ctx.cookies);
  const { keyId } = await readJson(request, syncRequestSchema);
  const profile = await loadProfile(appServices().sql, session.userId);
  const owner = profile?.role === "admin" ? undefined : session.userId;
  const change = await pushNow(requireKeyServices(), keyId, owner);
  return json({ ...change.key, ...(change.message ? { message: change.message } : {}) }, { status: change.key.sync_status === "synced" ? 200 : 202 });
});

/** Sync state of the caller's keys; admins see everyone's, filterable with ?status=. */
export const GET = route(async (request, ctx) => {
  const session = await requireSession(ctx.cookies);
  const { status } = parseOrThrow(syncFilterSchema, Object.fromEntries(new URL(request.url).searchParams));
  const { sql } = appServices();
  const profile = await loadProfile(sql, session.userId);
  const keys = await keySyncStates(sql, profile?.role === "admin" ? null : session.userId, status);
  return json({ keys });
});
