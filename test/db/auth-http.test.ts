import { beforeAll, describe, expect, it } from "vitest";
import { appRoutes, post, setCookie } from "../support/app";
import { describeWithDatabase, uniqueEmail } from "../support/db";

type Routes = Awaited<ReturnType<typeof appRoutes>>;

describeWithDatabase("auth routes", (db) => {
  let routes: Routes;
  beforeAll(async () => {
    routes = await appRoutes();
  });

  const countUsers = async (email: string) =>
    Number((await db()`select count(*)::int as n from auth.users where lower(email) = lower(${email})`)[0]?.n);

  describe("signup", () => {
    it("creates the account, answers 201 and sets an HttpOnly SameSite=Lax session cookie", async () => {
      const email = uniqueEmail("signup");
      const response = await routes.signup(post("/api/auth/signup", { email, password: "correct horse" }));
      expect(response.status).toBe(201);
      const body = await response.json();
      expect(body.user.email).toBe(email);
      const cookie = setCookie(response, "cg-session");
      expect(cookie?.value).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
      expect(cookie?.attributes).toMatch(/HttpOnly/);
      expect(cookie?.attributes).toMatch(/SameSite=Lax/);
      expect(cookie?.attributes).not.toMatch(/Secure/); // APP_URL is localhost in this test
      const [profile] = await db()`select role from public.profiles where id = ${body.user.id}`;
      expect(profile?.role).toBe("user");
    });

    it("stores a bcrypt hash in auth.users.encrypted_password, never the password", async () => {
      const email = uniqueEmail("hash");
      await routes.signup(post("/api/auth/signup", { email, password: "correct horse" }));
      const [row] = await db()`select encrypted_password from auth.users where email = ${email}`;
      expect(row?.encrypted_password).toMatch(/^\$2[aby]\$10\$/);
    });

    it("a second signup with the same email (any case) answers 409 and adds no user", async () => {
      const email = uniqueEmail("dupe");
      expect((await routes.signup(post("/api/auth/signup", { email, password: "correct horse" }))).status).toBe(201);
      const again = await routes.signup(post("/api/auth/signup", { email: email.toUpperCase(), password: "another pass" }));
      expect(again.status).toBe(409);
      expect((await again.json()).error).toMatchObject({ type: "conflict", message: expect.stringMatching(/already exists/) });
      expect(await countUsers(email)).toBe(1);
    });

    it("an address listed in ADMIN_EMAILS becomes an admin", async () => {
      const response = await routes.signup(post("/api/auth/signup", { email: "boss@example.test", password: "correct horse" }));
      const body = await response.json();
      const [profile] = await db()`select role from public.profiles where id = ${body.user.id}`;
      expect(profile?.role).toBe("admin");
    });

    it.each([
      ["malformed JSON", "{not json", /valid JSON/, undefined],
      ["a missing email", { password: "correct horse" }, /^email: /, "email"],
      ["a missing password", { email: "a@example.test" }, /^password: is required/, "password"],
      ["a malformed email", { email: "not-an-email", password: "correct horse" }, /^email: must be a valid email/, "email"],
      ["a short password", { email: "a@example.test", password: "short" }, /^password: must be at least 8/, "password"],
      ["a wrong type", { email: 42, password: "correct horse" }, /^email: must be a string/, "email"],
      ["a password of the wrong type", { email: "a@example.test", password: 12345678 }, /^password: must be a string/, "password"],
      ["a JSON array", [], /expected object/i, undefined],
    ])("%s answers 400 naming the problem and writes nothing", async (_case, body, message, field) => {
      const before = Number((await db()`select count(*)::int as n from auth.users`)[0]?.n);
      const response = await routes.signup(post("/api/auth/signup", body));
      expect(response.status).toBe(400);
      const { error } = await response.json();
      expect(error.type).toBe("invalid_request");
      expect(error.message).toMatch(message);
      if (field) expect(error.field).toBe(field);
      expect(response.headers.getSetCookie()).toEqual([]);
      const after = Number((await db()`select count(*)::int as n from auth.users`)[0]?.n);
      expect(after).toBe(before);
    });

    it("a body over 64 KiB answers 413", async () => {
      const response = await routes.signup(post("/api/auth/signup", { email: "a@example.test", password: "x".repeat(70_000) }));
      expect(response.status).toBe(413);
    });
  });

  describe("login and logout", () => {
    it("the right password answers 200 with a fresh session cookie", async () => {
      const email = uniqueEmail("login");
      await routes.signup(post("/api/auth/signup", { email, password: "correct horse" }));
      const response = await routes.login(post("/api/auth/login", { email, password: "correct horse" }));
      expect(response.status).toBe(200);
      expect(setCookie(response, "cg-session")?.value).toBeTruthy();
    });

    it("a wrong password answers 401 without a cookie", async () => {
      const email = uniqueEmail("wrong");
      await routes.signup(post("/api/auth/signup", { email, password: "correct horse" }));
      const response = await routes.login(post("/api/auth/login", { email, password: "wrong horse" }));
      expect(response.status).toBe(401);
      expect((await response.json()).error.type).toBe("invalid_credentials");
      expect(setCookie(response, "cg-session")).toBeUndefined();
    });

    it("an unknown email answers the same 401 as a wrong password", async () => {
      const response = await routes.login(post("/api/auth/login", { email: uniqueEmail("ghost"), password: "whatever1" }));
      expect(response.status).toBe(401);
      expect((await response.json()).error.message).toBe("Email or password is incorrect");
    });

    it("the 11th rapid failed login for one email answers 429 with retry-after, even with the right password", async () => {
      const email = uniqueEmail("brute");
      await routes.signup(post("/api/auth/signup", { email, password: "correct horse" }));
      const statuses: number[] = [];
      for (let attempt = 0; attempt < 10; attempt++) {
        statuses.push((await routes.login(post("/api/auth/login", { email, password: `guess-${attempt}-x` }))).status);
      }
      expect(statuses).toEqual(Array(10).fill(401));
      const blocked = await routes.login(post("/api/auth/login", { email, password: "guess-10-x" }));
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
      const evenRight = await routes.login(post("/api/auth/login", { email, password: "correct horse" }));
      expect(evenRight.status).toBe(429);
    });

    it("logout clears the session cookie", async () => {
      const response = await routes.logout(post("/api/auth/logout", {}));
      expect(response.status).toBe(200);
      const cookie = setCookie(response, "cg-session");
      expect(cookie?.value).toBe("");
      expect(cookie?.attributes).toMatch(/Max-Age=0/);
    });
  });
});
