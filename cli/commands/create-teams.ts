import type { Command } from "commander";
import type { GatewayTeam, TeamFields } from "../../lib/litellm/client";
import { dollars } from "../flags";
import { withGateway } from "../gateway";
import { printRows, type OutputOptions } from "../output";
import { loadTiers, type Tier } from "../tiers";

/**
 * A tier's team carries its name and model list. Budgets and rate limits are per person, so
 * they live on each member's user and key (see onboard.ts), not on the team, whose budget
 * would be shared by everyone in the tier.
 */
function teamFieldsOf(tier: Tier, version: number): TeamFields {
  return {
    alias: tier.name,
    models: tier.models,
    metadata: { tier: tier.slug, tiers_version: version, description: tier.description },
  };
}

function differences(team: GatewayTeam, wanted: TeamFields): string[] {
  const changes: string[] = [];
  if (team.alias !== wanted.alias) changes.push("name");
  const models = wanted.models ?? [];
  if (team.models.length !== models.length || !models.every((model) => team.models.includes(model))) changes.push("models");
  const metadata = wanted.metadata ?? {};
  if (Object.entries(metadata).some(([name, value]) => team.metadata[name] !== value)) changes.push("metadata");
  return changes;
}

export function registerCreateTeams(program: Command): void {
  program
    .command("create-teams")
    .description("create or update one gateway team per tier (safe to run again)")
    .option("--tiers <file>", "tiers file (default: cli/tiers.yaml)")
    .addHelpText("after", "\nExample:\n  creditgate create-teams\n  creditgate create-teams --tiers ./our-tiers.yaml")
    .action(async (options: { tiers?: string }) => {
      const output = program.opts<OutputOptions>();
      const tiers = await loadTiers(options.tiers);
      const rows = await withGateway(async (client) => {
        const offered = new Set(await client.models());
        const results = [];
        for (const tier of tiers.bySlug.values()) {
          const missing = tier.models.filter((model) => !offered.has(model));
          if (missing.length > 0) {
            process.stderr.write(`creditgate: warning: tier ${tier.slug} names models the gateway does not offer: ${missing.join(", ")}\n`);
          }
          const wanted = teamFieldsOf(tier, tiers.version);
          const existing = await client.teamInfo(tier.teamId);
          let status = "unchanged";
          if (!existing) {
            await client.newTeam(tier.teamId, wanted);
            status = "created";
          } else if (differences(existing, wanted).length > 0) {
            await client.updateTeam(tier.teamId, wanted);
            status = `updated (${differences(existing, wanted).join(", ")})`;
          }
          results.push({
            tier: tier.slug,
            team_id: tier.teamId,
            status,
            budget: dollars(tier.maxBudgetCents, output.json),
            budget_duration: tier.budgetDuration,
            rpm: tier.rpmLimit,
            models: tier.models,
          });
        }
        return results;
      });
      printRows(rows, output);
    });
}
