import type { Command } from "commander";
import { z } from "zod";
import type { LiteLLMClient } from "../../lib/litellm/client";
import { emailFlag, parseFlags } from "../flags";
import { withGateway } from "../gateway";
import { onboardUser } from "../onboard";
import { CliError, exitCodes, printRecord, type OutputOptions } from "../output";
import { loadTiers, type Tier, type Tiers } from "../tiers";

export function tierNamed(tiers: Tiers, name: string): Tier | undefined {
  return tiers.bySlug.get(name.trim().toLowerCase());
}

export const knownTiers = (tiers: Tiers) => [...tiers.bySlug.keys()].join(", ");

/** Tiers whose team the gateway lacks: onboarding into them needs `create-teams` first. */
export async function missingTeams(client: LiteLLMClient, tiers: Iterable<Tier>): Promise<Set<string>> {
  const existing = new Set((await client.listTeams()).map((team) => team.teamId));
  return new Set([...tiers].filter((tier) => !existing.has(tier.teamId)).map((tier) => tier.slug));
}

export const missingTeamReason = (tier: Tier) => `the gateway has no team ${tier.teamId}: run \`creditgate create-teams\` first`;

const flagsSchema = z.object({
  email: emailFlag,
  tier: z.string().trim().min(1, "must not be empty"),
  alias: z.string().trim().min(1, "must not be empty").optional(),
  tiers: z.string().optional(),
  dryRun: z.boolean().optional(),
});

export function registerAddUser(program: Command): void {
  program
    .command("add-user")
    .description("onboard one person into a tier: user, team membership and key (the key is printed once)")
    .requiredOption("--email <email>", "their email address (also their gateway user id)")
    .requiredOption("--tier <tier>", "their tier, from the tiers file")
    .option("--alias <name>", "their display name")
    .option("--tiers <file>", "tiers file (default: cli/tiers.yaml)")
    .option("--dry-run", "say what would change without changing it")
    .addHelpText("after", "\nExample:\n  creditgate add-user --email developer@company.com --tier coding --alias 'Dev Eloper'")
    .action(async (options: unknown) => {
      const flags = parseFlags(flagsSchema, options);
      const output = program.opts<OutputOptions>();
      const tiers = await loadTiers(flags.tiers);
      const tier = tierNamed(tiers, flags.tier);
      if (!tier) throw new CliError(`--tier: unknown tier "${flags.tier}" (known: ${knownTiers(tiers)})`, exitCodes.usage);
      const result = await withGateway(async (client) => {
        if ((await missingTeams(client, [tier])).size > 0) throw new CliError(missingTeamReason(tier));
        return onboardUser(client, { email: flags.email, tier, alias: flags.alias }, { dryRun: flags.dryRun === true });
      });
      if (result.status === "failed") throw new CliError(`${flags.email}: ${result.detail}`);
      printRecord(
        { user_id: result.userId, email: result.email, tier: result.tier, status: result.status, changes: result.detail || null, key: result.key },
        output,
      );
      if (result.key && !output.json) process.stderr.write("creditgate: the key is shown only this once; give it to the user now\n");
    });
}
