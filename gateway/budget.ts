/**
 * LiteLLM's budget durations and calendar-aligned reset times (duration_parser.py,
 * get_next_standardized_reset_time), in UTC or in `litellm_settings.timezone`.
 *
 * Accepted: `Ns`, `Nm`, `Nh`, `Nd`, `Nw`, `1mo`, and the words our users' documents use
 * (`daily`, `weekly`, `monthly`), which real LiteLLM rejects; we map them to `1d`, `7d`, `1mo`.
 */

export type DurationUnit = "s" | "m" | "h" | "d" | "w" | "mo";

export interface Duration {
  count: number;
  unit: DurationUnit;
}

const words: Record<string, string> = { daily: "1d", weekly: "7d", monthly: "1mo" };

export function parseDuration(text: string): Duration | null {
  const normalized = words[text.trim().toLowerCase()] ?? text.trim();
  const match = /^(\d+)(mo|[smhdw])$/.exec(normalized);
  if (!match?.[1] || !match[2]) return null;
  const count = Number(match[1]);
  if (!Number.isSafeInteger(count) || count <= 0) return null;
  const unit = match[2] as DurationUnit;
  // LiteLLM only knows the calendar month as a whole unit.
  if (unit === "mo" && count !== 1) return null;
  return { count, unit };
}

export function isValidDuration(text: string): boolean {
  return parseDuration(text) !== null;
}

const unitSeconds: Record<Exclude<DurationUnit, "mo">, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** The exact end of a key's lifetime (`duration`), not calendar-aligned, as LiteLLM does. */
export function addDuration(from: Date, duration: Duration): Date {
  if (duration.unit === "mo") {
    const next = new Date(from);
    next.setUTCMonth(next.getUTCMonth() + duration.count);
    return next;
  }
  return new Date(from.getTime() + duration.count * unitSeconds[duration.unit] * 1000);
}

let defaultTimeZone = "UTC";

/** Wall-clock fields of an instant in a time zone, as if they were a UTC instant. */
interface WallClock {
  year: number;
  month: number; // 0-based, as Date.UTC takes it
  day: number;
  msOfDay: number;
  weekday: number; // 0 = Sunday
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let found = formatters.get(timeZone);
  if (!found) {
    found = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(timeZone, found);
  }
  return found;
}

/** Throws a RangeError for a time zone the runtime does not know. */
export function checkTimeZone(timeZone: string): void {
  formatter(timeZone);
}

function wallClock(instant: Date, timeZone: string): WallClock {
  if (timeZone === "UTC") {
    const midnight = Date.UTC(instant.getUTCFullYear(), instant.getUTCMonth(), instant.getUTCDate());
    return {
      year: instant.getUTCFullYear(),
      month: instant.getUTCMonth(),
      day: instant.getUTCDate(),
      msOfDay: instant.getTime() - midnight,
      weekday: instant.getUTCDay(),
    };
  }
  const parts: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(instant)) {
    if (part.type !== "literal") parts[part.type] = Number(part.value);
  }
  const year = parts.year ?? 1970;
  const month = (parts.month ?? 1) - 1;
  const day = parts.day ?? 1;
  const msOfDay = ((parts.hour ?? 0) * 3600 + (parts.minute ?? 0) * 60 + (parts.second ?? 0)) * 1000 + instant.getUTCMilliseconds();
  return { year, month, day, msOfDay, weekday: new Date(Date.UTC(year, month, day)).getUTCDay() };
}

/** The instant at which the zone's clock shows the given wall-clock time (Date.UTC fields). */
function instantOf(wallUtcMs: number, timeZone: string): Date {
  if (timeZone === "UTC") return new Date(wallUtcMs);
  // Two rounds settle the zone's offset, including across a daylight-saving change.
  let guess = wallUtcMs;
  for (let round = 0; round < 2; round += 1) {
    const seen = wallClock(new Date(guess), timeZone);
    const seenMs = Date.UTC(seen.year, seen.month, seen.day) + seen.msOfDay;
    guess += wallUtcMs - seenMs;
  }
  return new Date(guess);
}

/**
 * When a budget with this duration next resets: `1d` at the next midnight, `7d`/`1w` on the next
 * Monday, `30d` and `1mo` on the first of next month, other day counts N days after today's
 * midnight, and hours, minutes and seconds at the next multiple counted from midnight — all on
 * the clock of `timeZone`.
 */
export function nextBudgetReset(duration: Duration, now: Date, timeZone = defaultTimeZone): Date {
  const day = 86_400_000;
  const clock = wallClock(now, timeZone);
  const midnight = Date.UTC(clock.year, clock.month, clock.day);
  const firstOfNextMonth = Date.UTC(clock.year, clock.month + 1, 1);
  const nextMultiple = (stepMs: number) => midnight + (Math.floor(clock.msOfDay / stepMs) + 1) * stepMs;
  let wall: number;
  switch (duration.unit) {
    case "mo":
      wall = firstOfNextMonth;
      break;
    case "w":
    case "d": {
      const days = duration.unit === "w" ? duration.count * 7 : duration.count;
      if (days === 7) wall = midnight + (7 - ((clock.weekday + 6) % 7)) * day;
      else if (days === 30) wall = firstOfNextMonth;
      else wall = midnight + days * day;
      break;
    }
    case "h":
      wall = nextMultiple(duration.count * 3_600_000);
      break;
    case "m":
      wall = nextMultiple(duration.count * 60_000);
      break;
    case "s":
      wall = nextMultiple(duration.count * 1000);
      break;
  }
  return instantOf(wall, timeZone);
}

/** `litellm_settings.timezone`: the clock budgets reset on (LiteLLM's default is UTC). */
export function setBudgetTimeZone(timeZone: string): void {
  checkTimeZone(timeZone);
  defaultTimeZone = timeZone;
}

/** `budget_reset_at` for a stored `budget_duration` string, or null when there is none. */
export function budgetResetAt(budgetDuration: string | null | undefined, now: Date): Date | null {
  if (!budgetDuration) return null;
  const duration = parseDuration(budgetDuration);
  return duration ? nextBudgetReset(duration, now) : null;
}
