import type { Command } from "commander";
import type { GatewayKey } from "../../lib/litellm/client";
import { dollars } from "../flags";
import { withGateway } from "../gateway";
import { printRows, type OutputOptions } from "../output";

export function registerListKeys(program: Command): void {
  program
    .command("list-keys")
    .description("list API keys (their tokens and limits, never their secrets)")
    .addHelpText("after", "\nExample:\n  creditgate list-keys\n  creditgate delete-key <token from the list>")
    .action(async () => {
      const output = program.opts<OutputOptions>();
      const keys = await withGateway(async (client) => {
        const all: GatewayKey[] = [];
        for (let page = 1; ; page++) {
          const result = await client.listKeys({ page, size: 100 });
          all.push(...result.keys);
          if (page >= result.totalPages || result.keys.length === 0) return all;
        }
      });
      printRows(
        keys.map((key) => ({
          key_name: key.keyName,
          key_alias: key.alias,
          user_id: key.userId,
          team_id: key.teamId,
          budget: dollars(key.maxBudgetCents, output.json),
          spend: dollars(key.spendCents, output.json),
          budget_duration: key.budgetDuration,
          rpm: key.rpmLimit,
          tpm: key.tpmLimit,
          models: key.models,
          token: key.token,
        })),
        output,
      );
    });
}
