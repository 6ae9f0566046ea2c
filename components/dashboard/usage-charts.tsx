"use client";

import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { formatMicros, formatNumber } from "../format";
import type { UsageReport } from "./types";

const chartHeight = 220;

/** Axis labels that stay distinct for fractions of a cent: $0.00012, $0.5, $12.00. */
// Two significant digits under a dollar (so $0.003, $0.006, $0.009, $0.012 rather than a rounded $0.01), three above.
const dollarTick = (value: number) => (value === 0 ? "$0" : `$${Number(value.toPrecision(value < 1 ? 2 : 3))}`);

function ChartFrame({ title, summary, children }: { title: string; summary: string; children: React.ReactNode }) {
  return (
    <figure className="min-w-0 rounded-xl border border-slate-100 p-4">
      <figcaption className="text-sm font-medium text-slate-700">{title}</figcaption>
      {/* The chart is a picture; screen readers get the same figures as a sentence. */}
      <p className="sr-only">{summary}</p>
      <div aria-hidden="true" style={{ height: chartHeight }} className="mt-2">
        {children}
      </div>
    </figure>
  );
}

export default function UsageCharts({ report }: { report: UsageReport }) {
  const days = report.days.map((day) => ({ day: day.day.slice(5), spend: day.spend_micros / 1_000_000, requests: day.requests }));
  const models = report.models.map((model) => ({ model: model.model, tokens: model.total_tokens }));
  const keys = report.keys.map((key) => ({ key: key.alias ?? "deleted key", requests: key.requests }));
  const busiest = report.days.reduce((best, day) => (day.spend_micros > (best?.spend_micros ?? -1) ? day : best), report.days[0]);
  return (
    <div className="grid gap-4 lg:grid-cols-3">
      <div className="lg:col-span-3">
        <ChartFrame
          title="Spend per day (USD)"
          summary={`Spend per day from ${report.start_date} to ${report.end_date}: ${formatMicros(report.totals.spend_micros)} in total${busiest && busiest.spend_micros > 0 ? `, most on ${busiest.day} (${formatMicros(busiest.spend_micros)})` : ""}.`}
        >
          <ResponsiveContainer width="100%" height="100%">
            <BarChart data={days} margin={{ top: 4, right: 8, left: 0, bottom: 0 }}>
              <CartesianGrid strokeDasharray="3 3" vertical={false} stroke="#e2e8f0" />
              <XAxis dataKey="day" tick={{ fontSize: 11 }} interval="preserveStartEnd" minTickGap={16} />
              <YAxis tick={{ fontSize: 11 }} width={80} tickFormatter={dollarTick} />
              <Tooltip formatter={(value) => [formatMicros(Math.round(Number(value) * 1_000_000)), "Spend"]} />
              <Bar dataKey="spend" fill="#6366f1" radius={[3, 3, 0, 0]} isAnimationActive={false} />
            </BarChart>
          </ResponsiveContainer>
        </ChartFrame>
      </div>
      <div className="lg:col-span-2">
        <ChartFrame title="Tokens per model" summary={report.models.map((model) => `${model.model}: ${formatNumber(model.total_tokens)} tokens`).join("; ") || "No tokens."}>
          <ResponsiveContainer width="100%" height="100%">
            <BarChart data={models} layout="vertical" margin={{ top: 4, right: 8, left: 8, bottom: 0 }}>
              <CartesianGrid strokeDasharray="3 3" horizontal={false} stroke="#e2e8f0" />
              <XAxis type="number" tick={{ fontSize: 11 }} tickFormatter={(value: number) => formatNumber(value)} />
              <YAxis type="category" dataKey="model" tick={{ fontSize: 11 }} width={110} />
              <Tooltip formatter={(value) => [formatNumber(Number(value)), "Tokens"]} />
              <Bar dataKey="tokens" fill="#0ea5e9" radius={[0, 3, 3, 0]} isAnimationActive={false} />
            </BarChart>
          </ResponsiveContainer>
        </ChartFrame>
      </div>
      <ChartFrame title="Requests per key" summary={report.keys.map((key) => `${key.alias ?? "deleted key"}: ${formatNumber(key.requests)} requests`).join("; ") || "No requests."}>
        <ResponsiveContainer width="100%" height="100%">
          <BarChart data={keys} margin={{ top: 4, right: 8, left: 0, bottom: 0 }}>
            <CartesianGrid strokeDasharray="3 3" vertical={false} stroke="#e2e8f0" />
            <XAxis dataKey="key" tick={{ fontSize: 11 }} />
            <YAxis tick={{ fontSize: 11 }} width={40} allowDecimals={false} />
            <Tooltip formatter={(value) => [formatNumber(Number(value)), "Requests"]} />
            <Bar dataKey="requests" fill="#10b981" radius={[3, 3, 0, 0]} isAnimationActive={false} />
          </BarChart>
        </ResponsiveContainer>
      </ChartFrame>
    </div>
  );
}
