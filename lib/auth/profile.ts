import type { Sql, TransactionSql } from "../db/client";

export interface Profile {
  id: string;
  email: string;
  role: "user" | "admin";
  tier: string | null;
}

/**
 * Makes the new user an admin when the operator listed their address in ADMIN_EMAILS. Roles come
 * only from here and from `creditgate admin grant`, never from anything the user can edit.
 */
export async function promoteConfiguredAdmin(
  tx: TransactionSql | Sql,
  userId: string,
  email: string,
  adminEmails: readonly string[],
): Promise<void> {
  if (!adminEmails.includes(email.toLowerCase())) return;
  await tx`update public.profiles set role = 'admin' where id = ${userId}`;
}

export async function loadProfile(sql: Sql, userId: string): Promise<Profile | null> {
  const [row] = await sql<Profile[]>`select id, email, role, tier from public.profiles where id = ${userId}`;
  return row ?? null;
}

export async function setRoleByEmail(sql: Sql, email: string, role: Profile["role"]): Promise<Profile | null> {
  const [row] = await sql<Profile[]>`
    update public.profiles set role = ${role} where lower(email) = ${email.toLowerCase()}
    returning id, email, role, tier`;
  return row ?? null;
}
