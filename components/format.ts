export const formatNumber = (value: number) => value.toLocaleString("en-US");

/** Cents (= credits) as dollars. */
export const formatCents = (cents: number) => `${cents < 0 ? "-" : ""}$${(Math.abs(cents) / 100).toFixed(2)}`;

/**
 * A payment amount in its currency's subunit (kobo, cents: Paystack's unit, a hundredth for
 * every currency it takes) as the buyer sees it at checkout: "$10.00", "NGN 5,000.00". One
 * formatter, so the price in the buy dialog, the checkout and the admin's tables read alike.
 */
export function formatMoney(subunits: number, currency: string): string {
  return moneyFormat(currency).format(subunits / 100);
}

const moneyFormats = new Map<string, Intl.NumberFormat>();

function moneyFormat(currency: string): Intl.NumberFormat {
  let format = moneyFormats.get(currency);
  if (!format) {
    format = new Intl.NumberFormat("en-US", { style: "currency", currency, minimumFractionDigits: 2, maximumFractionDigits: 2 });
    moneyFormats.set(currency, format);
  }
  return format;
}

/** Millionths of a dollar, with more precision for small amounts. */
export function formatMicros(micros: number): string {
  const dollars = Math.abs(micros) / 1_000_000;
  const sign = micros < 0 ? "-" : "";
  // Under a cent, every millionth counts (a request to a small model costs a few of them): all
  // six decimals, less the trailing zeros past the fourth.
  if (dollars !== 0 && dollars < 0.01) return `${sign}$${dollars.toFixed(6).replace(/0{1,2}$/, "")}`;
  return `${sign}$${dollars.toFixed(2)}`;
}

export function formatRelative(iso: string | null, now = Date.now()): string {
  if (!iso) return "never";
  const seconds = Math.round((now - Date.parse(iso)) / 1000);
  // Either side of now by a few seconds reads the same: a clock a tick behind must not show a
  // sync that just happened as "in 3s".
  if (Math.abs(seconds) < 10) return "just now";
  if (seconds < 0) return `in ${formatDuration(-seconds)}`;
  return `${formatDuration(seconds)} ago`;
}

function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 86_400) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86_400)} d`;
}

export const formatDate = (iso: string) => iso.slice(0, 10);

/** A moment to the minute, in UTC and saying so: the server and every reader agree on it. */
export const formatDateTime = (iso: string) => `${iso.slice(0, 16).replace("T", " ")} UTC`;

/** LiteLLM durations in words: 30d → "30 days", monthly → "month". */
export function formatBudgetDuration(duration: string | null): string {
  if (!duration) return "no reset";
  const named: Record<string, string> = { daily: "day", weekly: "week", monthly: "month" };
  if (named[duration]) return `per ${named[duration]}`;
  const match = /^(\d+)(s|m|h|d|mo)$/.exec(duration);
  if (!match) return duration;
  const units: Record<string, string> = { s: "second", m: "minute", h: "hour", d: "day", mo: "month" };
  const count = Number(match[1]);
  const unit = units[match[2] ?? ""] ?? "";
  return `every ${count === 1 ? unit : `${count} ${unit}s`}`;
}
