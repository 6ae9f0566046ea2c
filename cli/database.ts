import { z } from "zod";
import { createDb, type Sql } from "../lib/db/client";
import { envFields, EnvError, parseEnv } from "../lib/env";
import { CliError, exitCodes } from "./output";

/** Runs `work` against the app database named by DATABASE_URL, closing the pool afterwards. */
export async function withAppDatabase<T>(work: (sql: Sql) => Promise<T>): Promise<T> {
  let url: string;
  try {
    url = parseEnv(z.object({ DATABASE_URL: envFields.DATABASE_URL })).DATABASE_URL;
  } catch (err) {
    if (err instanceof EnvError) throw new CliError(`${err.problems.join("; ")} (app commands need the app database)`, exitCodes.usage);
    throw err;
  }
  const sql = createDb(url, { max: 2 });
  try {
    return await work(sql);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ECONNREFUSED" || code === "ENOTFOUND") {
      throw new CliError(`cannot reach the app database at ${new URL(url).host} (${code})`);
    }
    throw err;
  } finally {
    await sql.end({ timeout: 5 });
  }
}
