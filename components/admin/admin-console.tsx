"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useState, type FormEvent } from "react";
import { api, RequestError } from "../api";
import { useHealth } from "../dashboard/gateway-status";
import { Dialog } from "../dialog";
import { formatCents, formatDateTime, formatMoney, formatNumber, formatRelative } from "../format";
import { RelativeTime } from "../relative-time";
import { TableHeader } from "../table-header";

interface SyncProblem {
  kind: "key" | "user";
  id: string;
  user_id: string;
  email: string;
  alias?: string | null;
  key?: string | null;
  sync_status: "pending" | "failed";
  desired: { version: number; budget_cents?: number; max_budget?: number | null; rpm_limit?: number | null; tpm_limit?: number | null; models?: string[]; revoked?: boolean };
  confirmed: { version: number; budget_cents?: number | null; at: string | null };
  attempts: number;
  last_error: string | null;
  next_attempt_at: string | null;
}

interface AdminUser {
  id: string;
  email: string;
  role: "user" | "admin";
  tier: string | null;
  credits: number;
  spend: number;
  keys: number;
  createdAt: string;
}

interface ReviewPayment {
  reference: string;
  credits: number;
  amount_subunits: number;
  currency: string;
  status: string;
  created_at: string;
  paid_at?: string | null;
  email?: string;
  review_reason?: string | null;
}

const paymentStatusFilters = ["all", "pending", "paid", "needs_review", "failed", "abandoned", "refunded"] as const;

interface UnmatchedEvent {
  event: string;
  reference: string | null;
  outcome: string;
  received_at: string;
}

const syncKey = ["admin", "sync"] as const;

function desiredText(problem: SyncProblem): string {
  if (problem.kind === "user") return `budget ${formatCents(problem.desired.budget_cents ?? 0)}`;
  if (problem.desired.revoked) return "revoked";
  const parts = [
    problem.desired.max_budget === null || problem.desired.max_budget === undefined ? "no cap" : formatCents(problem.desired.max_budget),
    problem.desired.rpm_limit ? `${formatNumber(problem.desired.rpm_limit)} rpm` : "no rpm",
    problem.desired.tpm_limit ? `${formatNumber(problem.desired.tpm_limit)} tpm` : "no tpm",
    problem.desired.models && problem.desired.models.length > 0 ? problem.desired.models.join(", ") : "all models",
  ];
  return parts.join(" · ");
}

function confirmedText(problem: SyncProblem): string {
  if (problem.confirmed.version === 0) return "never confirmed";
  const when = problem.confirmed.at ? formatRelative(problem.confirmed.at) : "";
  if (problem.kind === "user") return `budget ${problem.confirmed.budget_cents === null || problem.confirmed.budget_cents === undefined ? "—" : formatCents(problem.confirmed.budget_cents)} (v${problem.confirmed.version}) ${when}`;
  return `v${problem.confirmed.version} ${when}`;
}

