import type { Command } from "commander";
import { z } from "zod";
import { dollars, dollarsFlag, durationFlag, emailFlag, modelsFlag, parseFlags } from "../flags";
import { assertModelsOffered, withGateway } from "../gateway";
import { printRecord, type OutputOptions } from "../output";

const flagsSchema = z.object({
  email: emailFlag,
  budget: dollarsFlag.optional(),
  duration: durationFlag.optional(),
  models: modelsFlag.optional(),
});

export function registerCreateUser(program: Command): void {
  program
    .command("create-user")
    .description("create a gateway user with a budget and a key of their own (the key is printed once)")
    .requiredOption("--email <email>", "the user's email address")
    .option("--budget <dollars>", "maximum spend in dollars per budget period (none: no limit)")
    .option("--duration <period>", "budget period: daily, weekly, monthly, or like 30d")
    .option("--models <json>", `models they may use, as a JSON array like '["model-cheap"]' (none: every model)`)
    .addHelpText(
      "after",
      `\nExamples:\n  creditgate create-user --email user@example.com --budget 50 --duration monthly\n  creditgate create-user --email dev@example.com --budget 10 --models '["claude-haiku-4-5"]'`,
    )
    .action(async (options: unknown) => {
      const flags = parseFlags(flagsSchema, options);
      const output = program.opts<OutputOptions>();
      const created = await withGateway(async (client) => {
        await assertModelsOffered(client, flags.models);
        return client.newUser({
          email: flags.email,
          maxBudgetCents: flags.budget,
          budgetDuration: flags.duration,
          models: flags.models,
          autoCreateKey: true,
        });
      });
      printRecord(
        {
          user_id: created.userId,
          email: flags.email,
          budget: dollars(flags.budget ?? null, output.json),
          budget_duration: flags.duration ?? null,
          models: flags.models ?? [],
          key: created.key,
        },
        output,
      );
      if (created.key && !output.json) process.stderr.write("creditgate: the key is shown only this once; give it to the user now\n");
    });
}
