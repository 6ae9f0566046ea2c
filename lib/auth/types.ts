import { z } from "zod";

export interface Session {
  userId: string;
  email: string;
}

export interface CookieOptions {
  httpOnly?: boolean;
  secure?: boolean;
  sameSite?: "lax" | "strict" | "none" | boolean;
  path?: string;
  maxAge?: number;
  expires?: Date;
  domain?: string;
}

export interface CookieToSet {
  name: string;
  value: string;
  options: CookieOptions;
}

/**
 * The request's cookies in, the response's cookies out: the shape @supabase/ssr asks for
 * (`getAll` / `setAll`), which the local adapter uses too.
 */
export interface CookieJar {
  getAll(): { name: string; value: string }[];
  setAll(cookies: CookieToSet[]): void;
}

// Missing and of the wrong type are two different mistakes.
const requiredString = z.string({ error: (issue) => (issue.input === undefined ? "is required" : "must be a string") });

export const credentialsSchema = z.object({
  email: requiredString
    .trim()
    .toLowerCase()
    .max(254, "must be at most 254 characters")
    .pipe(z.email({ message: "must be a valid email address" })),
  password: requiredString
    .min(8, "must be at least 8 characters")
    // bcrypt reads only the first 72 bytes; a longer password would be silently truncated.
    .refine((value) => Buffer.byteLength(value) <= 72, "must be at most 72 bytes"),
});

export type Credentials = z.infer<typeof credentialsSchema>;

export interface SignupOutcome {
  userId: string;
  /** Null when the provider wants the address confirmed before the first sign-in. */
  session: Session | null;
}

/** What both auth modes provide, behind the same routes. */
export interface AuthAdapter {
  signup(credentials: Credentials, jar: CookieJar): Promise<SignupOutcome>;
  login(credentials: Credentials, jar: CookieJar): Promise<Session>;
  logout(jar: CookieJar): Promise<void>;
  readSession(jar: CookieJar): Promise<Session | null>;
}
