import type { Command } from "commander";
import type { GatewayUser, LiteLLMClient } from "../../lib/litellm/client";
import { dollars } from "../flags";
import { withGateway } from "../gateway";
import { printRows, type OutputOptions } from "../output";
import { tierOfTeams } from "../tiers";

export async function allUsers(client: LiteLLMClient): Promise<GatewayUser[]> {
  const users: GatewayUser[] = [];
  for (let page = 1; ; page++) {
    const result = await client.listUsers({ page, pageSize: 100 });
    users.push(...result.users);
    if (page >= result.totalPages || result.users.length === 0) return users;
  }
}

export function registerListUsers(program: Command): void {
  program
    .command("list-users")
    .description("list gateway users with their tier, budget and spend")
    .addHelpText("after", "\nExample:\n  creditgate list-users --json | jq '.[] | select(.tier == \"coding\")'")
    .action(async () => {
      const output = program.opts<OutputOptions>();
      const users = await withGateway(allUsers);
      printRows(
        users.map((user) => ({
          user_id: user.userId,
          email: user.email,
          alias: user.alias,
          tier: tierOfTeams(user.teamIds) ?? (typeof user.metadata.tier === "string" ? user.metadata.tier : null),
          budget: dollars(user.maxBudgetCents, output.json),
          spend: dollars(user.spendCents, output.json),
          budget_duration: user.budgetDuration,
          keys: user.keyCount,
          models: user.models,
        })),
        output,
      );
    });
}
