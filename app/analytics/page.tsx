import type { Metadata } from "next";
import { AppHeader } from "@/components/app-header";
import { Dashboard } from "@/components/dashboard/dashboard";
import type { ApiKey } from "@/components/dashboard/types";
import { loadProfile } from "@/lib/auth/profile";
import { creditSummary, recentLedgerEntries, type LedgerEntry } from "@/lib/credits/ledger";
import { withUserTransaction } from "@/lib/db";
import { pricingFromEnv } from "@/lib/payments/pricing";
import { listKeys } from "@/lib/keys/manage";
import { appServices, claimsOf } from "@/lib/services";
import { pageSession } from "../_server/session";
import { TableHeader } from "@/components/table-header";

export const metadata: Metadata = { title: "Dashboard" };
export const dynamic = "force-dynamic";

const kindLabels: Record<LedgerEntry["kind"], string> = {
  signup_grant: "Welcome credits",
  purchase: "Purchase",
  refund: "Refund",
  adjustment: "Adjustment",
};

let modelsUnavailableUntil = 0;

/**
 * The model list waits at most 1.5 s for the gateway; without it the form keeps models as they
 * are. After a miss, renders skip asking for 30 s, so a gateway outage does not slow every page.
 */
async function offeredModels(): Promise<string[] | null> {
  const keys = appServices().keys;
  if (!keys || Date.now() < modelsUnavailableUntil) return null;
  const models = await Promise.race([keys.models.offered(), new Promise<null>((resolve) => setTimeout(() => resolve(null), 1_500).unref())]);
  if (models === null) modelsUnavailableUntil = Date.now() + 30_000;
  return models;
}

export default async function AnalyticsPage() {
  const session = await pageSession();
  const { sql, env } = appServices();
  const claims = claimsOf(session);
  const [profile, data, keys, models] = await Promise.all([
    loadProfile(sql, session.userId),
    withUserTransaction(sql, claims, async (tx) => ({ credits: await creditSummary(tx), ledger: await recentLedgerEntries(tx, 10) })),
    listKeys(sql, claims),
    offeredModels(),
  ]);
  // Dates become ISO strings, exactly as the API sends them, so the client cache has one shape.
  const initialKeys = JSON.parse(JSON.stringify(keys)) as ApiKey[];

  return (
    <>
      <AppHeader email={session.email} isAdmin={profile?.role === "admin"} />
      <main className="mx-auto max-w-6xl space-y-6 px-4 py-8 sm:px-6">
        <h1 className="text-2xl font-semibold tracking-tight">Dashboard</h1>
        <Dashboard balance={data.credits.balance} keys={initialKeys} models={models} gatewayUrl={env.GATEWAY_PUBLIC_URL} pricing={pricingFromEnv(env)} />

        <section aria-labelledby="activity-heading" className="rounded-2xl border border-slate-200 bg-white shadow-sm">
          <h2 id="activity-heading" className="border-b border-slate-200 px-6 py-4 text-base font-semibold">
            Credit activity
          </h2>
          <div className="overflow-x-auto">
            <table className="w-full text-left text-sm">
              <TableHeader columns={[{ label: "Date" }, { label: "Entry" }, { label: "Credits", numeric: true }]} />
              <tbody className="divide-y divide-slate-100">
                {data.ledger.map((entry) => (
                  <tr key={entry.id}>
                    <td className="whitespace-nowrap px-6 py-3 text-slate-500">
                      <time dateTime={entry.createdAt.toISOString()}>{entry.createdAt.toISOString().slice(0, 10)}</time>
                    </td>
                    <td className="px-6 py-3">{entry.description ?? kindLabels[entry.kind]}</td>
                    <td className={`px-6 py-3 text-right tabular-nums ${entry.amount < 0 ? "text-rose-700" : "text-emerald-700"}`}>
                      {entry.amount > 0 ? "+" : ""}
                      {entry.amount.toLocaleString("en-US")}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      </main>
    </>
  );
}
