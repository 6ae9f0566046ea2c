import Link from "next/link";

export default function Forbidden() {
  return (
    <main className="flex min-h-screen flex-col items-center justify-center gap-3 px-4 text-center">
      <p className="text-sm font-semibold text-indigo-600">403</p>
      <h1 className="text-2xl font-semibold">This page is for admins</h1>
      <p className="text-slate-600">Your account does not have access to it.</p>
      <Link href="/analytics" className="mt-2 text-sm font-medium text-indigo-600 hover:text-indigo-500">
        Back to your dashboard
      </Link>
    </main>
  );
}
