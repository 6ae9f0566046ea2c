import { createAuth, type AuthAdapter } from "./auth";
import { createLoginLimiter, type LoginLimiter } from "./auth/login-limiter";
import { loadProfile, type Profile } from "./auth/profile";
import type { CookieJar, Session } from "./auth/types";
import { appDb, type Sql } from "./db";
import { appEnv, type AppEnv } from "./env";
import { ApiError } from "./http/errors";
import { createModelCatalog, type KeyServices } from "./keys/manage";
import { log } from "./log";
import { reportBreaker } from "./metrics";
import { createSyncContext } from "./sync/context";
import type { SyncContext } from "./sync/push";

/** The app's long-lived pieces, built once per process from the validated environment. */
export interface Services {
  env: AppEnv;
  sql: Sql;
  auth: AuthAdapter;
  loginLimiter: LoginLimiter;
  /** Null when LITELLM_MASTER_KEY is not set: key management is off and says so. */
  keys: KeyServices | null;
}

let services: Services | undefined;

export function appServices(): Services {
  if (services) return services;
  const env = appEnv();
  const sql = appDb();
  services = { env, sql, auth: createAuth(env, sql), loginLimiter: createLoginLimiter(sql), keys: keyServices(env, sql) };
  return services;
}

function keyServices(env: AppEnv, sql: Sql): KeyServices | null {
  if (!env.LITELLM_MASTER_KEY) return null;
  const sync: SyncContext = createSyncContext({
    sql,
    log: log.child({ component: "sync" }),
    litellmBaseUrl: env.LITELLM_BASE_URL,
    litellmMasterKey: env.LITELLM_MASTER_KEY,
    keyEncryptionSecret: env.KEY_ENCRYPTION_SECRET,
    // A request waits briefly for its immediate push; the worker retries what does not make it.
    requestTimeoutMs: 2_000,
  });
  reportBreaker(sync.breaker.state);
  return { sql, sync, models: createModelCatalog(sync.client), keyEncryptionSecret: env.KEY_ENCRYPTION_SECRET };
}

/** Key management, or a 503 naming what is missing. */
export function requireKeyServices(): KeyServices {
  const keys = appServices().keys;
  if (!keys) throw new ApiError("service_unavailable", "Key management is off: set LITELLM_MASTER_KEY to the gateway's master key");
  return keys;
}

export const claimsOf = (session: Session) => ({ sub: session.userId, email: session.email, role: "authenticated" as const });

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
