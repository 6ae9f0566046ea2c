import type { Sql } from "../db/client";
import type { AppEnv } from "../env";
import { createLocalAuth } from "./local";
import { createSupabaseAuth } from "./supabase";
import type { AuthAdapter } from "./types";

export type { AuthAdapter, CookieJar, Credentials, Session } from "./types";
export { credentialsSchema } from "./types";

/** The adapter AUTH_MODE names; both sit behind the same routes and pages. */
export function createAuth(env: AppEnv, sql: Sql): AuthAdapter {
  if (env.AUTH_MODE === "supabase") {
    if (!env.NEXT_PUBLIC_SUPABASE_URL || !env.NEXT_PUBLIC_SUPABASE_ANON_KEY) {
      throw new Error("AUTH_MODE=supabase needs NEXT_PUBLIC_SUPABASE_URL and NEXT_PUBLIC_SUPABASE_ANON_KEY");
    }
    return createSupabaseAuth({
      sql,
      supabaseUrl: env.NEXT_PUBLIC_SUPABASE_URL,
      anonKey: env.NEXT_PUBLIC_SUPABASE_ANON_KEY,
      appUrl: env.APP_URL,
      adminEmails: env.ADMIN_EMAILS,
    });
  }
  if (!env.AUTH_JWT_SECRET) throw new Error("AUTH_MODE=local needs AUTH_JWT_SECRET");
  return createLocalAuth({ sql, jwtSecret: env.AUTH_JWT_SECRET, appUrl: env.APP_URL, adminEmails: env.ADMIN_EMAILS });
}
