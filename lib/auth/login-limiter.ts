import { RateLimiterPostgres, type RateLimiterRes } from "rate-limiter-flexible";
import type { Sql } from "../db";
import { ApiError } from "../http/errors";

export interface LoginLimits {
  /** Failed attempts allowed per email address in the window. */
  perEmail: number;
  /** Failed attempts allowed per client IP in the window (many users may share an IP). */
  perIp: number;
  windowSeconds: number;
}

export const defaultLoginLimits: LoginLimits = { perEmail: 10, perIp: 100, windowSeconds: 15 * 60 };

/**
 * What rate-limiter-flexible's Postgres store asks of its client (node-postgres's `query`),
 * answered by the app's postgres.js connection: one query with `$n` parameters, its rows and
 * how many there were.
 */
function storeClientOf(sql: Sql) {
  return {
    async query(query: { text: string; values?: unknown[] }): Promise<{ rows: unknown[]; rowCount: number }> {
      const rows = await sql.unsafe(query.text, (query.values ?? []) as never[]);
      return { rows, rowCount: rows.count };
    },
  };
}

/**
 * Counts failed logins per email and per IP (rate-limiter-flexible) in the `login_limits` table,
 * so every app instance shares one count: several instances behind a load balancer still allow
 * the limit once, not once each. Once either count is spent, every attempt for it is refused with
 * 429 until the window passes, even with the right password, so guessing cannot continue. A
 * success clears the email's count. Expired rows are deleted every five minutes.
 */
export function createLoginLimiter(sql: Sql, limits: LoginLimits = defaultLoginLimits) {
  const store = (keyPrefix: string, points: number) =>
    new RateLimiterPostgres({
      storeClient: storeClientOf(sql),
      storeType: "pool",
      schemaName: "public",
      tableName: "login_limits",
      // Made by the migration, not at start-up: the app's role need not own DDL.
      tableCreated: true,
      keyPrefix,
      points,
      duration: limits.windowSeconds,
    });
  const byEmail = store("login-email", limits.perEmail);
  const byIp = store("login-ip", limits.perIp);

  function refuse(res: RateLimiterRes | null): never {
    const retryAfterSeconds = Math.max(1, Math.ceil((res?.msBeforeNext ?? limits.windowSeconds * 1000) / 1000));
    throw new ApiError("rate_limited", "Too many failed sign-in attempts. Try again later.", { retryAfterSeconds });
  }

  return {
    /** Throws a 429 ApiError when this email or IP has used up its failed attempts. */
    async assertAllowed(email: string, ip: string): Promise<void> {
      const [emailState, ipState] = await Promise.all([byEmail.get(email), byIp.get(ip)]);
      if (emailState && emailState.consumedPoints >= limits.perEmail) refuse(emailState);
      if (ipState && ipState.consumedPoints >= limits.perIp) refuse(ipState);
    },
    async recordFailure(email: string, ip: string): Promise<void> {
      await Promise.all([byEmail.penalty(email, 1), byIp.penalty(ip, 1)]);
    },
    async recordSuccess(email: string): Promise<void> {
      await byEmail.delete(email);
    },
  };
}

export type LoginLimiter = ReturnType<typeof createLoginLimiter>;

/**
 * The client's address as the nearest proxy reports it. Only trustworthy behind a proxy that
 * overwrites X-Forwarded-For; the per-email limit holds either way.
 */
export function clientIp(headers: Headers): string {
  const forwarded = headers.get("x-forwarded-for")?.split(",")[0]?.trim();
  return forwarded || headers.get("x-real-ip") || "unknown";
}
