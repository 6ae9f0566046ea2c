import { parse, serialize } from "cookie";
import type { CookieJar, CookieOptions, CookieToSet } from "./types";

/** A jar over a request's Cookie header that collects what the response must set. */
export function requestCookieJar(cookieHeader: string | null): CookieJar & { toSet: CookieToSet[] } {
  const parsed = parse(cookieHeader ?? "");
  const current = new Map(Object.entries(parsed).filter((entry): entry is [string, string] => entry[1] !== undefined));
  const toSet: CookieToSet[] = [];
  return {
    toSet,
    getAll: () => [...current].map(([name, value]) => ({ name, value })),
    setAll(cookies) {
      for (const cookie of cookies) {
        toSet.push(cookie);
        if (cookie.value === "" || cookie.options.maxAge === 0) current.delete(cookie.name);
        else current.set(cookie.name, cookie.value);
      }
    },
  };
}

export function serializeCookie({ name, value, options }: CookieToSet): string {
  return serialize(name, value, {
    httpOnly: options.httpOnly,
    secure: options.secure,
    sameSite: options.sameSite,
    path: options.path ?? "/",
    maxAge: options.maxAge,
    expires: options.expires,
    domain: options.domain,
  });
}

/**
 * Session cookies are HttpOnly and SameSite=Lax everywhere, and Secure unless the app is served
 * from localhost (where browsers would refuse to send a Secure cookie over plain http).
 */
export function sessionCookieOptions(appUrl: string, maxAgeSeconds: number): CookieOptions {
  const host = new URL(appUrl).hostname;
  const local = host === "localhost" || host === "127.0.0.1" || host === "[::1]";
  return { httpOnly: true, sameSite: "lax", secure: !local, path: "/", maxAge: maxAgeSeconds };
}
