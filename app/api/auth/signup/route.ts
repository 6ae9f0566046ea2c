import { credentialsSchema } from "@/lib/auth";
import { json, readJson, route } from "@/lib/http/respond";
import { appServices } from "@/lib/services";

export const POST = route(async (request, ctx) => {
  const credentials = await readJson(request, credentialsSchema);
  const { userId, session } = await appServices().auth.signup(credentials, ctx.cookies);
  return json(
    { user: { id: userId, email: credentials.email }, signed_in: session !== null },
    { status: 201 },
  );
});
