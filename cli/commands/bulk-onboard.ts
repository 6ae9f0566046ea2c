import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { CsvError } from "csv-parse";
import { parse as parseCsv } from "csv-parse/sync";
import { z } from "zod";
import { parseFlags } from "../flags";
import { withGateway } from "../gateway";
import { mapConcurrently, onboardUser, type OnboardResult } from "../onboard";
import { CliError, exitCodes, printRows, type OutputOptions } from "../output";
import { loadTiers, type Tier } from "../tiers";
import { knownTiers, missingTeamReason, missingTeams, tierNamed } from "./add-user";

/**
 * `bulk-onboard users.csv`: every row is onboarded on its own (a bad row fails alone, with its
 * reason), several at a time, results printed in file order. Rows are checked before anything
 * is sent: a bad email, an unknown tier or a repeated email fails that row only.
 */

const csvRecordSchema = z.object({
  record: z.record(z.string(), z.string().optional()),
  info: z.looseObject({ lines: z.number().int() }),
});

const rowSchema = z.object({
  email: z
    .string({ message: "is missing" })
    .trim()
    .toLowerCase()
    .pipe(z.email({ message: "is not an email address" })),
  tier: z.string({ message: "is missing" }).trim().toLowerCase().min(1, "is missing"),
  alias: z
    .string()
    .trim()
    .optional()
    .transform((value) => (value ? value : undefined)),
});

interface PlannedRow {
  line: number;
  email: string;
  tier: string;
  /** Set when the row can be onboarded; otherwise `failure` says why not. */
  request?: { email: string; tier: Tier; alias: string | undefined };
  failure?: string;
}

const flagsSchema = z.object({
  tiers: z.string().optional(),
  dryRun: z.boolean().optional(),
  concurrency: z
    .string()
    .regex(/^\d+$/, "must be a whole number")
    .transform(Number)
    .refine((value) => value >= 1 && value <= 64, "must be between 1 and 64")
    .default(8),
});

async function readRows(file: string): Promise<{ line: number; values: Record<string, string | undefined> }[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new CliError(`<file>: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`, exitCodes.usage);
  }
  let records: unknown[];
  try {
    records = parseCsv<unknown>(text, {
      columns: (header: string[]) => header.map((name) => name.trim().toLowerCase()),
      info: true,
      skip_empty_lines: true,
      relax_column_count: true,
      bom: true,
    });
  } catch (err) {
    if (err instanceof CsvError) throw new CliError(`${file}: not valid CSV (${err.message})`);
    throw err;
  }
  const columns = (parseCsv(text, { to_line: 1, bom: true })[0] ?? []).map((name) => name.trim().toLowerCase());
  if (!columns.includes("email") || !columns.includes("tier")) {
    throw new CliError(`${file}: the first line must be the header email,tier,alias (got "${columns.join(",")}")`, exitCodes.usage);
  }
  return records.map((raw) => {
    const { record, info } = csvRecordSchema.parse(raw);
    return { line: info.lines, values: record };
  });
}

function planRows(rows: { line: number; values: Record<string, string | undefined> }[], tiers: Awaited<ReturnType<typeof loadTiers>>): PlannedRow[] {
  const firstLineOf = new Map<string, number>();
  return rows.map(({ line, values }) => {
    const shown = { line, email: values.email?.trim() ?? "", tier: values.tier?.trim() ?? "" };
    const parsed = rowSchema.safeParse(values);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return { ...shown, failure: `${String(issue?.path[0] ?? "row")} ${issue?.message ?? "is invalid"}` };
    }
    const { email, tier: tierName, alias } = parsed.data;
    const tier = tierNamed(tiers, tierName);
    if (!tier) return { ...shown, email, failure: `unknown tier "${tierName}" (known: ${knownTiers(tiers)})` };
    const first = firstLineOf.get(email);
    if (first !== undefined) return { ...shown, email, failure: `duplicate of line ${first}` };
    firstLineOf.set(email, line);
    return { ...shown, email, tier: tier.slug, request: { email, tier, alias } };
  });
}

/** Progress on stderr, so stdout stays the result table (or JSON) a script can read. */
function progressReporter(total: number): (done: number) => void {
  if (total < 100) return () => undefined;
  const step = Math.max(50, Math.floor(total / 20));
  return (done) => {
    if (done % step === 0 || done === total) process.stderr.write(`creditgate: bulk-onboard: ${done}/${total} rows\n`);
  };
}

export function registerBulkOnboard(program: Command): void {
  program
    .command("bulk-onboard <file>")
    .description("onboard everyone in a CSV file (email,tier,alias); each row on its own; safe to run again")
    .option("--tiers <file>", "tiers file (default: cli/tiers.yaml)")
    .option("--dry-run", "say what each row would change without changing anything")
    .option("--concurrency <n>", "rows in flight at once", "8")
    .addHelpText(
      "after",
      `\nThe file:\n  email,tier,alias\n  alice@company.com,architect,Alice Smith\n  bob@company.com,coding,Bob Jones\n\nExample:\n  creditgate bulk-onboard users.csv --dry-run\n  creditgate bulk-onboard users.csv --json > onboarded.json   # keys of new users are in it, once`,
    )
    .action(async (file: string, options: unknown) => {
      const flags = parseFlags(flagsSchema, options);
      const output = program.opts<OutputOptions>();
      const tiers = await loadTiers(flags.tiers);
      const planned = planRows(await readRows(file), tiers);
      if (planned.length === 0) throw new CliError(`${file}: no rows after the header`, exitCodes.usage);

      const results = await withGateway(
        async (client) => {
          const usedTiers = new Set(planned.flatMap((row) => (row.request ? [row.request.tier] : [])));
          const missing = await missingTeams(client, usedTiers);
          return mapConcurrently(
            planned,
            flags.concurrency,
            async (row): Promise<OnboardResult & { line: number }> => {
              const failed = (detail: string) => ({ line: row.line, email: row.email, tier: row.tier, status: "failed" as const, detail, userId: null, key: null });
              if (!row.request) return failed(row.failure ?? "invalid row");
              if (missing.has(row.request.tier.slug)) return failed(missingTeamReason(row.request.tier));
              return { line: row.line, ...(await onboardUser(client, row.request, { dryRun: flags.dryRun === true })) };
            },
            progressReporter(planned.length),
          );
        },
        { connections: flags.concurrency },
      );

      printRows(
        results.map((result) => ({
          line: result.line,
          email: result.email,
          tier: result.tier,
          status: result.status,
          detail: result.detail,
          user_id: result.userId,
          key: result.key,
        })),
        output,
      );
      const counts = new Map<string, number>();
      for (const result of results) counts.set(result.status, (counts.get(result.status) ?? 0) + 1);
      const summary = [...counts].map(([status, n]) => `${n} ${status}`).join(", ");
      process.stderr.write(`creditgate: bulk-onboard: ${results.length} rows: ${summary}\n`);
      const failed = counts.get("failed") ?? 0;
      if (failed > 0) throw new CliError(`${failed} of ${results.length} rows failed (reasons in the table)`);
    });
}
