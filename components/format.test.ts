import { describe, expect, it } from "vitest";
import { formatDateTime, formatRelative } from "./format";

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
