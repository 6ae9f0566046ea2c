import { NextResponse, type NextRequest } from "next/server";
import { createSupabaseServerClient } from "./lib/auth/supabase";

/**
 * In Supabase mode the access token expires hourly: this refreshes it before pages and route
 * handlers read it (they cannot set cookies themselves while rendering). Local sessions are
 * self-contained JWTs and need nothing here.
 */
export async function proxy(request: NextRequest) {
  if (process.env.AUTH_MODE !== "supabase") return NextResponse.next();
  const url = process.env.NEXT_PUBLIC_SUPABASE_URL;
  const anonKey = process.env.NEXT_PUBLIC_SUPABASE_ANON_KEY;
  if (!url || !anonKey) return NextResponse.next();
  let response = NextResponse.next({ request });
  const supabase = await createSupabaseServerClient(url, anonKey, {
    getAll: () => request.cookies.getAll(),
    setAll(cookies) {
      for (const { name, value } of cookies) request.cookies.set(name, value);
      response = NextResponse.next({ request });
      for (const { name, value, options } of cookies) response.cookies.set(name, value, { ...options, httpOnly: true, sameSite: "lax" });
    },
  });
  await supabase.auth.getClaims();
  return response;
}

export const config = {
  matcher: ["/analytics/:path*", "/admin/:path*", "/api/keys/:path*", "/api/analytics/:path*", "/api/payments/initialize"],
};
