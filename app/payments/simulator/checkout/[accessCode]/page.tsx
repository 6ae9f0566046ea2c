import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { formatMoney } from "@/components/format";
import { appPaymentServices } from "@/lib/payments/services";
import { simulatorByAccessCode } from "@/lib/payments/simulator";

export const metadata: Metadata = { title: "Test checkout" };
export const dynamic = "force-dynamic";

/** The local stand-in for Paystack's checkout page; it exists only while the simulator is on. */
export default async function SimulatorCheckoutPage({ params }: { params: Promise<{ accessCode: string }> }) {
  const { accessCode } = await params;
  if (!appPaymentServices()?.simulator) notFound();
  const transaction = simulatorByAccessCode(accessCode);
  if (!transaction) notFound();
  const amount = formatMoney(transaction.amount, transaction.currency);

  return (
    <main className="mx-auto max-w-md px-4 py-16">
      <div className="overflow-hidden rounded-2xl border-2 border-dashed border-amber-400 bg-white shadow-sm">
        <p className="bg-amber-100 px-6 py-3 text-sm font-semibold text-amber-900">
          TEST CHECKOUT — Paystack simulator. No real money moves and no card is needed.
        </p>
        <div className="space-y-4 p-6">
          <h1 className="text-lg font-semibold tracking-tight">Pay creditgate</h1>
          <dl className="grid grid-cols-2 gap-y-2 text-sm">
            <dt className="text-slate-500">Amount</dt>
            <dd data-testid="checkout-amount" className="text-right font-semibold tabular-nums">{amount}</dd>
            <dt className="text-slate-500">Email</dt>
            <dd className="truncate text-right">{transaction.email}</dd>
            <dt className="text-slate-500">Reference</dt>
            <dd className="truncate text-right font-mono text-xs">{transaction.reference}</dd>
          </dl>
          {transaction.status === "ongoing" ? (
            <form method="post" action={`/api/payments/simulator/checkout/${transaction.accessCode}`} className="flex gap-3 pt-2">
              <button name="action" value="pay" className="flex-1 rounded-lg bg-emerald-600 px-4 py-2 text-sm font-medium text-white hover:bg-emerald-500">
                Pay {amount}
              </button>
              <button name="action" value="cancel" className="rounded-lg border border-slate-300 px-4 py-2 text-sm font-medium text-slate-700 hover:bg-slate-50">
                Cancel
              </button>
            </form>
          ) : (
            <p className="text-sm text-slate-600">This test transaction is already {transaction.status === "success" ? "paid" : "cancelled"}.</p>
          )}
        </div>
      </div>
    </main>
  );
}
