import type { Metadata } from "next";
import { forbidden } from "next/navigation";
import { AdminConsole } from "@/components/admin/admin-console";
import { AppHeader } from "@/components/app-header";
import { listUsersForAdmin } from "@/lib/admin/users";
import { loadProfile } from "@/lib/auth/profile";
import { appServices } from "@/lib/services";
import { pageSession } from "../_server/session";

export const metadata: Metadata = { title: "Admin" };
export const dynamic = "force-dynamic";

export default async function AdminPage() {
  const session = await pageSession();
  const { sql } = appServices();
  const profile = await loadProfile(sql, session.userId);
  if (profile?.role !== "admin") forbidden();
  const users = JSON.parse(JSON.stringify(await listUsersForAdmin(sql, 100))) as Parameters<typeof AdminConsole>[0]["initialUsers"];

  return (
    <>
      <AppHeader email={session.email} isAdmin />
      <main className="mx-auto max-w-6xl space-y-6 px-4 py-8 sm:px-6">
        <h1 className="text-2xl font-semibold tracking-tight">Admin</h1>
        <AdminConsole initialUsers={users} />
      </main>
    </>
  );
}
