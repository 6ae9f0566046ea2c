import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import bcrypt from "bcryptjs";
import { jwtVerify, SignJWT } from "jose";
import type { Sql } from "../../lib/db/client";

/**
 * A stand-in for Supabase Auth (GoTrue) that speaks the wire format @supabase/supabase-js uses —
 * /auth/v1/signup, /token?grant_type=password|refresh_token, /user, /logout — and, like GoTrue,
 * writes its users to `auth.users` of the project's database, so the signup trigger runs.
 * Access tokens are HS256 JWTs, which supabase-js's getClaims() verifies by calling /user.
 */
export async function startFakeGoTrue(sql: Sql) {
  const secret = new TextEncoder().encode(randomUUID() + randomUUID());
  const refreshTokens = new Map<string, string>(); // refresh token → user id
  const calls: string[] = [];

  async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return chunks.length ? (JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>) : {};
  }

  function send(res: ServerResponse, status: number, body?: unknown) {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  }

  async function userJson(id: string) {
    const [row] = await sql<{ id: string; email: string; created_at: Date }[]>`
      select id, email, created_at from auth.users where id = ${id}`;
    if (!row) return null;
    const created = row.created_at.toISOString();
    return {
      id: row.id,
      aud: "authenticated",
      role: "authenticated",
      email: row.email,
      email_confirmed_at: created,
      app_metadata: { provider: "email", providers: ["email"] },
      user_metadata: {},
      identities: [{ id: row.id, identity_id: randomUUID(), user_id: row.id, provider: "email", identity_data: { email: row.email, sub: row.id } }],
      created_at: created,
      updated_at: created,
    };
  }

  async function session(userId: string, email: string) {
    const accessToken = await new SignJWT({ email, role: "authenticated", aal: "aal1", session_id: randomUUID() })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject(userId)
      .setAudience("authenticated")
      .setIssuer("fake-gotrue")
      .setIssuedAt()
      .setExpirationTime("1h")
      .sign(secret);
    const refreshToken = randomUUID();
    refreshTokens.set(refreshToken, userId);
    return {
      access_token: accessToken,
      token_type: "bearer",
      expires_in: 3600,
      expires_at: Math.floor(Date.now() / 1000) + 3600,
      refresh_token: refreshToken,
      user: await userJson(userId),
    };
  }

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://fake");
    calls.push(`${req.method} ${url.pathname}${url.search}`);
    try {
      if (req.method === "POST" && url.pathname === "/auth/v1/signup") {
        const { email, password } = (await readBody(req)) as { email: string; password: string };
        const existing = await sql`select 1 from auth.users where lower(email) = lower(${email})`;
        if (existing.length > 0) return send(res, 422, { code: 422, error_code: "user_already_exists", msg: "User already registered" });
        const [row] = await sql<{ id: string }[]>`
          insert into auth.users (email, encrypted_password, email_confirmed_at)
          values (${email.toLowerCase()}, ${await bcrypt.hash(password, 4)}, now()) returning id`;
        return send(res, 200, await session(row?.id ?? "", email.toLowerCase()));
      }
      if (req.method === "POST" && url.pathname === "/auth/v1/token") {
        const body = await readBody(req);
        if (url.searchParams.get("grant_type") === "refresh_token") {
          const userId = refreshTokens.get(String(body.refresh_token));
          if (!userId) return send(res, 400, { code: 400, error_code: "refresh_token_not_found", msg: "Invalid Refresh Token" });
          const user = await userJson(userId);
          return send(res, 200, await session(userId, user?.email ?? ""));
        }
        const [row] = await sql<{ id: string; encrypted_password: string }[]>`
          select id, encrypted_password from auth.users where lower(email) = lower(${String(body.email)})`;
        if (!row || !(await bcrypt.compare(String(body.password), row.encrypted_password))) {
          return send(res, 400, { code: 400, error_code: "invalid_credentials", msg: "Invalid login credentials" });
        }
        return send(res, 200, await session(row.id, String(body.email).toLowerCase()));
      }
      if (req.method === "GET" && url.pathname === "/auth/v1/user") {
        const token = req.headers.authorization?.replace(/^Bearer /, "") ?? "";
        try {
          const { payload } = await jwtVerify(token, secret, { audience: "authenticated" });
          const user = await userJson(String(payload.sub));
          return user ? send(res, 200, user) : send(res, 403, { code: 403, error_code: "user_not_found", msg: "User not found" });
        } catch {
          return send(res, 403, { code: 403, error_code: "bad_jwt", msg: "invalid JWT: unable to parse or verify signature" });
        }
      }
      if (req.method === "POST" && url.pathname === "/auth/v1/logout") {
        res.writeHead(204).end();
        return;
      }
      send(res, 404, { code: 404, msg: "not found" });
    } catch (err) {
      send(res, 500, { code: 500, msg: (err as Error).message });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    /** A token signed with another key: what a forged cookie would carry. */
    async forgedAccessToken(userId: string) {
      return new SignJWT({ role: "authenticated" })
        .setProtectedHeader({ alg: "HS256" })
        .setSubject(userId)
        .setAudience("authenticated")
        .setExpirationTime("1h")
        .sign(new TextEncoder().encode("not-the-secret-not-the-secret-not-the-secret"));
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
