"use client";

import { keepPreviousData, useQuery } from "@tanstack/react-query";
import dynamic from "next/dynamic";
import { useId, useState } from "react";
import { api } from "../api";
import { downloadCsv, toCsv } from "../csv";
import { formatMicros, formatNumber, formatRelative } from "../format";
import { keyOptionLabel } from "./key-labels";
import type { ApiKey, Payment, UsageReport } from "./types";

function ChartsSkeleton() {
  return (
    <div className="grid gap-4 lg:grid-cols-3" aria-hidden="true">
      <div className="h-[282px] animate-pulse rounded-xl bg-slate-100 lg:col-span-3" />
      <div className="h-[282px] animate-pulse rounded-xl bg-slate-100 lg:col-span-2" />
      <div className="h-[282px] animate-pulse rounded-xl bg-slate-100" />
    </div>
  );
}

// recharts is the heaviest part of the page: it loads after the rest is interactive.
const UsageCharts = dynamic(() => import("./usage-charts"), { ssr: false, loading: ChartsSkeleton });

const isoDay = (time: number) => new Date(time).toISOString().slice(0, 10);
const daysAgo = (days: number) => isoDay(Date.now() - days * 86_400_000);

export function UsagePanel({ keys }: { keys: ApiKey[] }) {
  const id = useId();
  const [range, setRange] = useState({ start: daysAgo(29), end: daysAgo(0) });
  const [model, setModel] = useState("");
  const [keyId, setKeyId] = useState("");
  const params = new URLSearchParams({ start_date: range.start, end_date: range.end });
  if (model) params.set("model", model);
  if (keyId) params.set("key", keyId);
  const usage = useQuery({
    queryKey: ["usage", range.start, range.end, model, keyId],
    queryFn: () => api<UsageReport>(`/api/analytics/usage?${params.toString()}`),
    placeholderData: keepPreviousData,
    refetchInterval: 30_000,
  });
  const report = usage.data;
  const empty = report !== undefined && report.totals.requests === 0;

  // A date typed past the other end moves that end along, so the range is never the wrong way round.
  function setStart(start: string) {
    if (start) setRange((current) => ({ start, end: start > current.end ? start : current.end }));
  }
  function setEnd(end: string) {
    if (end) setRange((current) => ({ start: end < current.start ? end : current.start, end }));
  }

  function exportUsage() {
    if (!report) return;
    const csv = toCsv(
      ["day", "requests", "prompt_tokens", "completion_tokens", "spend_usd"],
      report.days.map((day) => [day.day, day.requests, day.prompt_tokens, day.completion_tokens, (day.spend_micros / 1_000_000).toFixed(6)]),
    );
    downloadCsv(`usage-${report.start_date}-to-${report.end_date}.csv`, csv);
  }

  const field = "mt-1 block w-full rounded-lg border border-slate-300 bg-white px-3 py-2 text-sm shadow-sm focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-500/30";
  return (
    <section aria-labelledby="usage-heading" className="rounded-2xl border border-slate-200 bg-white shadow-sm">
      <div className="flex flex-wrap items-center justify-between gap-3 border-b border-slate-200 px-4 py-4 sm:px-6">
        <h2 id="usage-heading" className="text-base font-semibold">
          Usage
        </h2>
        <div className="flex flex-wrap gap-2">
          <button type="button" onClick={exportUsage} disabled={!report} className="rounded-lg border border-slate-300 px-3 py-1.5 text-sm font-medium text-slate-700 hover:bg-slate-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 disabled:opacity-50">
            Export usage CSV
          </button>
          <PaymentsExport />
        </div>
      </div>
      <div className="space-y-4 px-4 py-4 sm:px-6">
        <div className="grid grid-cols-2 gap-3 md:grid-cols-4">
          <div>
            <label htmlFor={`${id}-start`} className="block text-xs font-medium text-slate-600">
              From
            </label>
            <input id={`${id}-start`} type="date" value={range.start} max={range.end} onChange={(event) => setStart(event.target.value)} className={field} />
          </div>
          <div>
            <label htmlFor={`${id}-end`} className="block text-xs font-medium text-slate-600">
              To
            </label>
            <input id={`${id}-end`} type="date" value={range.end} min={range.start} onChange={(event) => setEnd(event.target.value)} className={field} />
          </div>
          <div>
            <label htmlFor={`${id}-model`} className="block text-xs font-medium text-slate-600">
              Model
            </label>
            <select id={`${id}-model`} value={model} onChange={(event) => setModel(event.target.value)} className={field}>
              <option value="">All models</option>
              {(report?.available_models ?? (model ? [model] : [])).map((name) => (
                <option key={name} value={name}>
                  {name}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label htmlFor={`${id}-key`} className="block text-xs font-medium text-slate-600">
              Key
            </label>
            <select id={`${id}-key`} value={keyId} onChange={(event) => setKeyId(event.target.value)} className={field}>
              <option value="">All keys</option>
              {keys.map((key) => (
                <option key={key.id} value={key.id}>
                  {keyOptionLabel(key)}
                </option>
              ))}
            </select>
          </div>
        </div>
        <div className="flex flex-wrap gap-2" role="group" aria-label="Quick ranges">
          {[7, 30, 90].map((days) => (
            <button
              key={days}
              type="button"
              aria-pressed={range.start === daysAgo(days - 1) && range.end === daysAgo(0)}
              onClick={() => setRange({ start: daysAgo(days - 1), end: daysAgo(0) })}
              className="rounded-full border border-slate-300 px-3 py-1 text-xs font-medium text-slate-700 hover:bg-slate-50 aria-pressed:border-indigo-500 aria-pressed:bg-indigo-50 aria-pressed:text-indigo-700 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500"
            >
              Last {days} days
            </button>
          ))}
        </div>

        <dl className="grid grid-cols-2 gap-3 md:grid-cols-4" aria-busy={usage.isFetching}>
          {[
            ["Spend", report ? formatMicros(report.totals.spend_micros) : "—"],
            ["Requests", report ? formatNumber(report.totals.requests) : "—"],
            ["Prompt tokens", report ? formatNumber(report.totals.prompt_tokens) : "—"],
            ["Completion tokens", report ? formatNumber(report.totals.completion_tokens) : "—"],
          ].map(([label, value]) => (
            <div key={label} className="rounded-xl bg-slate-50 p-3">
              <dt className="text-xs text-slate-500">{label}</dt>
              <dd className="mt-1 text-xl font-semibold tabular-nums" data-testid={`usage-total-${String(label).toLowerCase().replace(/ /g, "-")}`}>
                {value}
              </dd>
            </div>
          ))}
        </dl>

        <p className="min-h-5 text-xs text-slate-500" role="status">
          {usage.isError
            ? `Could not load usage: ${usage.error.message}`
            : !report
              ? "Loading usage…"
              : report.freshness.status === "fresh"
                ? `Up to date: imported from the gateway ${formatRelative(report.freshness.imported_at)}.`
                : report.freshness.status === "never"
                  ? "Usage appears here within a minute of your first request."
                  : `Local data only: last imported from the gateway ${formatRelative(report.freshness.imported_at)}. New requests will appear once the gateway answers again.`}
        </p>

        <div className="relative">
          {report ? <UsageCharts report={report} /> : <ChartsSkeleton />}
          {empty && (
            <div className="absolute inset-0 flex items-center justify-center rounded-xl bg-white/70">
              <p className="rounded-lg bg-white px-4 py-3 text-center text-sm text-slate-600 shadow-sm">No usage in this range yet. Make a request with one of your keys and it shows up here.</p>
            </div>
          )}
        </div>
      </div>
    </section>
  );
}

function PaymentsExport() {
  const payments = useQuery({
    queryKey: ["payments"],
    queryFn: async () => (await api<{ payments: Payment[] }>("/api/payments")).payments,
    retry: false,
  });
  function exportPayments() {
    const rows = (payments.data ?? []).map((payment) => [payment.reference, payment.created_at, payment.paid_at, payment.status, payment.credits, payment.amount_subunits, payment.currency]);
    downloadCsv("payments.csv", toCsv(["reference", "created_at", "paid_at", "status", "credits", "amount_subunits", "currency"], rows));
  }
  return (
    <button
      type="button"
      onClick={exportPayments}
      disabled={!payments.data}
      title={payments.isError ? "Payments are not available on this server yet" : undefined}
      className="rounded-lg border border-slate-300 px-3 py-1.5 text-sm font-medium text-slate-700 hover:bg-slate-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 disabled:opacity-50"
    >
      Export payments CSV
    </button>
  );
}
