import { z } from "zod";
import { tokenOf } from "../auth";
import { validate } from "../http";
import { ok, type Route, type RouteCall } from "../routes";
import * as store from "../store";
import { spendLogView } from "../views";

/** /spend/logs and /global/spend — read from the spend-log rows, after a flush. */

const isoDay = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "must be YYYY-MM-DD")
  .refine((day) => !Number.isNaN(Date.parse(`${day}T00:00:00Z`)) && new Date(`${day}T00:00:00Z`).toISOString().startsWith(day), {
    message: "is not a calendar date",
  });

const spendLogsQuery = z.object({
  api_key: z.string().optional(),
  user_id: z.string().optional(),
  request_id: z.string().optional(),
  start_date: isoDay.optional(),
  end_date: isoDay.optional(),
  summarize: z.enum(["true", "false"]).default("true"),
});

function daysBetween(start: string, end: string): string[] {
  const days: string[] = [];
  const last = Date.parse(`${end}T00:00:00Z`);
  for (let day = Date.parse(`${start}T00:00:00Z`); day <= last && days.length < 3660; day += 86_400_000) {
    days.push(new Date(day).toISOString().slice(0, 10));
  }
  return days;
}

async function spendLogs(call: RouteCall) {
  const { gateway, caller } = call;
  const query = validate(spendLogsQuery, Object.fromEntries(call.query));
  let userId = query.user_id;
  // A key holder (not an admin) sees only their own user's rows.
  if (caller?.kind === "key" && caller.context.user?.user_role !== "proxy_admin") {
    userId = caller.context.key.user_id ?? `key:${caller.hash}`;
  }
  // Rows still in memory would be missing from the answer otherwise.
  await gateway.flusher.flush();
  const filter = {
    apiKey: query.api_key === undefined ? undefined : tokenOf(query.api_key),
    userId,
    requestId: query.request_id,
  };
  if (query.start_date && query.end_date && query.summarize === "true" && query.request_id === undefined) {
    const rows = await store.dailySpend(gateway.sql, { ...filter, startDate: query.start_date, endDate: query.end_date });
    return daysBetween(query.start_date, query.end_date).map((day) => {
      const entry: Record<string, unknown> & { spend: number; users: Record<string, number>; models: Record<string, number>; api_keys: Record<string, number> } = {
        startTime: day,
        spend: 0,
        users: {},
        models: {},
        api_keys: {},
      };
      for (const row of rows.filter((candidate) => candidate.day === day)) {
        entry.spend += row.spend;
        entry.api_keys[row.api_key] = (entry.api_keys[row.api_key] ?? 0) + row.spend;
        entry[row.api_key] = entry.api_keys[row.api_key];
        if (row.user_id) entry.users[row.user_id] = (entry.users[row.user_id] ?? 0) + row.spend;
        entry.models[row.model_group] = (entry.models[row.model_group] ?? 0) + row.spend;
      }
      return entry;
    });
  }
  const rows = await store.findSpendLogs(gateway.sql, { ...filter, startDate: query.start_date, endDate: query.end_date });
  return rows.map(spendLogView);
}

async function globalSpend(call: RouteCall) {
  const { gateway } = call;
  await gateway.flusher.flush();
  return { spend: await store.monthlyGlobalSpend(gateway.sql), max_budget: gateway.settings.maxBudget ?? null };
}

export const spendRoutes: Record<string, Route> = {
  "/spend/logs": { method: "GET", access: "admin", public: false, handle: async (call) => ok(await spendLogs(call)) },
  "/global/spend": { method: "GET", access: "admin", public: false, handle: async (call) => ok(await globalSpend(call)) },
};
