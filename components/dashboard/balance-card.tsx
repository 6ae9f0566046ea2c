"use client";

import { useMutation } from "@tanstack/react-query";
import { useId, useState, type FormEvent } from "react";
import { api, RequestError } from "../api";
import { Dialog, DialogActions } from "../dialog";
import { formatCents, formatMoney, formatNumber } from "../format";
import { creditUse } from "./balance";

/** What credits cost, as the server is configured (lib/payments/pricing.ts). */
export interface CreditPricing {
  currency: string;
  pricePerCreditSubunits: number;
  packs: number[];
  minCredits: number;
  maxCredits: number;
}

export function BalanceCard({ balance, spent, pricing }: { balance: number; spent: number; pricing: CreditPricing }) {
  const [open, setOpen] = useState(false);
  const { total, used, available, share: spentShare, low } = creditUse(balance, spent);
  return (
    <div className="rounded-2xl border border-slate-200 bg-white p-6 shadow-sm md:col-span-2">
      <div className="flex flex-wrap items-start justify-between gap-3">
        <h2 id="balance-heading" className="text-sm font-medium text-slate-500">
          Credit balance
        </h2>
        <button
          type="button"
          onClick={() => setOpen(true)}
          className="rounded-lg bg-indigo-600 px-3 py-1.5 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2"
        >
          Buy credits
        </button>
      </div>
      <p className="mt-2 flex flex-wrap items-baseline gap-x-3">
        <span data-testid="credit-balance" className="text-4xl font-semibold tabular-nums">
          {formatNumber(balance)}
        </span>
        <span className="text-slate-500">credits · {formatCents(balance)} of gateway budget</span>
      </p>
      <div className="mt-5">
        <div
          role="progressbar"
          aria-label="Share of your credits spent"
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={Math.round(spentShare * 100)}
          className="h-2 w-full overflow-hidden rounded-full bg-slate-100"
        >
          <div className="h-full rounded-full bg-indigo-500" style={{ width: `${spentShare * 100}%` }} />
        </div>
        <p className="mt-2 text-xs text-slate-500">
          {formatNumber(used)} of {formatNumber(total)} credits used · {formatNumber(available)} available · 1 credit = $0.01
        </p>
      </div>
      {low && (
        <p role="status" className="mt-4 rounded-lg bg-amber-50 p-3 text-sm text-amber-800">
          Your balance is low: requests stop when it reaches zero. Buy credits to keep your keys working.
        </p>
      )}
      <Dialog open={open} title="Buy credits" onClose={() => setOpen(false)}>
        <BuyCredits pricing={pricing} onCancel={() => setOpen(false)} />
      </Dialog>
    </div>
  );
}

function BuyCredits({ pricing, onCancel }: { pricing: CreditPricing; onCancel: () => void }) {
  const id = useId();
  const { packs, minCredits, maxCredits } = pricing;
  const price = (credits: number) => formatMoney(credits * pricing.pricePerCreditSubunits, pricing.currency);
  const [choice, setChoice] = useState<string>(String(packs.includes(1_000) ? 1_000 : (packs[0] ?? "custom")));
  const [custom, setCustom] = useState("");
  const [fieldError, setFieldError] = useState<string | null>(null);
  const customText = custom.trim().replace(/,/g, "");
  const customNumber = /^\d+$/.test(customText) ? Number(customText) : null;
  // The typed amount once it is in range, so its price shows as it is typed.
  const customCredits = customNumber !== null && customNumber >= minCredits && customNumber <= maxCredits ? customNumber : null;
  const initialize = useMutation({
    mutationFn: (credits: number) => api<{ reference: string; authorization_url: string }>("/api/payments/initialize", { method: "POST", body: { credits } }),
    onSuccess: (payment) => window.location.assign(payment.authorization_url),
    onError: (err) => {
      if (err instanceof RequestError && err.status === 404) setFieldError(null);
      if (err instanceof RequestError && err.field === "credits") setFieldError(err.message);
    },
  });

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    let credits = Number(choice);
    if (choice === "custom") {
      if (customNumber === null) return setFieldError("Enter a whole number of credits");
      credits = customNumber;
      if (credits < minCredits) return setFieldError(`Buy at least ${formatNumber(minCredits)} credits`);
      if (credits > maxCredits) return setFieldError(`Buy at most ${formatNumber(maxCredits)} credits at once`);
    }
    setFieldError(null);
    initialize.mutate(credits);
  }

  const failure = initialize.error instanceof RequestError && initialize.error.field !== "credits"
    ? initialize.error.status === 404
      ? "Buying credits is not available on this server yet."
      : initialize.error.message
    : null;

  return (
    <form onSubmit={submit} noValidate className="space-y-4">
      <fieldset>
        <legend className="text-sm font-medium text-slate-700">How many credits?</legend>
        <div className="mt-2 grid grid-cols-2 gap-2">
          {packs.map((pack) => (
            <label key={pack} className="flex cursor-pointer flex-col rounded-xl border border-slate-200 p-3 has-[:checked]:border-indigo-500 has-[:checked]:bg-indigo-50">
              <span className="flex items-center gap-2">
                <input type="radio" name="pack" value={String(pack)} checked={choice === String(pack)} onChange={() => setChoice(String(pack))} className="accent-indigo-600" />
                <span className="font-semibold tabular-nums">{formatNumber(pack)} credits</span>
              </span>
              <span className="ml-6 text-sm text-slate-500">
                {price(pack)}, adds {formatCents(pack)} of budget
              </span>
            </label>
          ))}
          <label className="col-span-2 flex cursor-pointer items-center gap-2 rounded-xl border border-slate-200 p-3 has-[:checked]:border-indigo-500 has-[:checked]:bg-indigo-50">
            <input type="radio" name="pack" value="custom" checked={choice === "custom"} onChange={() => setChoice("custom")} className="accent-indigo-600" />
            <span className="font-semibold">Another amount</span>
          </label>
        </div>
      </fieldset>
      {choice === "custom" && (
        <div>
          <label htmlFor={`${id}-credits`} className="block text-sm font-medium text-slate-700">
            Credits
          </label>
          <input
            id={`${id}-credits`}
            name="credits"
            inputMode="numeric"
            value={custom}
            onChange={(event) => setCustom(event.target.value)}
            aria-invalid={fieldError ? true : undefined}
            aria-describedby={`${id}-credits-hint${fieldError ? ` ${id}-credits-error` : ""}`}
            className="mt-1 block w-full rounded-lg border border-slate-300 px-3 py-2 text-sm shadow-sm focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-500/30 aria-[invalid=true]:border-rose-500"
          />
          <p id={`${id}-credits-hint`} className="mt-1 text-xs text-slate-500">
            {formatNumber(minCredits)} to {formatNumber(maxCredits)}.
            {customCredits !== null && ` ${formatNumber(customCredits)} credits cost ${price(customCredits)}, adding ${formatCents(customCredits)} of budget.`}
          </p>
          {fieldError && (
            <p id={`${id}-credits-error`} className="mt-1 text-sm text-rose-700">
              {fieldError}
            </p>
          )}
        </div>
      )}
      {failure && (
        <p role="alert" className="rounded-lg bg-rose-50 p-3 text-sm text-rose-800">
          {failure}
        </p>
      )}
      <DialogActions onCancel={onCancel} busy={initialize.isPending || initialize.isSuccess} label="Continue to payment" busyLabel="Opening checkout…" />
    </form>
  );
}
