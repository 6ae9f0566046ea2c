"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useId, useState, type FormEvent } from "react";

type Mode = "login" | "signup";

interface ApiErrorBody {
  error?: { type?: string; message?: string; field?: string };
}

const copy = {
  login: { title: "Sign in", submit: "Sign in", busy: "Signing in…", switchText: "New here?", switchLink: "Create an account", switchHref: "/signup" },
  signup: { title: "Create your account", submit: "Create account", busy: "Creating account…", switchText: "Already have an account?", switchLink: "Sign in", switchHref: "/login" },
} as const;

export function AuthForm({ mode }: { mode: Mode }) {
  const router = useRouter();
  const ids = { email: useId(), password: useId(), error: useId() };
  const [error, setError] = useState<{ message: string; field?: string } | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const text = copy[mode];

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    try {
      const response = await fetch(`/api/auth/${mode}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: form.get("email"), password: form.get("password") }),
      });
      const body = (await response.json().catch(() => ({}))) as ApiErrorBody & { signed_in?: boolean };
      if (!response.ok) {
        setError({ message: humanError(response.status, body), field: body.error?.field });
        return;
      }
      if (mode === "signup" && body.signed_in === false) {
        setNotice("Check your inbox to confirm your address, then sign in.");
        return;
      }
      router.replace("/analytics");
      router.refresh();
    } catch {
      setError({ message: "Could not reach the server. Check your connection and try again." });
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="flex min-h-screen items-center justify-center px-4 py-12">
      <div className="w-full max-w-sm">
        <p className="mb-8 text-center text-lg font-semibold tracking-tight text-slate-900">
          credit<span className="text-indigo-600">gate</span>
        </p>
        <div className="rounded-2xl border border-slate-200 bg-white p-8 shadow-sm">
          <h1 className="text-xl font-semibold text-slate-900">{text.title}</h1>
          {notice ? (
            <p role="status" className="mt-6 rounded-lg bg-emerald-50 p-3 text-sm text-emerald-800">
              {notice}
            </p>
          ) : (
            <form onSubmit={submit} className="mt-6 space-y-4" noValidate aria-describedby={error ? ids.error : undefined}>
              <div>
                <label htmlFor={ids.email} className="block text-sm font-medium text-slate-700">
                  Email
                </label>
                <input
                  id={ids.email}
                  name="email"
                  type="email"
                  autoComplete="email"
                  required
                  aria-invalid={error?.field === "email" || undefined}
                  className="mt-1 block w-full rounded-lg border border-slate-300 px-3 py-2 text-sm shadow-sm focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-500/30 aria-[invalid=true]:border-rose-500"
                />
              </div>
              <div>
                <label htmlFor={ids.password} className="block text-sm font-medium text-slate-700">
                  Password
                </label>
                <input
                  id={ids.password}
                  name="password"
                  type="password"
                  autoComplete={mode === "signup" ? "new-password" : "current-password"}
                  minLength={8}
                  required
                  aria-invalid={error?.field === "password" || undefined}
                  className="mt-1 block w-full rounded-lg border border-slate-300 px-3 py-2 text-sm shadow-sm focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-500/30 aria-[invalid=true]:border-rose-500"
                />
                {mode === "signup" && <p className="mt-1 text-xs text-slate-500">At least 8 characters.</p>}
              </div>
              {error && (
                <p id={ids.error} role="alert" className="rounded-lg bg-rose-50 p-3 text-sm text-rose-800">
                  {error.message}
                </p>
              )}
              <button
                type="submit"
                disabled={busy}
                className="w-full rounded-lg bg-indigo-600 px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2 disabled:cursor-wait disabled:opacity-70"
              >
                {busy ? text.busy : text.submit}
              </button>
            </form>
          )}
        </div>
        <p className="mt-6 text-center text-sm text-slate-600">
          {text.switchText}{" "}
          <Link href={text.switchHref} className="font-medium text-indigo-600 hover:text-indigo-500">
            {text.switchLink}
          </Link>
        </p>
      </div>
    </main>
  );
}

function humanError(status: number, body: ApiErrorBody): string {
  const message = body.error?.message;
  if (status === 400 && message) {
    // "email: must be a valid email address" → "Email must be a valid email address."
    const [field, ...rest] = message.split(": ");
    if (rest.length > 0 && field) return `${field.charAt(0).toUpperCase()}${field.slice(1)} ${rest.join(": ")}.`;
  }
  return message ?? "Something went wrong. Try again.";
}
