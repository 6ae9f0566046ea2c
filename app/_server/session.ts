import "server-only";
import { cookies } from "next/headers";
import { redirect } from "next/navigation";
import type { CookieJar, Session } from "@/lib/auth";
import { appServices } from "@/lib/services";

/**
 * The signed-in user for a page, or a redirect to /login. Pages cannot set cookies, so a
 * refreshed Supabase session is written by proxy.ts before the page renders.
 */
export async function pageSession(): Promise<Session> {
  const store = await cookies();
  const jar: CookieJar = { getAll: () => store.getAll(), setAll: () => {} };
  const session = await appServices().auth.readSession(jar);
  if (!session) redirect("/login");
  return session;
}