function SyncPanel() {
  const queryClient = useQueryClient();
  const sync = useQuery({ queryKey: syncKey, queryFn: () => api<{ problems: SyncProblem[]; breaker: string | null }>("/api/admin/sync"), refetchInterval: 5_000 });
  const [result, setResult] = useState<string | null>(null);
  const retry = useMutation({
    mutationFn: (body: { kind: "key" | "user"; id: string } | { all: true }) => api<{ synced: number; failed: number; outcomes: { ok: boolean; error?: string }[] }>("/api/admin/sync", { method: "POST", body }),
    onSuccess: (outcome) => {
      const firstError = outcome.outcomes.find((entry) => !entry.ok)?.error;
      setResult(`${outcome.synced} synced, ${outcome.failed} still failing${firstError ? `: ${firstError}` : ""}.`);
    },
    onError: (err) => setResult(`Retry failed: ${err.message}`),
    onSettled: () => {
      void queryClient.invalidateQueries({ queryKey: syncKey });
      void queryClient.invalidateQueries({ queryKey: ["health"] });
    },
  });
  const problems = sync.data?.problems ?? [];
  const failedCount = problems.filter((problem) => problem.sync_status === "failed").length;
  return (
    <section aria-labelledby="sync-heading" className="rounded-2xl border border-slate-200 bg-white shadow-sm">
      <div className="flex flex-wrap items-center justify-between gap-3 border-b border-slate-200 px-4 py-4 sm:px-6">
        <h2 id="sync-heading" className="text-base font-semibold">
          Sync failures <span className="font-normal text-slate-500">({problems.length})</span>
        </h2>
        <button
          type="button"
          disabled={failedCount === 0 || retry.isPending}
          onClick={() => retry.mutate({ all: true })}
          className="rounded-lg bg-indigo-600 px-3 py-1.5 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2 disabled:opacity-50"
        >
          Retry all failed
        </button>
      </div>
      <p role="status" aria-live="polite" className={result ? "border-b border-slate-100 bg-indigo-50 px-6 py-2 text-sm text-indigo-900" : "sr-only"}>
        {result}
      </p>
      {sync.isError ? (
        <p role="alert" className="px-6 py-4 text-sm text-rose-700">
          Could not load sync state: {sync.error.message}
        </p>
      ) : sync.isPending ? (
        <p className="px-6 py-8 text-sm text-slate-500">Loading…</p>
      ) : problems.length === 0 ? (
        <p className="px-6 py-8 text-sm text-slate-600">Nothing waiting: every key and budget the gateway should know is confirmed.</p>
      ) : (
        <div className="relative overflow-x-auto">
          <table className="w-full min-w-[1000px] text-left text-sm">
            <TableHeader cellPadding="px-4" columns={[{ label: "User" }, { label: "What" }, { label: "Desired" }, { label: "Confirmed" }, { label: "Attempts", numeric: true }, { label: "Last error" }, { label: "Next attempt" }, { label: "Actions", hidden: true }]} />
            <tbody className="divide-y divide-slate-100">
              {problems.map((problem) => (
                <tr key={`${problem.kind}-${problem.id}`} data-testid="sync-problem" data-status={problem.sync_status}>
                  <td className="px-4 py-3">{problem.email}</td>
                  <td className="px-4 py-3">
                    {problem.kind === "key" ? (
                      <>
                        key “{problem.alias}” <span className="whitespace-nowrap font-mono text-slate-500">{problem.key}</span>
                      </>
                    ) : (
                      "user budget"
                    )}
                    <span className={`ml-2 rounded-full px-2 py-0.5 text-xs font-medium ${problem.sync_status === "failed" ? "bg-rose-50 text-rose-700" : "bg-amber-50 text-amber-800"}`}>{problem.sync_status}</span>
                  </td>
                  <td className="px-4 py-3 text-slate-700">
                    {desiredText(problem)} <span className="text-slate-400">(v{problem.desired.version})</span>
                  </td>
                  <td className="px-4 py-3 text-slate-700">{confirmedText(problem)}</td>
                  <td className="px-4 py-3 text-right tabular-nums">{problem.attempts}</td>
                  <td className="max-w-xs break-words px-4 py-3 text-rose-700">{problem.last_error ?? "—"}</td>
                  <td className="whitespace-nowrap px-4 py-3 text-slate-500">{problem.next_attempt_at ? <RelativeTime iso={problem.next_attempt_at} /> : "—"}</td>
                  <td className="px-4 py-3 text-right">
                    <button
                      type="button"
                      disabled={retry.isPending}
                      onClick={() => retry.mutate({ kind: problem.kind, id: problem.id })}
                      aria-label={`Retry ${problem.kind === "key" ? `key ${problem.alias ?? ""}` : "budget"} of ${problem.email}`}
                      className="rounded-lg border border-slate-300 px-3 py-1.5 text-sm font-medium text-slate-700 hover:bg-slate-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 disabled:opacity-50"
                    >
                      Retry
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function HealthPanel() {
  const health = useHealth();
  const report = health.data;
  const rows: [string, string, boolean | null][] = [
    ["Database", report ? (report.database.ok ? "answering" : `down: ${report.database.error ?? ""}`) : "checking…", report ? report.database.ok : null],
    ["Gateway", report ? (report.gateway.ok ? `answering (${report.gateway.latencyMs ?? "?"} ms)` : `not answering: ${report.gateway.error ?? ""}`) : "checking…", report ? report.gateway.ok : null],
    ["Sync breaker (app)", report?.sync ? (report.sync.breaker === "closed" ? "closed: pushes go through" : report.sync.breaker === "open" ? "open: pushes fail fast and queue" : "half-open: probing the gateway") : "—", report?.sync ? report.sync.breaker === "closed" : null],
  ];
  return (
    <section aria-labelledby="health-heading" className="rounded-2xl border border-slate-200 bg-white p-6 shadow-sm">
      <h2 id="health-heading" className="text-base font-semibold">
        Health
      </h2>
      <dl className="mt-3 grid gap-2 text-sm sm:grid-cols-3">
        {rows.map(([label, text, ok]) => (
          <div key={label} className="rounded-xl bg-slate-50 p-3">
            <dt className="text-xs text-slate-500">{label}</dt>
            <dd className="mt-1 flex items-center gap-2 font-medium" data-testid={`health-${label.toLowerCase().replace(/ \(app\)/, "").replace(/ /g, "-")}`}>
              <span aria-hidden="true" className={`inline-block h-2.5 w-2.5 shrink-0 rounded-full ${ok === null ? "bg-slate-300" : ok ? "bg-emerald-500" : "bg-rose-500"}`} />
              <span className="break-words">{text}</span>
            </dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

function AdjustCredits({ user, onDone }: { user: AdminUser; onDone: (message: string) => void }) {
  const id = useId();
  const queryClient = useQueryClient();
  const [errors, setErrors] = useState<{ amount?: string; reason?: string; form?: string }>({});
  const [idempotencyKey] = useState(() => crypto.randomUUID());
  const adjust = useMutation({
    mutationFn: (body: { user_id: string; amount: number; reason: string; idempotency_key: string }) => api<{ balance: number }>("/api/admin/users/credits", { method: "POST", body }),
    onSuccess: (entry) => {
      void queryClient.invalidateQueries({ queryKey: ["admin", "users"] });
      onDone(`Adjusted ${user.email}: balance now ${formatNumber(entry.balance)} credits.`);
    },
    onError: (err) => {
      if (err instanceof RequestError && (err.field === "amount" || err.field === "reason")) setErrors({ [err.field]: err.message });
      else setErrors({ form: err.message });
    },
  });
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const amountText = String(form.get("amount") ?? "").trim().replace(/,/g, "");
    const reason = String(form.get("reason") ?? "").trim();
    const next: typeof errors = {};
    if (!/^[+-]?\d+$/.test(amountText)) next.amount = "Enter a whole number of credits, negative to take credits away";
    else if (Number(amountText) === 0) next.amount = "The amount must not be zero";
    else if (Math.abs(Number(amountText)) > 10_000_000) next.amount = "At most 10,000,000 credits at once";
    else if (user.credits + Number(amountText) < 0) next.amount = `That would leave a negative balance (the user has ${formatNumber(user.credits)})`;
    if (reason.length < 3) next.reason = "Say why, in at least 3 characters: the user sees it";
    else if (reason.length > 200) next.reason = "At most 200 characters";
    setErrors(next);
    if (Object.keys(next).length > 0) return;
    adjust.mutate({ user_id: user.id, amount: Number(amountText), reason, idempotency_key: idempotencyKey });
  }
  const input = "mt-1 block w-full rounded-lg border border-slate-300 px-3 py-2 text-sm shadow-sm focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-500/30 aria-[invalid=true]:border-rose-500";
  return (
    <form onSubmit={submit} noValidate className="space-y-4">
      <p className="text-sm text-slate-600">
        {user.email} has {formatNumber(user.credits)} credits. The adjustment is a ledger entry with your name on it.
      </p>
      <div>
        <label htmlFor={`${id}-amount`} className="block text-sm font-medium text-slate-700">
          Credits (+ to add, − to remove)
        </label>
        <input id={`${id}-amount`} name="amount" inputMode="numeric" aria-invalid={errors.amount ? true : undefined} aria-describedby={errors.amount ? `${id}-amount-error` : undefined} className={input} />
        {errors.amount && (
          <p id={`${id}-amount-error`} className="mt-1 text-sm text-rose-700">
            {errors.amount}
          </p>
        )}
      </div>
      <div>
        <label htmlFor={`${id}-reason`} className="block text-sm font-medium text-slate-700">
          Reason
        </label>
        <input id={`${id}-reason`} name="reason" maxLength={220} aria-invalid={errors.reason ? true : undefined} aria-describedby={errors.reason ? `${id}-reason-error` : undefined} className={input} />
        {errors.reason && (
          <p id={`${id}-reason-error`} className="mt-1 text-sm text-rose-700">
            {errors.reason}
          </p>
        )}
      </div>
      {errors.form && (
        <p role="alert" className="rounded-lg bg-rose-50 p-3 text-sm text-rose-800">
          {errors.form}
        </p>
      )}
      <div className="flex justify-end">
        <button type="submit" disabled={adjust.isPending} className="rounded-lg bg-indigo-600 px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2 disabled:opacity-70">
          {adjust.isPending ? "Saving…" : "Record adjustment"}
        </button>
      </div>
    </form>
  );
}

function UsersPanel({ initialUsers }: { initialUsers: AdminUser[] }) {
  const id = useId();
  const [search, setSearch] = useState("");
  const [adjusting, setAdjusting] = useState<AdminUser | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const users = useQuery({
    queryKey: ["admin", "users", search],
    queryFn: async () => (await api<{ users: AdminUser[] }>(`/api/admin/users?${new URLSearchParams(search ? { q: search } : {}).toString()}`)).users,
    initialData: search === "" ? initialUsers : undefined,
  });
  const list = users.data ?? [];
  return (
    <section aria-labelledby="users-heading" className="rounded-2xl border border-slate-200 bg-white shadow-sm">
      <div className="flex flex-wrap items-center justify-between gap-3 border-b border-slate-200 px-4 py-4 sm:px-6">
        <h2 id="users-heading" className="text-base font-semibold">
          Users <span className="font-normal text-slate-500">({list.length})</span>
        </h2>
        <div>
          <label htmlFor={`${id}-search`} className="sr-only">
            Search users by email
          </label>
          <input id={`${id}-search`} type="search" placeholder="Search by email" value={search} onChange={(event) => setSearch(event.target.value)} className="rounded-lg border border-slate-300 px-3 py-1.5 text-sm" />
        </div>
      </div>
      <p role="status" aria-live="polite" className={notice ? "border-b border-slate-100 bg-emerald-50 px-6 py-2 text-sm text-emerald-900" : "sr-only"}>
        {notice}
      </p>
      <div className="relative overflow-x-auto">
        <table className="w-full min-w-[720px] text-left text-sm">
          <TableHeader cellPadding="px-4" columns={[{ label: "Email" }, { label: "Role" }, { label: "Tier" }, { label: "Credits", numeric: true }, { label: "Spend", numeric: true }, { label: "Keys", numeric: true }, { label: "Joined" }, { label: "Actions", hidden: true }]} />
          <tbody className="divide-y divide-slate-100">
            {list.length === 0 && (
              <tr>
                <td colSpan={8} className="px-4 py-6 text-sm text-slate-600">
                  {users.isError
                    ? `Could not load users: ${users.error.message}`
                    : users.isPending
                      ? "Loading…"
                      : search
                        ? `No user's email contains “${search}”.`
                        : "No users yet."}
                </td>
              </tr>
            )}
            {list.map((user) => (
              <tr key={user.id}>
                <td className="px-4 py-3">{user.email}</td>
                <td className="px-4 py-3">{user.role}</td>
                <td className="px-4 py-3 text-slate-500">{user.tier ?? "—"}</td>
                <td className="px-4 py-3 text-right tabular-nums">{formatNumber(user.credits)}</td>
                <td className="px-4 py-3 text-right tabular-nums">{formatCents(user.spend)}</td>
                <td className="px-4 py-3 text-right tabular-nums">{user.keys}</td>
                <td className="whitespace-nowrap px-4 py-3 text-slate-500">{user.createdAt.slice(0, 10)}</td>
                <td className="px-4 py-3 text-right">
                  <button type="button" onClick={() => setAdjusting(user)} aria-label={`Adjust credits of ${user.email}`} className="rounded-lg border border-slate-300 px-3 py-1.5 text-sm font-medium text-slate-700 hover:bg-slate-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">
                    Adjust credits
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Dialog open={adjusting !== null} title="Adjust credits" onClose={() => setAdjusting(null)}>
        {adjusting && (
          <AdjustCredits
            user={adjusting}
            onDone={(message) => {
              setNotice(message);
              setAdjusting(null);
            }}
          />
        )}
      </Dialog>
    </section>
  );
}

function PaymentsReview() {
  const payments = useQuery({
    queryKey: ["admin", "payments", "needs_review"],
    queryFn: async () => {
      const body = await api<{ payments: ReviewPayment[]; unmatched_events?: UnmatchedEvent[] }>("/api/admin/payments?status=needs_review");
      return { payments: body.payments, unmatched: body.unmatched_events ?? [] };
    },
    retry: false,
  });
  return (
    <section aria-labelledby="payments-heading" className="rounded-2xl border border-slate-200 bg-white shadow-sm">
      <h2 id="payments-heading" className="border-b border-slate-200 px-6 py-4 text-base font-semibold">
        Payments needing a look
      </h2>
      {payments.isError ? (
        <p className="px-6 py-6 text-sm text-slate-600">{payments.error instanceof RequestError && payments.error.status === 404 ? "Payments are not available on this server yet." : `Could not load payments: ${payments.error.message}`}</p>
      ) : payments.isPending ? (
        <p className="px-6 py-6 text-sm text-slate-500">Loading…</p>
      ) : payments.data.payments.length === 0 && payments.data.unmatched.length === 0 ? (
        <p className="px-6 py-6 text-sm text-slate-600">None: every payment is settled.</p>
      ) : (
        <ul className="divide-y divide-slate-100">
          {payments.data.unmatched.map((event) => (
            <li key={`${event.event}-${event.received_at}`} className="flex flex-wrap justify-between gap-2 px-6 py-3 text-sm">
              <span>
                Provider event <span className="font-mono">{event.event}</span> matched no payment
              </span>
              <span className="font-mono">{event.reference ?? "no reference"}</span>
              <span className="text-slate-500">{event.outcome}</span>
              <span className="text-slate-500">{formatDateTime(event.received_at)}</span>
            </li>
          ))}
          {payments.data.payments.map((payment) => (
            <li key={payment.reference} className="flex flex-wrap justify-between gap-2 px-6 py-3 text-sm">
              <span className="font-mono">{payment.reference}</span>
              <span>{payment.email ?? ""}</span>
              <span className="tabular-nums">
                {formatNumber(payment.credits)} credits · {formatMoney(payment.amount_subunits, payment.currency)}
              </span>
              <span className="text-slate-500">{formatDateTime(payment.created_at)}</span>
              {payment.review_reason && <span className="basis-full text-amber-800">{payment.review_reason}</span>}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** Every payment, newest first, filtered by status: what an operator checks when a user asks. */
function PaymentsList() {
  const filterId = useId();
  const [status, setStatus] = useState<(typeof paymentStatusFilters)[number]>("all");
  const payments = useQuery({
    queryKey: ["admin", "payments", status],
    queryFn: async () => {
      const query = status === "all" ? "" : `?status=${status}`;
      return (await api<{ payments: ReviewPayment[] }>(`/api/admin/payments${query}`)).payments;
    },
    retry: false,
  });
  return (
    <section aria-labelledby="all-payments-heading" className="rounded-2xl border border-slate-200 bg-white shadow-sm">
      <div className="flex flex-wrap items-center justify-between gap-3 border-b border-slate-200 px-6 py-4">
        <h2 id="all-payments-heading" className="text-base font-semibold">
          Payments
        </h2>
        <div className="flex items-center gap-2 text-sm">
          <label htmlFor={filterId} className="text-slate-600">
            Status
          </label>
          <select
            id={filterId}
            value={status}
            onChange={(event) => setStatus(event.target.value as (typeof paymentStatusFilters)[number])}
            className="rounded-lg border border-slate-300 px-2 py-1 text-sm"
          >
            {paymentStatusFilters.map((value) => (
              <option key={value} value={value}>
                {value === "all" ? "All" : value.replace("_", " ")}
              </option>
            ))}
          </select>
        </div>
      </div>
      {payments.isError ? (
        <p className="px-6 py-6 text-sm text-slate-600">Could not load payments: {payments.error.message}</p>
      ) : payments.isPending ? (
        <p className="px-6 py-6 text-sm text-slate-500">Loading…</p>
      ) : payments.data.length === 0 ? (
        <p className="px-6 py-6 text-sm text-slate-600">No payments{status === "all" ? " yet" : ` with status ${status.replace("_", " ")}`}.</p>
      ) : (
        <div className="overflow-x-auto">
          <table className="w-full text-left text-sm">
            <TableHeader cellPadding="px-4" columns={[{ label: "Reference" }, { label: "User" }, { label: "Credits", numeric: true }, { label: "Amount", numeric: true }, { label: "Status" }, { label: "Started" }, { label: "Paid" }]} />
            <tbody className="divide-y divide-slate-100">
              {payments.data.map((payment) => (
                <tr key={payment.reference}>
                  <td className="px-4 py-3 font-mono text-xs">{payment.reference}</td>
                  <td className="px-4 py-3">{payment.email ?? ""}</td>
                  <td className="px-4 py-3 text-right tabular-nums">{formatNumber(payment.credits)}</td>
                  <td className="whitespace-nowrap px-4 py-3 text-right tabular-nums">
                    {formatMoney(payment.amount_subunits, payment.currency)}
                  </td>
                  <td className="px-4 py-3">{payment.status.replace("_", " ")}</td>
                  <td className="whitespace-nowrap px-4 py-3 text-slate-500">{formatDateTime(payment.created_at)}</td>
                  <td className="whitespace-nowrap px-4 py-3 text-slate-500">{payment.paid_at ? formatDateTime(payment.paid_at) : "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

export function AdminConsole({ initialUsers }: { initialUsers: AdminUser[] }) {
  return (
    <>
      <HealthPanel />
      <SyncPanel />
      <UsersPanel initialUsers={initialUsers} />
      <PaymentsReview />
      <PaymentsList />
    </>
  );
}
