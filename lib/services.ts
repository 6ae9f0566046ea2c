import { createAuth, type AuthAdapter } from "./auth";
import { createLoginLimiter, type LoginLimiter } from "./auth/login-limiter";
import { loadProfile, type Profile } from "./auth/profile";
import type { CookieJar, Session } from "./auth/types";
import { appDb, type Sql } from "./db";
import { appEnv, type AppEnv } from "./env";
import { ApiError } from "./http/errors";

/** The app's long-lived pieces, built once per process from the validated environment. */
export interface Services {
  env: AppEnv;
  sql: Sql;
  auth: AuthAdapter;
  loginLimiter: LoginLimiter;
}

let services: Services | undefined;

export function appServices(): Services {
  if (services) return services;
  const env = appEnv();
  const sql = appDb();
  services = { env, sql, auth: createAuth(env, sql), loginLimiter: createLoginLimiter() };
  return services;
}

/** The signed-in caller, or a 401. */
export async function requireSession(jar: CookieJar): Promise<Session> {
  const session = await appServices().auth.readSession(jar);
  if (!session) throw new ApiError("unauthorized", "Sign in to continue");
  return session;
}

/** The signed-in caller's profile if they are an admin; 401 without a session, 403 otherwise. */
export async function requireAdmin(jar: CookieJar): Promise<Profile> {
  const session = await requireSession(jar);
  const profile = await loadProfile(appServices().sql, session.userId);
  if (profile?.role !== "admin") throw new ApiError("forbidden", "This needs an admin account");
  return profile;
}
