import type { Sql, TransactionSql } from "./client";

/** The claims Supabase's PostgREST puts in `request.jwt.claims` for a signed-in user. */
export interface UserClaims {
  sub: string;
  email: string;
  role: "authenticated";
  [claim: string]: unknown;
}

/**
 * Runs `work` as the signed-in user, the way Supabase does: `role authenticated` and the JWT
 * claims set for this transaction only. Row-level security, not application code, is then what
 * keeps one user's rows from another.
 */
export async function withUserTransaction<T>(
  sql: Sql,
  claims: UserClaims,
  work: (tx: TransactionSql) => Promise<T>,
): Promise<T> {
  const result = await sql.begin(async (tx) => {
    await tx`
      select set_config('role', 'authenticated', true),
             set_config('request.jwt.claims', ${JSON.stringify(claims)}, true),
             set_config('request.jwt.claim.sub', ${claims.sub}, true),
             set_config('request.jwt.claim.role', 'authenticated', true)`;
    return work(tx);
  });
  return result as T;
}

/** Runs `work` as an anonymous visitor (role `anon`, no claims). */
export async function withAnonTransaction<T>(sql: Sql, work: (tx: TransactionSql) => Promise<T>): Promise<T> {
  const result = await sql.begin(async (tx) => {
    await tx`
      select set_config('role', 'anon', true),
             set_config('request.jwt.claims', '{"role":"anon"}', true),
             set_config('request.jwt.claim.role', 'anon', true)`;
    return work(tx);
  });
  return result as T;
}

/**
 * Runs `work` with the connection's own role (the schema owner), which row-level security does
 * not restrict: only for trusted server work such as the signup flow, the webhook and the worker.
 */
export async function withServiceTransaction<T>(sql: Sql, work: (tx: TransactionSql) => Promise<T>): Promise<T> {
  const result = await sql.begin(work);
  return result as T;
}
