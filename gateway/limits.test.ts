import { describe, expect, it } from "vitest";
import { isRefusal, RateLimiter, windowMs, type LimitSubject } from "./limits";

const key = (rpmLimit: number | null, tpmLimit: number | null = null): LimitSubject => ({
  descriptor: "api_key",
  id: "hash",
  rpmLimit,
  tpmLimit,
  maxParallelRequests: null,
});

describe("rate limits", () => {
  it("rpm 2 lets two requests through and refuses the third in the same minute", () => {
    const limiter = new RateLimiter();
    const subject = key(2);
    expect(isRefusal(limiter.admit([subject], 0))).toBe(false);
    expect(isRefusal(limiter.admit([subject], 1))).toBe(false);
    const third = limiter.admit([subject], 2);
    expect(isRefusal(third) && third.kind).toBe("requests");
  });

  it("a new window opens a minute after the first request", () => {
    const limiter = new RateLimiter();
    const subject = key(1);
    limiter.admit([subject], 0);
    expect(isRefusal(limiter.admit([subject], windowMs - 1))).toBe(true);
    expect(isRefusal(limiter.admit([subject], windowMs))).toBe(false);
  });

  it("tokens count after the response: the request after the one that crossed tpm is refused", () => {
    const limiter = new RateLimiter();
    const subject = key(null, 100);
    limiter.admit([subject], 0);
    limiter.finish([subject], 150, 1);
    const next = limiter.admit([subject], 2);
    expect(isRefusal(next) && next.kind).toBe("tokens");
  });

  it("a request refused by one subject is not counted against the others", () => {
    const limiter = new RateLimiter();
    const own = key(5);
    const team: LimitSubject = { descriptor: "team", id: "t", rpmLimit: 0, tpmLimit: null, maxParallelRequests: null };
    expect(isRefusal(limiter.admit([own, team], 0))).toBe(true);
    const pass = limiter.admit([own], 1);
    const headers = isRefusal(pass) ? [] : pass.headers;
    expect(headers[headers.indexOf("x-ratelimit-api_key-remaining-requests") + 1]).toBe("4");
  });

  it("max_parallel_requests frees a slot when a request finishes", () => {
    const limiter = new RateLimiter();
    const subject: LimitSubject = { ...key(null), maxParallelRequests: 1 };
    limiter.admit([subject], 0);
    expect(isRefusal(limiter.admit([subject], 1))).toBe(true);
    limiter.finish([subject], 0, 2);
    expect(isRefusal(limiter.admit([subject], 3))).toBe(false);
  });
});
