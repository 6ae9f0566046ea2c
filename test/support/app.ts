import { randomBytes } from "node:crypto";
import { databaseUrl } from "./db";

/**
 * Points the app's environment at this pass's database and returns its route handlers, imported
 * after the environment is set (the app parses it once, on first use).
 */
export async function appRoutes(options: { supabaseUrl?: string; logLevel?: string } = {}) {
  process.env.DATABASE_URL = databaseUrl;
  process.env.AUTH_MODE = options.supabaseUrl ? "supabase" : "local";
  if (options.supabaseUrl) {
    process.env.NEXT_PUBLIC_SUPABASE_URL = options.supabaseUrl;
    process.env.NEXT_PUBLIC_SUPABASE_ANON_KEY = "anon-key-for-tests";
  }
  process.env.AUTH_JWT_SECRET ??= randomBytes(32).toString("hex");
  process.env.KEY_ENCRYPTION_SECRET ??= randomBytes(32).toString("hex");
  // One address per test file that signs an admin up: the files share a database per pass.
  process.env.ADMIN_EMAILS = "boss@example.test,boss-supabase@example.test,boss-admin@example.test,boss-observe@example.test";
  process.env.APP_URL = "http://localhost:3000";
  process.env.LOG_LEVEL = options.logLevel ?? "silent";
  return {
    signup: (await import("../../app/api/auth/signup/route")).POST,
    login: (await import("../../app/api/auth/login/route")).POST,
    logout: (await import("../../app/api/auth/logout/route")).POST,
    services: (await import("../../lib/services")).appServices,
  };
}

export function post(path: string, body: unknown, headers: Record<string, string> = {}): Request {
  return new Request(`http://localhost:3000${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** The value of the named cookie in a response's Set-Cookie headers, with its attributes. */
export function setCookie(response: Response, name: string): { value: string; attributes: string } | undefined {
  const header = response.headers.getSetCookie().find((line) => line.startsWith(`${name}=`));
  if (!header) return undefined;
  const [pair = "", ...attributes] = header.split(";");
  return { value: pair.slice(name.length + 1), attributes: attributes.join(";").trim() };
}
