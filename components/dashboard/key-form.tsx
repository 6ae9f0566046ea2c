"use client";

import { useId, useState, type FormEvent } from "react";
import type { ApiKey } from "./types";
import { DialogActions } from "../dialog";

export interface KeyFormValues {
  alias: string;
  max_budget: number | null;
  budget_duration: string | null;
  rpm_limit: number | null;
  tpm_limit: number | null;
  models: string[];
}

type Field = "alias" | "max_budget" | "budget_duration" | "rpm_limit" | "tpm_limit" | "models";
export type FieldErrors = Partial<Record<Field, string>>;

const durations = [
  { value: "1d", label: "Every day" },
  { value: "7d", label: "Every 7 days" },
  { value: "30d", label: "Every 30 days" },
  { value: "1mo", label: "Every month" },
  { value: "", label: "Never (lifetime budget)" },
];

function parseWhole(raw: string, label: string, min: number, max: number): { value: number | null; error?: string } {
  const text = raw.trim().replace(/,/g, "");
  if (text === "") return { value: null };
  if (!/^\d+$/.test(text)) return { value: null, error: `${label} must be a whole number` };
  const value = Number(text);
  if (value < min) return { value: null, error: `${label} must be at least ${min.toLocaleString("en-US")}` };
  if (value > max) return { value: null, error: `${label} must be at most ${max.toLocaleString("en-US")}` };
  return { value };
}

/** Checks the form the way the API does, so mistakes show beside their field before a request. */
export function validateKeyForm(form: FormData, models: string[]): { values?: KeyFormValues; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const alias = String(form.get("alias") ?? "").trim();
  if (alias === "") errors.alias = "Give the key a name";
  else if (alias.length > 64) errors.alias = "The name must be at most 64 characters";
  else if (/[<>]/.test(alias)) errors.alias = "The name must not contain < or >";

  let maxBudget: number | null = null;
  const budgetText = String(form.get("max_budget") ?? "").trim().replace(/^\$/, "").replace(/,/g, "");
  if (budgetText !== "") {
    if (!/^-?\d+(\.\d{1,2})?$/.test(budgetText)) errors.max_budget = "Enter the budget in dollars, like 10 or 12.50";
    else if (Number(budgetText) < 0) errors.max_budget = "The budget cannot be negative";
    else if (Number(budgetText) > 1_000_000) errors.max_budget = "The budget must be at most $1,000,000";
    else maxBudget = Math.round(Number(budgetText) * 100);
  }
  const rpm = parseWhole(String(form.get("rpm_limit") ?? ""), "Requests per minute", 1, 1_000_000);
  if (rpm.error) errors.rpm_limit = rpm.error;
  const tpm = parseWhole(String(form.get("tpm_limit") ?? ""), "Tokens per minute", 1, 1_000_000_000);
  if (tpm.error) errors.tpm_limit = tpm.error;
  const duration = String(form.get("budget_duration") ?? "");
  const chosen = form.getAll("models").map(String);
  const unknown = chosen.filter((model) => !models.includes(model));
  if (unknown.length > 0) errors.models = `The gateway does not offer ${unknown.join(", ")}`;
  if (Object.keys(errors).length > 0) return { errors };
  return {
    errors,
    values: { alias, max_budget: maxBudget, budget_duration: duration === "" ? null : duration, rpm_limit: rpm.value, tpm_limit: tpm.value, models: chosen },
  };
}

