import type { Metadata } from "next";
import { AppHeader } from "@/components/app-header";
import { loadProfile } from "@/lib/auth/profile";
import { creditSummary, creditsToDollars, recentLedgerEntries, type LedgerEntry } from "@/lib/credits/ledger";
import { withUserTransaction } from "@/lib/db";
import { listOwnKeys, type KeySummary } from "@/lib/keys/queries";
import { appServices } from "@/lib/services";
import { pageSession } from "../_server/session";

export const metadata: Metadata = { title: "Dashboard" };
export const dynamic = "force-dynamic";

const kindLabels: Record<LedgerEntry["kind"], string> = {
  signup_grant: "Welcome credits",
  purchase: "Purchase",
  refund: "Refund",
  adjustment: "Adjustment",
};

export default async function AnalyticsPage() {
  const session = await pageSession();
  const { sql, env } = appServices();
  const claims = { sub: session.userId, email: session.email, role: "authenticated" as const };
  const [profile, data] = await Promise.all([
    loadProfile(sql, session.userId),
    withUserTransaction(sql, claims, async (tx) => ({
      credits: await creditSummary(tx),
      ledger: await recentLedgerEntries(tx, 10),
      keys: await listOwnKeys(tx),
    })),
  ]);
  const usedShare = data.credits.granted > 0 ? Math.min(1, Math.max(0, 1 - data.credits.balance / data.credits.granted)) : 0;
  const lowBalance = data.credits.balance < 100;

  return (
    <>
      <AppHeader email={session.email} isAdmin={profile?.role === "admin"} />
      <main className="mx-auto max-w-6xl space-y-6 px-4 py-8 sm:px-6">
        <h1 className="text-2xl font-semibold tracking-tight">Dashboard</h1>

        <section aria-labelledby="balance-heading" className="grid gap-6 md:grid-cols-3">
          <div className="rounded-2xl border border-slate-200 bg-white p-6 shadow-sm md:col-span-2">
            <h2 id="balance-heading" className="text-sm font-medium text-slate-500">
              Credit balance
            </h2>
            <p className="mt-2 flex items-baseline gap-3">
              <span data-testid="credit-balance" className="text-4xl font-semibold tabular-nums">
                {data.credits.balance.toLocaleString("en-US")}
              </span>
              <span className="text-slate-500">credits · {creditsToDollars(data.credits.balance)} of gateway budget</span>
            </p>
            <div className="mt-5">
              <div
                role="progressbar"
                aria-label="Share of your credits used"
                aria-valuemin={0}
                aria-valuemax={100}
                aria-valuenow={Math.round(usedShare * 100)}
                className="h-2 w-full overflow-hidden rounded-full bg-slate-100"
              >
                <div className="h-full rounded-full bg-indigo-500" style={{ width: `${usedShare * 100}%` }} />
              </div>
              <p className="mt-2 text-xs text-slate-500">
                {data.credits.granted.toLocaleString("en-US")} credits received in total · 1 credit = $0.01
              </p>
            </div>
            {lowBalance && (
              <p role="status" className="mt-4 rounded-lg bg-amber-50 p-3 text-sm text-amber-800">
                Your balance is low: requests stop when it reaches zero.
              </p>
            )}
          </div>
          <div className="rounded-2xl border border-slate-200 bg-white p-6 shadow-sm">
            <h2 className="text-sm font-medium text-slate-500">Gateway</h2>
            <p className="mt-2 text-sm text-slate-700">Point any OpenAI-compatible client at:</p>
            <code className="mt-2 block break-all rounded-lg bg-slate-900 px-3 py-2 font-mono text-sm text-slate-100">
              {env.GATEWAY_PUBLIC_URL}/v1
            </code>
          </div>
        </section>

        <section aria-labelledby="keys-heading" className="rounded-2xl border border-slate-200 bg-white shadow-sm">
          <h2 id="keys-heading" className="border-b border-slate-200 px-6 py-4 text-base font-semibold">
            API keys
          </h2>
          <ul className="divide-y divide-slate-100">
            {data.keys.map((key) => (
              <KeyRow key={key.id} apiKey={key} />
            ))}
          </ul>
        </section>

        <section aria-labelledby="activity-heading" className="rounded-2xl border border-slate-200 bg-white shadow-sm">
          <h2 id="activity-heading" className="border-b border-slate-200 px-6 py-4 text-base font-semibold">
            Credit activity
          </h2>
          <div className="overflow-x-auto">
            <table className="w-full text-left text-sm">
              <thead className="text-xs uppercase tracking-wide text-slate-500">
                <tr>
                  <th scope="col" className="px-6 py-3 font-medium">Date</th>
                  <th scope="col" className="px-6 py-3 font-medium">Entry</th>
                  <th scope="col" className="px-6 py-3 text-right font-medium">Credits</th>
                </tr>
              </thead>
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

function KeyRow({ apiKey }: { apiKey: KeySummary }) {
  const limits = [
    apiKey.maxBudgetCents !== null
      ? `${creditsToDollars(apiKey.maxBudgetCents)} budget${apiKey.budgetDuration ? ` per ${apiKey.budgetDuration}` : ""}`
      : "no budget cap",
    apiKey.rpmLimit !== null ? `${apiKey.rpmLimit.toLocaleString("en-US")} requests/min` : null,
    apiKey.tpmLimit !== null ? `${apiKey.tpmLimit.toLocaleString("en-US")} tokens/min` : null,
    apiKey.models.length > 0 ? apiKey.models.join(", ") : "all models",
  ].filter(Boolean);
  return (
    <li className="flex flex-col gap-1 px-6 py-4 sm:flex-row sm:items-center sm:justify-between">
      <div>
        <p className="font-medium">
          {apiKey.isPlaceholder ? "Your first key" : (apiKey.alias ?? "Unnamed key")}
          {!apiKey.isPlaceholder && apiKey.secretHint && (
            <span className="ml-2 font-mono text-sm text-slate-500">sk-…{apiKey.secretHint}</span>
          )}
        </p>
        <p className="text-sm text-slate-500">
          {apiKey.isPlaceholder ? "Not created yet. It will start with: " : ""}
          {limits.join(" · ")}
        </p>
      </div>
    </li>
  );
}
