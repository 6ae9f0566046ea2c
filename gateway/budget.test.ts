import { describe, expect, it } from "vitest";
import { addDuration, nextBudgetReset, parseDuration } from "./budget";

const at = (iso: string) => new Date(iso);

describe("budget durations", () => {
  it.each([
    ["30s", { count: 30, unit: "s" }],
    ["30m", { count: 30, unit: "m" }],
    ["30h", { count: 30, unit: "h" }],
    ["30d", { count: 30, unit: "d" }],
    ["2w", { count: 2, unit: "w" }],
    ["1mo", { count: 1, unit: "mo" }],
    ["daily", { count: 1, unit: "d" }],
    ["weekly", { count: 7, unit: "d" }],
    ["monthly", { count: 1, unit: "mo" }],
  ])("%s is understood", (text, expected) => {
    expect(parseDuration(text)).toEqual(expected);
  });

  it.each(["", "30", "1hr", "2mo", "0d", "-1d", "yearly"])("%j is refused", (text) => {
    expect(parseDuration(text)).toBeNull();
  });
});

describe("budget resets are calendar-aligned like LiteLLM's", () => {
  const now = at("2026-05-13T13:20:45.500Z"); // a Wednesday

  it.each([
    ["1d", "2026-05-14T00:00:00.000Z"],
    ["daily", "2026-05-14T00:00:00.000Z"],
    ["7d", "2026-05-18T00:00:00.000Z"],
    ["1w", "2026-05-18T00:00:00.000Z"],
    ["weekly", "2026-05-18T00:00:00.000Z"],
    ["30d", "2026-06-01T00:00:00.000Z"],
    ["1mo", "2026-06-01T00:00:00.000Z"],
    ["monthly", "2026-06-01T00:00:00.000Z"],
    ["3d", "2026-05-16T00:00:00.000Z"],
    ["5h", "2026-05-13T15:00:00.000Z"],
    ["30m", "2026-05-13T13:30:00.000Z"],
    ["30s", "2026-05-13T13:21:00.000Z"],
  ])("%s resets at %s", (text, expected) => {
    const duration = parseDuration(text);
    expect(duration).not.toBeNull();
    if (duration) expect(nextBudgetReset(duration, now).toISOString()).toBe(expected);
  });

  it("a weekly budget set on a Monday resets on the next Monday, not the same day", () => {
    const monday = at("2026-05-18T00:00:00.000Z");
    expect(nextBudgetReset({ count: 7, unit: "d" }, monday).toISOString()).toBe("2026-05-25T00:00:00.000Z");
  });

  it("a monthly budget set in December resets on the first of January", () => {
    expect(nextBudgetReset({ count: 1, unit: "mo" }, at("2026-12-31T23:59:59Z")).toISOString()).toBe(
      "2027-01-01T00:00:00.000Z",
    );
  });

  it("a key's lifetime is exact, not aligned", () => {
    expect(addDuration(now, { count: 30, unit: "s" }).toISOString()).toBe("2026-05-13T13:21:15.500Z");
  });
});

describe("budget resets follow litellm_settings.timezone", () => {
  const now = at("2026-05-13T13:20:45.500Z"); // 09:20 in New York (EDT, UTC-4)

  it.each([
    ["1d", "2026-05-14T04:00:00.000Z"],
    ["1mo", "2026-06-01T04:00:00.000Z"],
    ["7d", "2026-05-18T04:00:00.000Z"],
    ["5h", "2026-05-13T14:00:00.000Z"],
  ])("%s resets at New York's %s", (text, expected) => {
    const duration = parseDuration(text);
    if (duration) expect(nextBudgetReset(duration, now, "America/New_York").toISOString()).toBe(expected);
  });

  it("a weekly reset across the spring daylight-saving change lands on local midnight", () => {
    // Saturday 7 March 2026, 07:00 EST; clocks go forward on Sunday 8 March.
    const saturday = at("2026-03-07T12:00:00.000Z");
    expect(nextBudgetReset({ count: 1, unit: "d" }, saturday, "America/New_York").toISOString()).toBe("2026-03-08T05:00:00.000Z");
    expect(nextBudgetReset({ count: 7, unit: "d" }, saturday, "America/New_York").toISOString()).toBe("2026-03-09T04:00:00.000Z");
  });
});