export function KeyForm({
  initial,
  models,
  submitLabel,
  busy,
  serverErrors,
  formError,
  onSubmit,
  onCancel,
}: {
  initial?: ApiKey;
  models: string[] | null;
  submitLabel: string;
  busy: boolean;
  serverErrors: FieldErrors;
  formError: string | null;
  onSubmit: (values: KeyFormValues) => void;
  onCancel: () => void;
}) {
  const id = useId();
  const [localErrors, setLocalErrors] = useState<FieldErrors>({});
  const errors: FieldErrors = { ...serverErrors, ...localErrors };
  const offered = models ?? initial?.models ?? [];

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const result = validateKeyForm(new FormData(event.currentTarget), offered);
    setLocalErrors(result.errors);
    if (result.values) onSubmit(result.values);
    else {
      const first = Object.keys(result.errors)[0];
      if (first) event.currentTarget.querySelector<HTMLElement>(`[name="${first}"]`)?.focus();
    }
  }

  const input = (name: Field, label: string, hint: string, defaultValue: string, extra: Record<string, string> = {}) => (
    <div>
      <label htmlFor={`${id}-${name}`} className="block text-sm font-medium text-slate-700">
        {label}
      </label>
      <input
        id={`${id}-${name}`}
        name={name}
        defaultValue={defaultValue}
        aria-invalid={errors[name] ? true : undefined}
        aria-describedby={`${id}-${name}-hint${errors[name] ? ` ${id}-${name}-error` : ""}`}
        className="mt-1 block w-full rounded-lg border border-slate-300 px-3 py-2 text-sm shadow-sm focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-500/30 aria-[invalid=true]:border-rose-500"
        {...extra}
      />
      <p id={`${id}-${name}-hint`} className="mt-1 text-xs text-slate-500">
        {hint}
      </p>
      {errors[name] && (
        <p id={`${id}-${name}-error`} className="mt-1 text-sm text-rose-700" data-field-error={name}>
          {errors[name]}
        </p>
      )}
    </div>
  );

  return (
    <form onSubmit={submit} noValidate className="space-y-4">
      {input("alias", "Name", "So you can tell your keys apart, like “laptop” or “ci”.", initial?.alias ?? "", { autoComplete: "off", maxLength: "80" })}
      <div className="grid gap-4 sm:grid-cols-2">
        {input("max_budget", "Budget (USD)", "Empty for no cap of its own.", initial ? (initial.max_budget === null ? "" : (initial.max_budget / 100).toFixed(2)) : "10.00", { inputMode: "decimal" })}
        <div>
          <label htmlFor={`${id}-budget_duration`} className="block text-sm font-medium text-slate-700">
            Budget resets
          </label>
          <select
            id={`${id}-budget_duration`}
            name="budget_duration"
            defaultValue={initial ? (initial.budget_duration ?? "") : "30d"}
            className="mt-1 block w-full rounded-lg border border-slate-300 bg-white px-3 py-2 text-sm shadow-sm focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-500/30"
          >
            {initial?.budget_duration && !durations.some((option) => option.value === initial.budget_duration) && (
              <option value={initial.budget_duration}>{initial.budget_duration}</option>
            )}
            {durations.map((option) => (
              <option key={option.value} value={option.value}>
                {option.label}
              </option>
            ))}
          </select>
        </div>
        {input("rpm_limit", "Requests per minute", "Empty for no limit.", initial ? (initial.rpm_limit?.toString() ?? "") : "100", { inputMode: "numeric" })}
        {input("tpm_limit", "Tokens per minute", "Empty for no limit.", initial ? (initial.tpm_limit?.toString() ?? "") : "10000", { inputMode: "numeric" })}
      </div>
      <fieldset aria-describedby={`${id}-models-hint`}>
        <legend className="text-sm font-medium text-slate-700">Models</legend>
        <p id={`${id}-models-hint`} className="text-xs text-slate-500">
          {models === null ? "The gateway's model list is unavailable right now; the key keeps its current models." : "None ticked: every model the gateway offers."}
        </p>
        <div className="mt-2 flex flex-wrap gap-2">
          {offered.map((model) => (
            <label key={model} className="flex items-center gap-2 rounded-lg border border-slate-200 px-3 py-1.5 text-sm has-[:checked]:border-indigo-400 has-[:checked]:bg-indigo-50">
              <input type="checkbox" name="models" value={model} defaultChecked={initial?.models.includes(model) ?? false} className="accent-indigo-600" />
              <span className="font-mono">{model}</span>
            </label>
          ))}
        </div>
        {errors.models && <p className="mt-1 text-sm text-rose-700">{errors.models}</p>}
      </fieldset>
      {formError && (
        <p role="alert" className="rounded-lg bg-rose-50 p-3 text-sm text-rose-800">
          {formError}
        </p>
      )}
      <DialogActions onCancel={onCancel} busy={busy} label={submitLabel} busyLabel="Saving…" />
    </form>
  );
}
