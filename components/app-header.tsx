import Link from "next/link";
import { SignOutButton } from "./sign-out-button";

export function AppHeader({ email, isAdmin }: { email: string; isAdmin: boolean }) {
  return (
    <header className="border-b border-slate-200 bg-white">
      <div className="mx-auto flex max-w-6xl items-center justify-between gap-4 px-4 py-3 sm:px-6">
        <nav aria-label="Main" className="flex items-center gap-6">
          <Link href="/analytics" className="text-base font-semibold tracking-tight text-slate-900">
            credit<span className="text-indigo-600">gate</span>
          </Link>
          <Link href="/analytics" className="text-sm font-medium text-slate-600 hover:text-slate-900">
            Dashboard
          </Link>
          {isAdmin && (
            <Link href="/admin" className="text-sm font-medium text-slate-600 hover:text-slate-900">
              Admin
            </Link>
          )}
        </nav>
        <div className="flex items-center gap-3">
          <span className="hidden truncate text-sm text-slate-500 sm:inline" title={email}>
            {email}
          </span>
          <SignOutButton />
        </div>
      </div>
    </header>
  );
}
