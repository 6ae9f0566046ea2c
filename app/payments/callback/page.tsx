import type { Metadata } from "next";
import Link from "next/link";
import { fulfilPayment, type FulfilResult } from "@/lib/payments/fulfil";
import { appPaymentServices } from "@/lib/payments/services";
import { appServices } from "@/lib/services";
import { pageSession } from "../../_server/session";

export const metadata: Metadata = { title: "Payment" };
export const dynamic = "force-dynamic";

const referencePattern = /^[\w.=-]{1,200}$/;

/**
 * Where Paystack sends the browser after checkout. Arriving here proves nothing, so it verifies
 * through the same idempotent fulfil as the webhook: whichever comes first credits the payment.
 */
export default async function PaymentCallbackPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const session = await pageSession();
  const params = await searchParams;
  const raw = params.reference ?? params.trxref;
  const reference = typeof raw === "string" && referencePattern.test(raw) ? raw : null;
  const payments = appPaymentServices();

  let payment: { credits: number } | undefined;
  let result: FulfilResult | null = null;
  if (reference && payments) {
    [payment] = await appServices().sql<{ credits: number }[]>`
      select credits from public.payments where reference = ${reference} and user_id = ${session.userId}`;
    if (payment) result = await fulfilPayment(payments, reference, "callback");
  }

  const view = describe(result, payment?.credits ?? 0);
  return (
    <main className="mx-auto max-w-lg px-4 py-16">
      <div className="rounded-2xl border border-slate-200 bg-white p-8 shadow-sm">
        <h1 className="text-xl font-semibold tracking-tight">{view.title}</h1>
        <p role="status" data-testid="payment-status" className={`mt-3 text-sm ${view.tone}`}>
          {payment ? view.text : "We could not find this payment on your account."}
        </p>
        {reference && <p className="mt-4 font-mono text-xs text-slate-500">Reference {reference}</p>}
        <Link href="/analytics" className="mt-6 inline-block rounded-lg bg-indigo-600 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-500">
          Back to the dashboard
        </Link>
      </div>
    </main>
  );
}

function describe(result: FulfilResult | null, credits: number) {
  const amount = `${credits.toLocaleString("en-US")} credits`;
  switch (result?.status) {
    case "paid":
      return { title: "Payment received", text: `${amount} are on your balance.`, tone: "text-emerald-700" };
    case "refunded":
      return { title: "Payment refunded", text: `This payment was refunded and its ${amount} taken back.`, tone: "text-slate-700" };
    case "abandoned":
    case "failed":
      return { title: "Payment not completed", text: `Nothing was charged and no credits were added.`, tone: "text-slate-700" };
    case "needs_review":
      return { title: "Payment under review", text: `Something did not match, so an admin will look at this payment before ${amount} are added.`, tone: "text-amber-700" };
    case "pending":
      return { title: "Payment pending", text: `Paystack has not confirmed this payment yet; ${amount} are added as soon as it does.`, tone: "text-slate-700" };
    default:
      return { title: "Payment", text: "Payments are not available here.", tone: "text-slate-700" };
  }
}
