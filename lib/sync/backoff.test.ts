import { describe, expect, it } from "vitest";
import { backoffDelayMs } from "./backoff";

describe("sync backoff", () => {
  it("doubles its ceiling per attempt from one second", () => {
    expect([0, 1, 2, 3].map((attempts) => backoffDelayMs(attempts, undefined, () => 0.999999))).toEqual([999, 1999, 3999, 7999]);
  });

  it("never waits longer than five minutes", () => {
    expect(backoffDelayMs(50, undefined, () => 0.999999)).toBe(299_999);
  });

  it("is fully jittered: anywhere from zero up to the ceiling", () => {
    expect(backoffDelayMs(3, undefined, () => 0)).toBe(0);
    const delays = Array.from({ length: 500 }, () => backoffDelayMs(3));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...delays)).toBeLessThan(8000);
    expect(new Set(delays).size).toBeGreaterThan(100);
  });
});
