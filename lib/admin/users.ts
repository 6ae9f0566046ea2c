import { z } from "zod";
import type { Sql } from "../db/client";

export interface AdminUserRow {
  id: string;
  email: string;
  role: "user" | "admin";
  tier: string | null;
  credits: number;
  /** Last known gateway spend over all the user's keys, cents. */
  spend: number;
  keys: number;
  createdAt: Date;
}

export const adminUserQuerySchema = z.object({
  q: z.string().trim().max(200, "must be at most 200 characters").optional(),
  limit: z.coerce.number({ message: "must be a number" }).int().min(1).max(500).default(100),
});

/** Users with their balance, spend and live key count, newest first. Server-side, after requireAdmin. */
export async function listUsersForAdmin(sql: Sql, limit: number, search?: string): Promise<AdminUserRow[]> {
  const pattern = search ? `%${search.toLowerCase().replace(/[\\%_]/g, (char) => `\\${char}`)}%` : null;
  const rows = await sql<(Omit<AdminUserRow, "credits" | "spend"> & { credits: string; spend: string })[]>`
    select p.id, p.email, p.role, p.tier, p.created_at as "createdAt",
           coalesce((select sum(t.amount) from public.credit_transactions t where t.user_id = p.id), 0) as credits,
           coalesce((select sum(k.spend_cents) from public.virtual_keys k where k.user_id = p.id), 0) as spend,
           (select count(*)::int from public.virtual_keys k
             where k.user_id = p.id and not k.is_placeholder and k.revoked_at is null) as keys
    from public.profiles p
    ${pattern ? sql`where p.email like ${pattern}` : sql``}
    order by p.created_at desc
    limit ${limit}`;
  return rows.map((row) => ({ ...row, credits: Number(row.credits), spend: Number(row.spend) }));
}
