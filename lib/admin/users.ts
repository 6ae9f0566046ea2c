import type { Sql } from "../db/client";

export interface AdminUserRow {
  id: string;
  email: string;
  role: "user" | "admin";
  tier: string | null;
  credits: number;
  keys: number;
  createdAt: Date;
}

/** Every user with their balance and live key count, newest first. Server-side, after requireAdmin. */
export async function listUsersForAdmin(sql: Sql, limit: number): Promise<AdminUserRow[]> {
  const rows = await sql<(Omit<AdminUserRow, "credits"> & { credits: string })[]>`
    select p.id, p.email, p.role, p.tier, p.created_at as "createdAt",
           coalesce((select sum(t.amount) from public.credit_transactions t where t.user_id = p.id), 0) as credits,
           (select count(*)::int from public.virtual_keys k
             where k.user_id = p.id and not k.is_placeholder and k.revoked_at is null) as keys
    from public.profiles p
    order by p.created_at desc
    limit ${limit}`;
  return rows.map((row) => ({ ...row, credits: Number(row.credits) }));
}
