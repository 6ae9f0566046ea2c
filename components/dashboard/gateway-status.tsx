"use client";

import { useQuery } from "@tanstack/react-query";
import { CopyButton } from "./secret-reveal";
import type { HealthReport } from "./types";

export const healthQueryKey = ["health"] as const;

type GatewayState = "reachable" | "degraded" | "down" | "checking";

export function gatewayState(report: HealthReport | undefined): GatewayState {
  if (!report) return "checking";
  if (!report.gateway.ok) return "down";
  if (report.sync && report.sync.breaker !== "closed") return "degraded";
  return "reachable";
}

const labels: Record<GatewayState, { text: string; dot: string }> = {
  reachable: { text: "Reachable", dot: "bg-emerald-500" },
  degraded: { text: "Degraded", dot: "bg-amber-500" },
  down: { text: "Down", dot: "bg-rose-500" },
  checking: { text: "Checking…", dot: "bg-slate-300" },
};

export function useHealth() {
  return useQuery({
    queryKey: healthQueryKey,
    // /api/health answers 503 with the same body when the database is down.
    queryFn: async () => {
      const response = await fetch("/api/health", { cache: "no-store" });
      return (await response.json()) as HealthReport;
    },
    refetchInterval: 15_000,
  });
}

export function GatewayCard({ gatewayUrl }: { gatewayUrl: string }) {
  const health = useHealth();
  const state = health.isError ? "down" : gatewayState(health.data);
  const label = labels[state];
  return (
    <div className="rounded-2xl border border-slate-200 bg-white p-6 shadow-sm">
      <div className="flex items-center justify-between gap-2">
        <h2 className="text-sm font-medium text-slate-500">Gateway</h2>
        <p className="flex items-center gap-2 text-sm font-medium" data-testid="gateway-state">
          <span aria-hidden="true" className={`inline-block h-2.5 w-2.5 rounded-full ${label.dot}`} />
          <span>{label.text}</span>
        </p>
      </div>
      <p className="mt-2 text-sm text-slate-700">Point any OpenAI-compatible client at:</p>
      <div className="mt-2 flex items-center gap-2">
        <code className="block min-w-0 flex-1 break-all rounded-lg bg-slate-900 px-3 py-2 font-mono text-sm text-slate-100">{gatewayUrl}/v1</code>
        <CopyButton text={`${gatewayUrl}/v1`} label="Copy" />
      </div>
      {/* Reserved height, so the note appearing does not push the page down. */}
      <p role="status" className="mt-3 min-h-10 text-xs text-slate-600">
        {state === "down"
          ? "The gateway is not answering. This page shows local data; changes you make are saved and will sync when it is back."
          : state === "degraded"
            ? "The gateway answers but recent pushes failed; changes may take a little longer to apply."
            : ""}
      </p>
    </div>
  );
}
