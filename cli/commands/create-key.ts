import type { Command } from "commander";
import { z } from "zod";
import { dollars, dollarsFlag, durationFlag, idFlag, limitFlag, modelsFlag, parseFlags } from "../flags";
import { assertModelsOffered, withGateway } from "../gateway";
import { printRecord, type OutputOptions } from "../output";

const flagsSchema = z.object({
  alias: z.string().trim().min(1, "must not be empty").optional(),
  userId: idFlag.optional(),
  budget: dollarsFlag.optional(),
  duration: durationFlag.optional(),
  models: modelsFlag.optional(),
  rpm: limitFlag.optional(),
  tpm: limitFlag.optional(),
});

export function registerCreateKey(program: Command): void {
  program
    .command("create-key")
    .description("create an API key (printed once), standalone or for a user")
    .option("--alias <name>", "a name for the key, unique on the gateway")
    .option("--user-id <id>", "the gateway user the key belongs to (its spend also counts against theirs)")
    .option("--budget <dollars>", "maximum spend in dollars per budget period (none: no limit)")
    .option("--duration <period>", "budget period: daily, weekly, monthly, or like 30d")
    .option("--models <json>", `models it may use, as a JSON array like '["model-cheap"]' (none: every model)`)
    .option("--rpm <n>", "requests per minute")
    .option("--tpm <n>", "tokens per minute")
    .addHelpText(
      "after",
      `\nExamples:\n  creditgate create-key --alias test-key --budget 5 --duration monthly\n  creditgate create-key --user-id user_xxx --alias laptop-key\n  creditgate create-key --alias haiku-only --models '["claude-haiku-4-5"]' --budget 10 --rpm 60`,
    )
    .action(async (options: unknown) => {
      const flags = parseFlags(flagsSchema, options);
      const output = program.opts<OutputOptions>();
      const created = await withGateway(async (client) => {
        await assertModelsOffered(client, flags.models);
        return client.createKey({
          alias: flags.alias,
          userId: flags.userId,
          maxBudgetCents: flags.budget,
          budgetDuration: flags.duration,
          models: flags.models,
          rpmLimit: flags.rpm,
          tpmLimit: flags.tpm,
        });
      });
      printRecord(
        {
          key_alias: flags.alias ?? null,
          user_id: flags.userId ?? null,
          budget: dollars(flags.budget ?? null, output.json),
          budget_duration: flags.duration ?? null,
          models: flags.models ?? [],
          rpm_limit: flags.rpm ?? null,
          tpm_limit: flags.tpm ?? null,
          token: created.token,
          key: created.key,
        },
        output,
      );
      if (!output.json) process.stderr.write("creditgate: the key is shown only this once; store it now\n");
    });
}
