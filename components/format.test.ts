import { describe, expect, it } from "vitest";
import { formatDateTime, formatMicros, formatMoney, formatRelative } from "./format";

describe("formatRelative", () => {
  const now = Date.parse("2026-11-24T12:00:00Z");
  const at = (offsetSeconds: number) => new Date(now + offsetSeconds * 1000).toISOString();

  it("a time within ten seconds either side of now is just now", () => {
    for (const offset of [-9, -1, 0, 1, 9]) expect(formatRelative(at(offset), now)).toBe("just now");
  });

  it("past times read as ago, in the largest whole unit", () => {
    expect(formatRelative(at(-13), now)).toBe("13s ago");
    expect(formatRelative(at(-5 * 60), now)).toBe("5 min ago");
    expect(formatRelative(at(-3600), now)).toBe("1 h ago");
    expect(formatRelative(at(-3 * 86_400), now)).toBe("3 d ago");
  });

  it("future times read as in", () => {
    expect(formatRelative(at(30), now)).toBe("in 30s");
    expect(formatRelative(at(2 * 3600), now)).toBe("in 2 h");
  });

  it("no time at all is never", () => {
    expect(formatRelative(null, now)).toBe("never");
  });
});

describe("formatDateTime", () => {
  it("is the minute in UTC, labelled as such", () => {
    expect(formatDateTime("2026-11-24T05:52:31.123Z")).toBe("2026-11-24 05:52 UTC");
  });
});

describe("formatMoney", () => {
  it("shows subunits in the currency's own notation, with thousands separators and two decimals", () => {
    expect(formatMoney(1_000, "USD")).toBe("$10.00");
    expect(formatMoney(123_456_789, "NGN")).toBe("NGN\u00a01,234,567.89"); // a no-break space: code and amount never wrap apart
    expect(formatMoney(5, "ZAR")).toBe("ZAR\u00a00.05");
  });

  it("a refund's negative amount keeps its sign", () => {
    expect(formatMoney(-250, "USD")).toBe("-$2.50");
  });
});

describe("formatMicros", () => {
  it("spend under a cent keeps its significant digits instead of rounding to $0.0000", () => {
    expect(formatMicros(9)).toBe("$0.000009");
    expect(formatMicros(10)).toBe("$0.00001");
    expect(formatMicros(1_200)).toBe("$0.0012");
    expect(formatMicros(4_567)).toBe("$0.004567");
    expect(formatMicros(-9)).toBe("-$0.000009");
  });

  it("a cent or more shows dollars and cents; nothing is $0.00", () => {
    expect(formatMicros(0)).toBe("$0.00");
    expect(formatMicros(10_000)).toBe("$0.01");
    expect(formatMicros(12_345_678)).toBe("$12.35");
  });
});
