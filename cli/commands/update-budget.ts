import type { Command } from "commander";
import { z } from "zod";
import { dollars, dollarsFlag, idFlag, parseFlags } from "../flags";
import { resolveUserId, withGateway } from "../gateway";
import { CliError, printRecord, type OutputOptions } from "../output";

const flagsSchema = z.object({ userId: idFlag, budget: dollarsFlag });

export function registerUpdateBudget(program: Command): void {
  program
    .command("update-budget")
    .description("set a gateway user's maximum spend (dollars per budget period)")
    .requiredOption("--user-id <id>", "the gateway user's id (or their email)")
    .requiredOption("--budget <dollars>", "the new maximum spend in dollars")
    .addHelpText("after", "\nExample:\n  creditgate update-budget --user-id user_xxx --budget 100")
    .action(async (options: unknown) => {
      const flags = parseFlags(flagsSchema, options);
      const output = program.opts<OutputOptions>();
      const details = await withGateway(async (client) => {
        const userId = await resolveUserId(client, flags.userId);
        if (userId === null || !(await client.updateUser(userId, { maxBudgetCents: flags.budget }))) return null;
        return client.userDetails(userId);
      });
      if (!details) throw new CliError(`no gateway user with id or email ${flags.userId}`);
      printRecord(
        {
          user_id: details.user.userId,
          budget: dollars(details.user.maxBudgetCents, output.json),
          spend: dollars(details.user.spendCents, output.json),
          budget_duration: details.user.budgetDuration,
        },
        output,
      );
    });
}
