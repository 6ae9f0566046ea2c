import type { Command } from "commander";
import { dollars, idFlag, parseFlags } from "../flags";
import { resolveUserId, withGateway } from "../gateway";
import { CliError, printRecord, type OutputOptions } from "../output";
import { tierOfTeams } from "../tiers";
import { z } from "zod";

export function registerGetUser(program: Command): void {
  program
    .command("get-user <id>")
    .description("show one gateway user (by id, or by email): budget, spend, limits, teams and keys")
    .addHelpText("after", "\nExample:\n  creditgate get-user developer@company.com")
    .action(async (rawId: string) => {
      const { "<id>": id } = parseFlags(z.object({ "<id>": idFlag }), { "<id>": rawId });
      const output = program.opts<OutputOptions>();
      const details = await withGateway(async (client) => {
        const userId = await resolveUserId(client, id);
        return userId === null ? null : client.userDetails(userId);
      });
      if (!details) throw new CliError(`no gateway user with id or email ${id}`);
      const { user, keys } = details;
      printRecord(
        {
          user_id: user.userId,
          email: user.email,
          alias: user.alias,
          role: user.role,
          tier: tierOfTeams(user.teamIds),
          budget: dollars(user.maxBudgetCents, output.json),
          spend: dollars(user.spendCents, output.json),
          budget_duration: user.budgetDuration,
          models: user.models,
          rpm_limit: user.rpmLimit,
          tpm_limit: user.tpmLimit,
          teams: user.teamIds,
          keys: output.json
            ? keys.map((key) => ({ token: key.token, key_name: key.keyName, key_alias: key.alias, spend: key.spendCents / 100 }))
            : keys.map((key) => key.alias ?? key.keyName ?? key.token ?? "?"),
        },
        output,
      );
    });
}
