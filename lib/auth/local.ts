import bcrypt from "bcryptjs";
import { jwtVerify, SignJWT } from "jose";
import type { Sql } from "../db/client";
import { withServiceTransaction } from "../db/transactions";
import { ApiError } from "../http/errors";
import { sessionCookieOptions } from "./cookies";
import { promoteConfiguredAdmin } from "./profile";
import type { AuthAdapter, CookieJar, Credentials, Session } from "./types";

export const localSessionCookie = "cg-session";
const sessionSeconds = 7 * 24 * 60 * 60;
const bcryptCost = 10;
// Compared against when the email is unknown, so a miss costs as long as a wrong password.
const decoyHash = bcrypt.hashSync("creditgate-decoy-password", bcryptCost);

export interface LocalAuthOptions {
  sql: Sql;
  jwtSecret: string;
  appUrl: string;
  adminEmails: readonly string[];
}

/**
 * Accounts in our own database: users live in `auth.users` with bcrypt hashes in
 * `encrypted_password` (GoTrue's format, so the table can later move to Supabase Auth), and a
 * session is a Supabase-shaped JWT (sub, email, role `authenticated`, exp) in an HttpOnly cookie.
 */
export function createLocalAuth(options: LocalAuthOptions): AuthAdapter {
  const key = new TextEncoder().encode(options.jwtSecret);

  async function issueSession(session: Session, jar: CookieJar): Promise<void> {
    const token = await new SignJWT({ email: session.email, role: "authenticated" })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject(session.userId)
      .setAudience("authenticated")
      .setIssuer("creditgate")
      .setIssuedAt()
      .setExpirationTime(`${sessionSeconds}s`)
      .sign(key);
    jar.setAll([{ name: localSessionCookie, value: token, options: sessionCookieOptions(options.appUrl, sessionSeconds) }]);
  }

  return {
    async signup(credentials: Credentials, jar) {
      const hash = await bcrypt.hash(credentials.password, bcryptCost);
      const userId = await withServiceTransaction(options.sql, async (tx) => {
        const existing = await tx`select 1 from auth.users where lower(email) = ${credentials.email} and is_sso_user = false`;
        if (existing.length > 0) throw new ApiError("conflict", "An account with this email already exists", { field: "email" });
        const [row] = await tx<{ id: string }[]>`
          insert into auth.users (email, encrypted_password, email_confirmed_at, aud, role, raw_app_meta_data)
          values (${credentials.email}, ${hash}, now(), 'authenticated', 'authenticated',
                  ${tx.json({ provider: "email", providers: ["email"] })})
          returning id`;
        if (!row) throw new Error("auth.users insert returned no row");
        await promoteConfiguredAdmin(tx, row.id, credentials.email, options.adminEmails);
        return row.id;
      }).catch((err: unknown) => {
        // Two signups racing for one address: the unique index decides, the loser gets the 409.
        if (isUniqueViolation(err)) throw new ApiError("conflict", "An account with this email already exists", { field: "email" });
        throw err;
      });
      const session = { userId, email: credentials.email };
      await issueSession(session, jar);
      return { userId, session };
    },

    async login(credentials: Credentials, jar) {
      const [user] = await options.sql<{ id: string; email: string; encrypted_password: string | null }[]>`
        select id, email, encrypted_password from auth.users
        where lower(email) = ${credentials.email} and deleted_at is null and is_sso_user = false
          and (banned_until is null or banned_until < now())`;
      const matches = await bcrypt.compare(credentials.password, user?.encrypted_password ?? decoyHash);
      if (!user || !user.encrypted_password || !matches) {
        throw new ApiError("invalid_credentials", "Email or password is incorrect");
      }
      await options.sql`update auth.users set last_sign_in_at = now() where id = ${user.id}`;
      const session = { userId: user.id, email: credentials.email };
      await issueSession(session, jar);
      return session;
    },

    async logout(jar) {
      jar.setAll([{ name: localSessionCookie, value: "", options: { ...sessionCookieOptions(options.appUrl, 0), maxAge: 0 } }]);
    },

    async readSession(jar) {
      const token = jar.getAll().find((cookie) => cookie.name === localSessionCookie)?.value;
      if (!token) return null;
      try {
        const { payload } = await jwtVerify(token, key, { algorithms: ["HS256"], audience: "authenticated", issuer: "creditgate" });
        if (typeof payload.sub !== "string" || typeof payload.email !== "string") return null;
        return { userId: payload.sub, email: payload.email };
      } catch {
        return null;
      }
    },
  };
}

function isUniqueViolation(err: unknown): boolean {
  return typeof err === "object" && err !== null && "code" in err && (err as { code: unknown }).code === "23505";
}
