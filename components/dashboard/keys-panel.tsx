"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, RequestError } from "../api";
import { Dialog } from "../dialog";
import { formatBudgetDuration, formatCents, formatDate, formatNumber } from "../format";
import { RelativeTime } from "../relative-time";
import { creditCap, keyBadge, type KeyBadge } from "./key-labels";
import { KeyForm, type FieldErrors, type KeyFormValues } from "./key-form";
import { SecretReveal } from "./secret-reveal";
import type { ApiKey } from "./types";

export const keysQueryKey = ["keys"] as const;

type KeyChange = ApiKey & { secret?: string; message?: string };

function fieldErrorsOf(err: unknown): { fields: FieldErrors; form: string | null } {
  if (err instanceof RequestError && err.field && ["alias", "max_budget", "budget_duration", "rpm_limit", "tpm_limit", "models"].includes(err.field)) {
    return { fields: { [err.field]: err.message }, form: null };
  }
  return { fields: {}, form: err instanceof Error ? err.message : "Something went wrong. Try again." };
}

/** A sync error in words a user can act on; the raw error stays for the operator's panel. */
export function syncErrorInWords(error: string | null): string {
  if (!error) return "The gateway has not confirmed this change yet.";
  if (/circuit open|unreachable|ECONNREFUSED|timed? ?out|socket|fetch failed|network|50\d|429/i.test(error)) {
    return "The gateway can't be reached right now. Your change is saved and will be applied automatically.";
  }
  return `The gateway refused this change (${error}). Edit the key or contact support.`;
}

function SyncState({ apiKey }: { apiKey: ApiKey }) {
  if (apiKey.sync_status === "synced") {
    return (
      <span className="inline-flex items-center gap-1 text-emerald-700" data-testid="sync-state">
        <span aria-hidden="true">✓</span> Synced{" "}
        {apiKey.last_synced_at ? <RelativeTime iso={apiKey.last_synced_at} className="text-slate-500" /> : null}
      </span>
    );
  }
  if (apiKey.sync_status === "pending") {
    return (
      <span className="text-amber-700" data-testid="sync-state">
        <span aria-hidden="true">⋯</span> Pending: waiting for the gateway
      </span>
    );
  }
  return (
    <span className="text-rose-700" data-testid="sync-state">
      <span aria-hidden="true">!</span> Not applied yet. {syncErrorInWords(apiKey.last_sync_error)}
    </span>
  );
}

const badgeStyles: Record<KeyBadge["tone"], string> = {
  live: "bg-emerald-50 text-emerald-700 ring-emerald-600/20",
  waiting: "bg-amber-50 text-amber-800 ring-amber-600/20",
  exhausted: "bg-amber-50 text-amber-800 ring-amber-600/20",
  revoked: "bg-slate-100 text-slate-600 ring-slate-500/20",
};

function StatusBadge({ apiKey }: { apiKey: ApiKey }) {
  const badge = keyBadge(apiKey);
  return (
    <span data-testid="key-status" className={`rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset ${badgeStyles[badge.tone]}`}>
      {badge.label}
    </span>
  );
}

/** "Your credits allow $5.00", where the user's credits, not the key's own budget, are the nearer limit. */
function CreditCapNote({ cap }: { cap: number | null }) {
  if (cap === null) return null;
  return (
    <p className="text-xs text-amber-700" data-testid="credit-cap" title="Every key also draws on your credits: requests stop when they run out.">
      Your credits allow {formatCents(cap)}
    </p>
  );
}

function BudgetBar({ apiKey, creditsAvailable }: { apiKey: ApiKey; creditsAvailable: number }) {
  const cap = creditCap(apiKey, creditsAvailable);
  if (apiKey.max_budget === null) {
    return (
      <div>
        <p className="text-sm text-slate-600">{formatCents(apiKey.spend)} spent · no cap of its own</p>
        <CreditCapNote cap={cap} />
      </div>
    );
  }
  const share = apiKey.max_budget === 0 ? 1 : Math.min(1, apiKey.spend / apiKey.max_budget);
  return (
    <div>
      <p className="text-sm tabular-nums text-slate-700">
        {formatCents(apiKey.spend)} of {formatCents(apiKey.max_budget)} · <span className="text-slate-500">{formatCents(apiKey.remaining ?? 0)} left</span>
      </p>
      <CreditCapNote cap={cap} />
      <div
        role="progressbar"
        aria-label={`Budget used by ${apiKey.alias ?? "this key"}`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(share * 100)}
        className="mt-1 h-1.5 w-full overflow-hidden rounded-full bg-slate-100"
      >
        <div className={`h-full rounded-full ${share > 0.9 ? "bg-rose-500" : share > 0.7 ? "bg-amber-500" : "bg-indigo-500"}`} style={{ width: `${share * 100}%` }} />
      </div>
      <p className="mt-1 text-xs text-slate-500">Resets {formatBudgetDuration(apiKey.budget_duration)}</p>
    </div>
  );
}

