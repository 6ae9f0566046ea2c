import { appEnv } from "../env";
import { sharedDb, type Sql } from "./client";

export type { Sql, TransactionSql } from "./client";
export { withAnonTransaction, withServiceTransaction, withUserTransaction } from "./transactions";

/** The app's pool on DATABASE_URL. */
export function appDb(): Sql {
  return sharedDb(appEnv().DATABASE_URL);
}
