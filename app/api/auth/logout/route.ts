import { json, route } from "@/lib/http/respond";
import { appServices } from "@/lib/services";

export const POST = route(async (_request, ctx) => {
  await appServices().auth.logout(ctx.cookies);
  return json({ signed_out: true });
});
