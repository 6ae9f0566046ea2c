import { WebSocket as UndiciWebSocket } from "undici";
import type { Sql } from "../db/client";
import { ApiError } from "../http/errors";
import { sessionCookieOptions } from "./cookies";
import { promoteConfiguredAdmin } from "./profile";
import type { AuthAdapter, CookieJar, Credentials } from "./types";

/**
 * A server-side Supabase client over the given cookies. Loaded on first use, so local mode never
 * loads the Supabase client at all.
 */
export async function createSupabaseServerClient(url: string, anonKey: string, cookies: CookieJar) {
  const { createServerClient } = await import("@supabase/ssr");
  return createServerClient(url, anonKey, {
    // supabase-js builds a realtime client eagerly and wants a WebSocket, which Node 20 lacks
    // globally; undici's is the same implementation Node 22 exposes. We never open a socket.
    realtime: { transport: (globalThis.WebSocket ?? UndiciWebSocket) as unknown as typeof globalThis.WebSocket },
    cookies: { getAll: () => cookies.getAll(), setAll: (list) => cookies.setAll(list) },
  });
}

export interface SupabaseAuthOptions {
  sql: Sql;
  supabaseUrl: string;
  anonKey: string;
  appUrl: string;
  adminEmails: readonly string[];
}

/**
 * Accounts in Supabase Auth, through @supabase/ssr with its getAll/setAll cookie API. The session
 * is verified on the server with `getClaims()` (signature and expiry checked, not just decoded).
 * The app's DATABASE_URL is the same Supabase database, so the signup trigger has already
 * created the profile, grant and placeholder key when signUp returns.
 */
export function createSupabaseAuth(options: SupabaseAuthOptions): AuthAdapter {
  const enforced = sessionCookieOptions(options.appUrl, 0);

  function client(jar: CookieJar) {
    return createSupabaseServerClient(options.supabaseUrl, options.anonKey, {
      getAll: () => jar.getAll(),
      setAll: (cookies) =>
        jar.setAll(
          cookies.map(({ name, value, options: cookieOptions }) => ({
            name,
            value,
            // No browser code reads these cookies, so they can be HttpOnly.
            options: { ...cookieOptions, httpOnly: true, secure: enforced.secure, sameSite: "lax" },
          })),
        ),
    });
  }

  return {
    async signup(credentials: Credentials, jar) {
      const supabase = await client(jar);
      const { data, error } = await supabase.auth.signUp(credentials);
      if (error) {
        if (error.code === "user_already_exists" || error.code === "email_exists") {
          throw new ApiError("conflict", "An account with this email already exists", { field: "email" });
        }
        if (error.code === "weak_password") throw new ApiError("invalid_request", `password: ${error.message}`, { field: "password" });
        if (error.status === 429) throw new ApiError("rate_limited", "Too many sign-ups. Try again later.", { retryAfterSeconds: 60 });
        throw new ApiError("service_unavailable", "The sign-up service is unavailable. Try again shortly.");
      }
      // With email confirmation on, Supabase answers an existing address with a user that has
      // no identities instead of an error, so as not to reveal it; we are told, so we say 409.
      if (!data.user || data.user.identities?.length === 0) {
        throw new ApiError("conflict", "An account with this email already exists", { field: "email" });
      }
      await promoteConfiguredAdmin(options.sql, data.user.id, credentials.email, options.adminEmails);
      return {
        userId: data.user.id,
        session: data.session ? { userId: data.user.id, email: credentials.email } : null,
      };
    },

    async login(credentials: Credentials, jar) {
      const supabase = await client(jar);
      const { data, error } = await supabase.auth.signInWithPassword(credentials);
      if (error || !data.user) {
        if (error?.status === 429) throw new ApiError("rate_limited", "Too many sign-in attempts. Try again later.", { retryAfterSeconds: 60 });
        if (error && error.status !== undefined && error.status >= 500) {
          throw new ApiError("service_unavailable", "The sign-in service is unavailable. Try again shortly.");
        }
        throw new ApiError("invalid_credentials", "Email or password is incorrect");
      }
      return { userId: data.user.id, email: data.user.email ?? credentials.email };
    },

    async logout(jar) {
      const supabase = await client(jar);
      await supabase.auth.signOut({ scope: "local" });
    },

    async readSession(jar) {
      const supabase = await client(jar);
      const { data, error } = await supabase.auth.getClaims();
      const claims = data?.claims;
      if (error || !claims || typeof claims.sub !== "string") return null;
      return { userId: claims.sub, email: typeof claims.email === "string" ? claims.email : "" };
    },
  };
}
