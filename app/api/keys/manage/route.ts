import { json, readJson, route } from "@/lib/http/respond";
import { createKey, createKeySchema, keyIdSchema, listKeys, revokeKey, updateKey, updateKeySchema, type KeyChange } from "@/lib/keys/manage";
import { appServices, claimsOf, requireKeyServices, requireSession } from "@/lib/services";

/** 201/200 when the gateway confirmed the change, 202 when it is saved and queued. */
const changeResponse = (change: KeyChange, confirmedStatus: number) =>
  json(
    { ...change.key, ...(change.secret ? { secret: change.secret } : {}), ...(change.message ? { message: change.message } : {}) },
    { status: change.key.sync_status === "synced" ? confirmedStatus : 202 },
  );

export const GET = route(async (_request, ctx) => {
  const session = await requireSession(ctx.cookies);
  return json({ keys: await listKeys(appServices().sql, claimsOf(session)) });
});

export const POST = route(async (request, ctx) => {
  const session = await requireSession(ctx.cookies);
  const input = await readJson(request, createKeySchema);
  return changeResponse(await createKey(requireKeyServices(), session.userId, input), 201);
});

export const PATCH = route(async (request, ctx) => {
  const session = await requireSession(ctx.cookies);
  const input = await readJson(request, updateKeySchema);
  return changeResponse(await updateKey(requireKeyServices(), session.userId, input), 200);
});

export const DELETE = route(async (request, ctx) => {
  const session = await requireSession(ctx.cookies);
  const { id } = await readJson(request, keyIdSchema);
  return changeResponse(await revokeKey(requireKeyServices(), session.userId, id), 200);
});
