/**
 * LiteLLM's budget durations and calendar-aligned reset times (duration_parser.py,
 * get_next_standardized_reset_time), in UTC.
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

function startOfDay(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
}

function firstOfNextMonth(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
}

/** The next boundary after `now` that is a multiple of `stepMs` counted from midnight. */
function nextMultipleSinceMidnight(now: Date, stepMs: number): Date {
  const midnight = startOfDay(now).getTime();
  const steps = Math.floor((now.getTime() - midnight) / stepMs) + 1;
  return new Date(midnight + steps * stepMs);
}

/**
 * When a budget with this duration next resets: `1d` at the next midnight, `7d`/`1w` on the next
 * Monday, `30d` and `1mo` on the first of next month, other day counts N days after today's
 * midnight, and hours, minutes and seconds at the next multiple counted from midnight.
 */
export function nextBudgetReset(duration: Duration, now: Date): Date {
  const day = 86_400_000;
  switch (duration.unit) {
    case "mo":
      return firstOfNextMonth(now);
    case "w":
    case "d": {
      const days = duration.unit === "w" ? duration.count * 7 : duration.count;
      if (days === 1) return new Date(startOfDay(now).getTime() + day);
      if (days === 7) {
        const daysSinceMonday = (now.getUTCDay() + 6) % 7;
        return new Date(startOfDay(now).getTime() + (7 - daysSinceMonday) * day);
      }
      if (days === 30) return firstOfNextMonth(now);
      return new Date(startOfDay(now).getTime() + days * day);
    }
    case "h":
      return nextMultipleSinceMidnight(now, duration.count * 3_600_000);
    case "m":
      return nextMultipleSinceMidnight(now, duration.count * 60_000);
    case "s":
      return nextMultipleSinceMidnight(now, duration.count * 1000);
  }
}

/** `budget_reset_at` for a stored `budget_duration` string, or null when there is none. */
export function budgetResetAt(budgetDuration: string | null | undefined, now: Date): Date | null {
  if (!budgetDuration) return null;
  const duration = parseDuration(budgetDuration);
  return duration ? nextBudgetReset(duration, now) : null;
}
