import { afterAll, beforeAll, expect, it } from "vitest";
import { requestCookieJar } from "../../lib/auth/cookies";
import { appRoutes, post } from "../support/app";
import { describeWithDatabase, uniqueEmail } from "../support/db";
import { startFakeGoTrue } from "../support/fake-gotrue";

type Routes = Awaited<ReturnType<typeof appRoutes>>;

/** The request's Cookie header that a browser would send back after `response`. */
function cookiesFrom(response: Response): string {
  return response.headers
    .getSetCookie()
    .map((line) => line.split(";")[0] ?? "")
    .filter((pair) => !pair.endsWith("="))
    .join("; ");
}

describeWithDatabase("auth routes in Supabase mode", (db) => {
  let routes: Routes;
  let gotrue: Awaited<ReturnType<typeof startFakeGoTrue>>;

  beforeAll(async () => {
    gotrue = await startFakeGoTrue(db());
    routes = await appRoutes({ supabaseUrl: gotrue.url });
  });
  afterAll(async () => gotrue?.close());

  it("signup creates the user in Supabase Auth, the trigger gives them 500 credits, and the session cookie is HttpOnly", async () => {
    const email = uniqueEmail("supa");
    const response = await routes.signup(post("/api/auth/signup", { email, password: "correct horse" }));
    expect(response.status).toBe(201);
    const body = await response.json();
    expect(body.signed_in).toBe(true);
    const cookies = response.headers.getSetCookie();
    expect(cookies.some((line) => /^sb-[\w-]+-auth-token(\.\d+)?=/.test(line))).toBe(true);
    for (const line of cookies) {
      expect(line).toMatch(/HttpOnly/i);
      expect(line).toMatch(/SameSite=Lax/i);
    }
    const [balance] = await db()`select credits from public.credit_balances where user_id = ${body.user.id}`;
    expect(Number(balance?.credits)).toBe(500);
    expect(gotrue.calls).toContain("POST /auth/v1/signup");
  });

  it("the session cookie is verified on the server: the user is recognised, a forged token is not", async () => {
    const email = uniqueEmail("claims");
    const signup = await routes.signup(post("/api/auth/signup", { email, password: "correct horse" }));
    const { user } = await signup.json();
    const session = await routes.services().auth.readSession(requestCookieJar(cookiesFrom(signup)));
    expect(session).toEqual({ userId: user.id, email });
    expect(gotrue.calls).toContain("GET /auth/v1/user");

    const forged = await gotrue.forgedAccessToken(user.id);
    const cookieName = cookiesFrom(signup).split("=")[0] ?? "";
    const forgedSession = JSON.stringify({
      access_token: forged,
      refresh_token: "nope",
      token_type: "bearer",
      expires_in: 3600,
      expires_at: Math.floor(Date.now() / 1000) + 3600,
      user: { id: user.id },
    });
    const forgedJar = requestCookieJar(`${cookieName}=base64-${Buffer.from(forgedSession).toString("base64url")}`);
    expect(await routes.services().auth.readSession(forgedJar)).toBeNull();
  });

  it("a duplicate email answers 409", async () => {
    const email = uniqueEmail("supadupe");
    await routes.signup(post("/api/auth/signup", { email, password: "correct horse" }));
    const again = await routes.signup(post("/api/auth/signup", { email, password: "correct horse" }));
    expect(again.status).toBe(409);
    expect((await again.json()).error.type).toBe("conflict");
  });

  it("a wrong password answers 401 and the right one 200 with a session", async () => {
    const email = uniqueEmail("supalogin");
    await routes.signup(post("/api/auth/signup", { email, password: "correct horse" }));
    const wrong = await routes.login(post("/api/auth/login", { email, password: "wrong horse" }));
    expect(wrong.status).toBe(401);
    const right = await routes.login(post("/api/auth/login", { email, password: "correct horse" }));
    expect(right.status).toBe(200);
    expect(await routes.services().auth.readSession(requestCookieJar(cookiesFrom(right)))).toMatchObject({ email });
  });

  it("an address in ADMIN_EMAILS becomes an admin in Supabase mode too", async () => {
    const response = await routes.signup(post("/api/auth/signup", { email: "boss-supabase@example.test", password: "correct horse" }));
    expect(response.status).toBe(201);
    const { user } = await response.json();
    const [profile] = await db()`select role from public.profiles where id = ${user.id}`;
    expect(profile?.role).toBe("admin");
  });

  it("logout clears the Supabase session cookies", async () => {
    const email = uniqueEmail("supaout");
    const signup = await routes.signup(post("/api/auth/signup", { email, password: "correct horse" }));
    const logout = await routes.logout(post("/api/auth/logout", {}, { cookie: cookiesFrom(signup) }));
    expect(logout.status).toBe(200);
    const cleared = logout.headers.getSetCookie();
    expect(cleared.length).toBeGreaterThan(0);
    for (const line of cleared) expect(line).toMatch(/Max-Age=0/i);
  });
});