export function KeysPanel({
  initialKeys,
  models,
  gatewayUrl,
  creditsAvailable,
}: {
  initialKeys: ApiKey[];
  models: string[] | null;
  gatewayUrl: string;
  /** The user's credits not yet spent, in cents: every key also draws on them. */
  creditsAvailable: number;
}) {
  const queryClient = useQueryClient();
  const keys = useQuery({
    queryKey: keysQueryKey,
    queryFn: async () => (await api<{ keys: ApiKey[] }>("/api/keys/manage")).keys,
    initialData: initialKeys,
    // Pending changes converge in the background: poll while any key waits for the gateway.
    refetchInterval: (query) => (query.state.data?.some((key) => key.sync_status !== "synced") ? 3_000 : 30_000),
  });
  const [dialog, setDialog] = useState<{ mode: "create" } | { mode: "edit"; key: ApiKey } | { mode: "revoke"; key: ApiKey } | { mode: "secret"; secret: string; model: string } | null>(null);
  const [errors, setErrors] = useState<{ fields: FieldErrors; form: string | null }>({ fields: {}, form: null });
  const [notice, setNotice] = useState<string | null>(null);

  const close = () => {
    setDialog(null);
    setErrors({ fields: {}, form: null });
  };
  const afterChange = (change: KeyChange, verb: string) => {
    void queryClient.invalidateQueries({ queryKey: keysQueryKey });
    void queryClient.invalidateQueries({ queryKey: ["usage"] });
    setNotice(change.message ? `${verb}. ${change.message}` : `${verb}.`);
  };

  const create = useMutation({
    mutationFn: (values: KeyFormValues) => api<KeyChange>("/api/keys/manage", { method: "POST", body: values }),
    onSuccess: (change, values) => {
      afterChange(change, `Key “${change.alias ?? ""}” created`);
      setErrors({ fields: {}, form: null });
      setDialog({ mode: "secret", secret: change.secret ?? "", model: values.models[0] ?? models?.[0] ?? "gpt-4o-mini" });
    },
    onError: (err) => setErrors(fieldErrorsOf(err)),
  });
  const edit = useMutation({
    mutationFn: ({ id, values }: { id: string; values: KeyFormValues }) => api<KeyChange>("/api/keys/manage", { method: "PATCH", body: { id, ...values } }),
    onSuccess: (change) => {
      afterChange(change, `Key “${change.alias ?? ""}” saved`);
      close();
    },
    onError: (err) => setErrors(fieldErrorsOf(err)),
  });
  const revoke = useMutation({
    mutationFn: (id: string) => api<KeyChange>("/api/keys/manage", { method: "DELETE", body: { id } }),
    // Optimistic: the row shows revoked at once; a failure puts it back and says why.
    onMutate: async (id) => {
      await queryClient.cancelQueries({ queryKey: keysQueryKey });
      const previous = queryClient.getQueryData<ApiKey[]>(keysQueryKey);
      queryClient.setQueryData<ApiKey[]>(keysQueryKey, (list) => list?.map((key) => (key.id === id ? { ...key, status: "revoked", sync_status: "pending" } : key)));
      close();
      return { previous };
    },
    onError: (err, _id, context) => {
      if (context?.previous) queryClient.setQueryData(keysQueryKey, context.previous);
      setNotice(`The key was not revoked: ${err instanceof Error ? err.message : "try again"}`);
    },
    onSuccess: (change) => afterChange(change, `Key “${change.alias ?? ""}” revoked`),
  });

  const list = keys.data;
  return (
    <section aria-labelledby="keys-heading" className="rounded-2xl border border-slate-200 bg-white shadow-sm">
      <div className="flex flex-wrap items-center justify-between gap-3 border-b border-slate-200 px-4 py-4 sm:px-6">
        <h2 id="keys-heading" className="text-base font-semibold">
          API keys
        </h2>
        <button
          type="button"
          onClick={() => setDialog({ mode: "create" })}
          className="rounded-lg bg-indigo-600 px-3 py-1.5 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2"
        >
          Create key
        </button>
      </div>
      <p role="status" aria-live="polite" className={notice ? "border-b border-slate-100 bg-indigo-50 px-4 py-2 text-sm text-indigo-900 sm:px-6" : "sr-only"}>
        {notice}
      </p>
      {keys.isError && (
        <p role="alert" className="px-6 py-3 text-sm text-rose-700">
          Could not refresh your keys: {keys.error.message}. Showing what we had.
        </p>
      )}
      {list.length === 0 ? (
        <div className="px-6 py-10 text-center">
          <p className="font-medium">No keys yet</p>
          <p className="mt-1 text-sm text-slate-500">Create a key to call the gateway from your tools. It starts with a $10 budget every 30 days.</p>
        </div>
      ) : (
        <ul className="divide-y divide-slate-100" aria-label="Your API keys">
          {list.map((key) => (
            <li key={key.id} data-testid="key-row" data-key-id={key.id} className="grid gap-3 px-4 py-4 sm:px-6 lg:grid-cols-[1.3fr_1.2fr_1fr_1.4fr_9.5rem] lg:items-start">
              <div className="min-w-0">
                <p className="flex flex-wrap items-center gap-2 font-medium">
                  <span className="truncate">{key.alias ?? "Unnamed key"}</span>
                  <StatusBadge apiKey={key} />
                </p>
                <p className="font-mono text-sm text-slate-500">{key.key}</p>
                <p className="text-xs text-slate-500">Created {formatDate(key.created_at)}</p>
              </div>
              <BudgetBar apiKey={key} creditsAvailable={creditsAvailable} />
              <dl className="grid grid-cols-[auto_1fr] gap-x-2 text-sm">
                <dt className="text-slate-500">Requests</dt>
                <dd className="tabular-nums">{key.rpm_limit === null ? "no limit" : `${formatNumber(key.rpm_limit)}/min`}</dd>
                <dt className="text-slate-500">Tokens</dt>
                <dd className="tabular-nums">{key.tpm_limit === null ? "no limit" : `${formatNumber(key.tpm_limit)}/min`}</dd>
                <dt className="text-slate-500">Models</dt>
                <dd className="break-words">{key.models.length === 0 ? "all" : key.models.join(", ")}</dd>
              </dl>
              <p className="text-sm">
                <SyncState apiKey={key} />
              </p>
              <div className="flex gap-2 lg:justify-end">
                {key.status !== "revoked" && (
                  <>
                    <button
                      type="button"
                      onClick={() => setDialog({ mode: "edit", key })}
                      aria-label={`Edit ${key.alias ?? "key"}`}
                      className="rounded-lg border border-slate-300 px-3 py-1.5 text-sm font-medium text-slate-700 hover:bg-slate-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500"
                    >
                      Edit
                    </button>
                    <button
                      type="button"
                      onClick={() => setDialog({ mode: "revoke", key })}
                      aria-label={`Revoke ${key.alias ?? "key"}`}
                      className="rounded-lg border border-rose-200 px-3 py-1.5 text-sm font-medium text-rose-700 hover:bg-rose-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-rose-500"
                    >
                      Revoke
                    </button>
                  </>
                )}
              </div>
            </li>
          ))}
        </ul>
      )}

      <Dialog open={dialog?.mode === "create"} title="Create an API key" onClose={close} wide>
        <KeyForm models={models} submitLabel="Create key" busy={create.isPending} serverErrors={errors.fields} formError={errors.form} onSubmit={(values) => create.mutate(values)} onCancel={close} />
      </Dialog>
      <Dialog open={dialog?.mode === "secret"} title="Your new key" onClose={close} wide>
        {dialog?.mode === "secret" && <SecretReveal secret={dialog.secret} gatewayUrl={gatewayUrl} model={dialog.model} onDone={close} />}
      </Dialog>
      <Dialog open={dialog?.mode === "edit"} title={dialog?.mode === "edit" ? `Edit “${dialog.key.alias ?? "key"}”` : "Edit key"} onClose={close} wide>
        {dialog?.mode === "edit" && (
          <KeyForm
            initial={dialog.key}
            models={models}
            submitLabel="Save changes"
            busy={edit.isPending}
            serverErrors={errors.fields}
            formError={errors.form}
            onSubmit={(values) => edit.mutate({ id: dialog.key.id, values })}
            onCancel={close}
          />
        )}
      </Dialog>
      <Dialog open={dialog?.mode === "revoke"} title="Revoke this key?" onClose={close}>
        {dialog?.mode === "revoke" && (
          <div className="space-y-4">
            <p className="text-sm text-slate-700">
              Requests with <span className="font-mono">{dialog.key.key}</span> (“{dialog.key.alias}”) will be refused from now on. This cannot be undone.
            </p>
            <div className="flex justify-end gap-2">
              <button type="button" onClick={close} className="rounded-lg px-4 py-2 text-sm font-medium text-slate-700 hover:bg-slate-100 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">
                Keep it
              </button>
              <button
                type="button"
                onClick={() => revoke.mutate(dialog.key.id)}
                className="rounded-lg bg-rose-600 px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-rose-500 focus:outline-none focus-visible:ring-2 focus-visible:ring-rose-500 focus-visible:ring-offset-2"
              >
                Revoke key
              </button>
            </div>
          </div>
        )}
      </Dialog>
    </section>
  );
}
