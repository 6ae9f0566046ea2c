import { readFile } from "node:fs/promises";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { durationFlag } from "./flags";
import { CliError, exitCodes } from "./output";

/** The tiers file: versioned, validated with zod, dollars converted to cents once here. */

export const defaultTiersPath = path.join(import.meta.dirname, "tiers.yaml");

const tierSchema = z.object({
  name: z.string().trim().min(1),
  description: z.string().trim().optional(),
  max_budget: z
    .number()
    .min(0)
    .refine((value) => Number.isInteger(Math.round(value * 100)) && Math.abs(value * 100 - Math.round(value * 100)) < 1e-6, "must have at most two decimals")
    .transform((value) => Math.round(value * 100)),
  budget_duration: durationFlag.default("1mo"),
  rpm_limit: z.number().int().positive().nullable().default(null),
  tpm_limit: z.number().int().positive().nullable().default(null),
  models: z.array(z.string().trim().min(1)).min(1),
});

const tiersFileSchema = z.object({
  version: z.literal(1, { message: "must be 1 (the only tiers format this CLI knows)" }),
  tiers: z
    .record(z.string().regex(/^[a-z][a-z0-9-]*$/, "tier names are lower-case letters, digits and dashes"), tierSchema)
    .refine((tiers) => Object.keys(tiers).length > 0, "must define at least one tier"),
});

export interface Tier {
  slug: string;
  name: string;
  description: string | null;
  maxBudgetCents: number;
  budgetDuration: string;
  rpmLimit: number | null;
  tpmLimit: number | null;
  models: string[];
  /** The gateway team that stands for this tier. */
  teamId: string;
}

export interface Tiers {
  version: 1;
  source: string;
  bySlug: Map<string, Tier>;
}

/** Teams that stand for tiers are named so; a user belongs to at most one of them. */
export const tierTeamPrefix = "tier-";

export async function loadTiers(file: string | undefined): Promise<Tiers> {
  const source = file ?? defaultTiersPath;
  let text: string;
  try {
    text = await readFile(source, "utf8");
  } catch (err) {
    throw new CliError(`--tiers: cannot read ${source} (${(err as NodeJS.ErrnoException).code ?? String(err)})`, exitCodes.usage);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new CliError(`${source}: not valid YAML (${(err as Error).message.split("\n")[0] ?? ""})`, exitCodes.usage);
  }
  const parsed = tiersFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CliError(`${source}: ${issue?.path.join(".") || "file"}: ${issue?.message ?? "is invalid"}`, exitCodes.usage);
  }
  const bySlug = new Map<string, Tier>();
  for (const [slug, tier] of Object.entries(parsed.data.tiers)) {
    bySlug.set(slug, {
      slug,
      name: tier.name,
      description: tier.description ?? null,
      maxBudgetCents: tier.max_budget,
      budgetDuration: tier.budget_duration,
      rpmLimit: tier.rpm_limit,
      tpmLimit: tier.tpm_limit,
      models: tier.models,
      teamId: `${tierTeamPrefix}${slug}`,
    });
  }
  return { version: parsed.data.version, source, bySlug };
}

/** The tier a gateway user is in, from their tier team. */
export function tierOfTeams(teamIds: readonly string[]): string | null {
  const team = teamIds.find((id) => id.startsWith(tierTeamPrefix));
  return team ? team.slice(tierTeamPrefix.length) : null;
}
