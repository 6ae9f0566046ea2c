/**
 * Per-minute request and token limits in LiteLLM's shape (parallel_request_limiter_v3): a fixed
 * 60-second window that opens at the first request, a request refused when it would be the
 * (N+1)-th of an `rpm_limit: N` window, and tokens counted after the response, so a `tpm_limit`
 * refuses the request after the one that crossed it. Counters live in this process.
 */

export const windowMs = 60_000;

export type LimitKind = "requests" | "tokens" | "max_parallel_requests";

/** One thing limits apply to: `api_key`, `user` or `team`, as LiteLLM names its descriptors. */
export interface LimitSubject {
  descriptor: "api_key" | "user" | "team";
  id: string;
  rpmLimit: number | null;
  tpmLimit: number | null;
  maxParallelRequests: number | null;
}

interface Window {
  startedAt: number;
  requests: number;
  tokens: number;
  inFlight: number;
}

export interface LimitRefusal {
  subject: LimitSubject;
  kind: LimitKind;
  limit: number;
  resetAt: number;
}

export interface LimitPass {
  headers: Record<string, string>;
}

export class RateLimiter {
  private readonly windows = new Map<string, Window>();

  private window(subject: LimitSubject, now: number): Window {
    const name = `${subject.descriptor}:${subject.id}`;
    let window = this.windows.get(name);
    if (!window) {
      window = { startedAt: now, requests: 0, tokens: 0, inFlight: 0 };
      this.windows.set(name, window);
    } else if (now - window.startedAt >= windowMs) {
      window.startedAt = now;
      window.requests = 0;
      window.tokens = 0;
    }
    return window;
  }

  /**
   * Counts one request against every subject, or none of them if any subject refuses it, so a
   * request refused by its team's limit does not use up its key's.
   */
  admit(subjects: readonly LimitSubject[], now: number): LimitPass | LimitRefusal {
    const limited = subjects.filter(
      (subject) => subject.rpmLimit !== null || subject.tpmLimit !== null || subject.maxParallelRequests !== null,
    );
    if (limited.length === 0) return { headers: {} };
    const windows = limited.map((subject) => this.window(subject, now));
    for (let index = 0; index < limited.length; index += 1) {
      const subject = limited[index];
      const window = windows[index];
      if (!subject || !window) continue;
      const resetAt = window.startedAt + windowMs;
      if (subject.maxParallelRequests !== null && window.inFlight + 1 > subject.maxParallelRequests) {
        return { subject, kind: "max_parallel_requests", limit: subject.maxParallelRequests, resetAt };
      }
      if (subject.rpmLimit !== null && window.requests + 1 > subject.rpmLimit) {
        return { subject, kind: "requests", limit: subject.rpmLimit, resetAt };
      }
      if (subject.tpmLimit !== null && window.tokens >= subject.tpmLimit) {
        return { subject, kind: "tokens", limit: subject.tpmLimit, resetAt };
      }
    }
    const headers: Record<string, string> = {};
    for (let index = 0; index < limited.length; index += 1) {
      const subject = limited[index];
      const window = windows[index];
      if (!subject || !window) continue;
      window.requests += 1;
      window.inFlight += 1;
      const prefix = `x-ratelimit-${subject.descriptor}`;
      if (subject.rpmLimit !== null) {
        headers[`${prefix}-limit-requests`] = String(subject.rpmLimit);
        headers[`${prefix}-remaining-requests`] = String(Math.max(0, subject.rpmLimit - window.requests));
      }
      if (subject.tpmLimit !== null) {
        headers[`${prefix}-limit-tokens`] = String(subject.tpmLimit);
        headers[`${prefix}-remaining-tokens`] = String(Math.max(0, subject.tpmLimit - window.tokens));
      }
    }
    return { headers };
  }

  /** Ends an admitted request: frees its parallel slot and counts the tokens it used. */
  finish(subjects: readonly LimitSubject[], tokens: number, now: number): void {
    for (const subject of subjects) {
      const window = this.windows.get(`${subject.descriptor}:${subject.id}`);
      if (!window) continue;
      window.inFlight = Math.max(0, window.inFlight - 1);
      if (now - window.startedAt < windowMs) window.tokens += tokens;
    }
  }

  /** Drops windows that ended long ago and have nothing in flight, so memory stays bounded. */
  sweep(now: number): void {
    for (const [name, window] of this.windows) {
      if (window.inFlight === 0 && now - window.startedAt >= 2 * windowMs) this.windows.delete(name);
    }
  }
}

export function isRefusal(result: LimitPass | LimitRefusal): result is LimitRefusal {
  return "kind" in result;
}
