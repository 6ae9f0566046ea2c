import type { Metadata } from "next";
import { forbidden } from "next/navigation";
import { AppHeader } from "@/components/app-header";
import { loadProfile } from "@/lib/auth/profile";
import { listUsersForAdmin } from "@/lib/admin/users";
import { appServices } from "@/lib/services";
import { pageSession } from "../_server/session";

export const metadata: Metadata = { title: "Admin" };
export const dynamic = "force-dynamic";

export default async function AdminPage() {
  const session = await pageSession();
  const { sql } = appServices();
  const profile = await loadProfile(sql, session.userId);
  if (profile?.role !== "admin") forbidden();
  const users = await listUsersForAdmin(sql, 100);

  return (
    <>
      <AppHeader email={session.email} isAdmin />
      <main className="mx-auto max-w-6xl space-y-6 px-4 py-8 sm:px-6">
        <h1 className="text-2xl font-semibold tracking-tight">Admin</h1>
        <section aria-labelledby="users-heading" className="rounded-2xl border border-slate-200 bg-white shadow-sm">
          <h2 id="users-heading" className="border-b border-slate-200 px-6 py-4 text-base font-semibold">
            Users <span className="font-normal text-slate-500">({users.length})</span>
          </h2>
          <div className="overflow-x-auto">
            <table className="w-full text-left text-sm">
              <thead className="text-xs uppercase tracking-wide text-slate-500">
                <tr>
                  <th scope="col" className="px-6 py-3 font-medium">Email</th>
                  <th scope="col" className="px-6 py-3 font-medium">Role</th>
                  <th scope="col" className="px-6 py-3 font-medium">Tier</th>
                  <th scope="col" className="px-6 py-3 text-right font-medium">Credits</th>
                  <th scope="col" className="px-6 py-3 text-right font-medium">Keys</th>
                  <th scope="col" className="px-6 py-3 font-medium">Joined</th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100">
                {users.map((user) => (
                  <tr key={user.id}>
                    <td className="px-6 py-3">{user.email}</td>
                    <td className="px-6 py-3">{user.role}</td>
                    <td className="px-6 py-3 text-slate-500">{user.tier ?? "—"}</td>
                    <td className="px-6 py-3 text-right tabular-nums">{user.credits.toLocaleString("en-US")}</td>
                    <td className="px-6 py-3 text-right tabular-nums">{user.keys}</td>
                    <td className="whitespace-nowrap px-6 py-3 text-slate-500">{user.createdAt.toISOString().slice(0, 10)}</td>
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
