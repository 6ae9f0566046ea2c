import { credentialsSchema } from "@/lib/auth";
import { clientIp } from "@/lib/auth/login-limiter";
import { ApiError } from "@/lib/http/errors";
import { json, readJson, route } from "@/lib/http/respond";
import { appServices } from "@/lib/services";

export const POST = route(async (request, ctx) => {
  const credentials = await readJson(request, credentialsSchema);
  const { auth, loginLimiter } = appServices();
  const ip = clientIp(request.headers);
  await loginLimiter.assertAllowed(credentials.email, ip);
  try {
    const session = await auth.login(credentials, ctx.cookies);
    await loginLimiter.recordSuccess(credentials.email);
    return json({ user: { id: session.userId, email: session.email } });
  } catch (err) {
    if (err instanceof ApiError && err.type === "invalid_credentials") await loginLimiter.recordFailure(credentials.email, ip);
    throw err;
  }
});
