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
  /** The `x-ratelimit-*` headers for the answer, as name, value, name, value… */
  headers: readonly string[];
}

const noHeaders: readonly string[] = Object.freeze([]);

/** The `x-ratelimit-*` header names of each descriptor, made once rather than per request. */
const headerNames = {
  api_key: limitHeaderNames("api_key"),
  user: limitHeaderNames("user"),
  team: limitHeaderNames("team"),
};

function limitHeaderNames(descriptor: LimitSubject["descriptor"]) {
  const prefix = `x-ratelimit-${descriptor}`;
  return {
    limitRequests: `${prefix}-limit-requests`,
    remainingRequests: `${prefix}-remaining-requests`,
    limitTokens: `${prefix}-limit-tokens`,
    remainingTokens: `${prefix}-remaining-tokens`,
  };
}

/** Appends a subject's limit and remaining headers, given its window's counts with this request. */
export function pushLimitHeaders(headers: string[], subject: LimitSubject, requests: number, tokens: number): void {
  const names = headerNames[subject.descriptor];
  if (subject.rpmLimit !== null) {
    headers.push(names.limitRequests, String(subject.rpmLimit), names.remainingRequests, String(Math.max(0, subject.rpmLimit - requests)));
  }
  if (subject.tpmLimit !== null) {
    headers.push(names.limitTokens, String(subject.tpmLimit), names.remainingTokens, String(Math.max(0, subject.tpmLimit - tokens)));
  }
}

const isLimited = (subject: LimitSubject) =>
  subject.rpmLimit !== null || subject.tpmLimit !== null || subject.maxParallelRequests !== null;

export class RateLimiter {
  // One map per descriptor, looked up by the row's own id string (whose hash the engine keeps),
  // rather than by a `descriptor:id` string built on every request.
  private readonly windows: Record<LimitSubject["descriptor"], Map<string, Window>> = {
    api_key: new Map(),
    user: new Map(),
    team: new Map(),
  };

  private window(subject: LimitSubject, now: number): Window {
    const windows = this.windows[subject.descriptor];
    let window = windows.get(subject.id);
    if (!window) {
      window = { startedAt: now, requests: 0, tokens: 0, inFlight: 0 };
      windows.set(subject.id, window);
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
    let limited = 0;
    for (const subject of subjects) {
      if (!isLimited(subject)) continue;
      limited += 1;
      const window = this.window(subject, now);
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
    if (limited === 0) return { headers: noHeaders };
    const headers: string[] = [];
    for (const subject of subjects) {
      if (!isLimited(subject)) continue;
      const window = this.window(subject, now);
      window.requests += 1;
      window.inFlight += 1;
      pushLimitHeaders(headers, subject, window.requests, window.tokens);
    }
    return { headers };
  }

  /** Ends an admitted request: frees its parallel slot and counts the tokens it used. */
  finish(subjects: readonly LimitSubject[], tokens: number, now: number): void {
    for (const subject of subjects) {
      const window = this.windows[subject.descriptor].get(subject.id);
      if (!window) continue;
      window.inFlight = Math.max(0, window.inFlight - 1);
      if (now - window.startedAt < windowMs) window.tokens += tokens;
    }
  }

  /** Drops windows that ended long ago and have nothing in flight, so memory stays bounded. */
  sweep(now: number): void {
    for (const windows of Object.values(this.windows)) {
      for (const [id, window] of windows) {
        if (window.inFlight === 0 && now - window.startedAt >= 2 * windowMs) windows.delete(id);
      }
    }
  }
}

export function isRefusal(result: LimitPass | LimitRefusal): result is LimitRefusal {
  return "kind" in result;
}
