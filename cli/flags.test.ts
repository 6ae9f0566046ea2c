import { describe, expect, it } from "vitest";
import { dollarsFlag, durationFlag, modelsFlag } from "./flags";
import { mapConcurrently } from "./onboard";
import { loadTiers } from "./tiers";

describe("command-line values", () => {
  it.each([
    ["50", 5000],
    ["12.5", 1250],
    ["0.01", 1],
    ["0", 0],
  ])("--budget %s dollars is %i cents", (value, cents) => {
    expect(dollarsFlag.parse(value)).toBe(cents);
  });

  it.each(["-5", "1.234", "ten", "", "1e3"])("--budget %j is refused", (value) => {
    expect(dollarsFlag.safeParse(value).success).toBe(false);
  });

  it("the seeds' budget periods become durations real LiteLLM accepts", () => {
    expect(
      ["daily", "weekly", "Monthly", "30d", "12h", "1mo"].map((value) => durationFlag.parse(value)),
    ).toEqual(["1d", "7d", "1mo", "30d", "12h", "1mo"]);
    for (const bad of ["fortnightly", "2mo", "0d", "30"])
      expect(durationFlag.safeParse(bad).success).toBe(false);
  });

  it("--models takes a JSON array of names and nothing else", () => {
    expect(modelsFlag.parse('["claude-haiku-4-5", "claude-sonnet-4-5"]')).toEqual([
      "claude-haiku-4-5",
      "claude-sonnet-4-5",
    ]);
    for (const bad of ["claude-haiku", '{"a":1}', "[1]", '[""]'])
      expect(modelsFlag.safeParse(bad).success).toBe(false);
  });
});

describe("the default tiers file", () => {
  it("holds the seed's three tiers with monthly budgets in cents", async () => {
    const tiers = await loadTiers(undefined);
    expect(tiers.version).toBe(1);
    expect(
      [...tiers.bySlug.values()].map(
        ({ slug, maxBudgetCents, rpmLimit, models, budgetDuration, teamId }) => ({
          slug,
          maxBudgetCents,
          rpmLimit,
          models,
          budgetDuration,
          teamId,
        }),
      ),
    ).toEqual([
      {
        slug: "drafting",
        maxBudgetCents: 200,
        rpmLimit: 10,
        models: ["model-cheap"],
        budgetDuration: "1mo",
        teamId: "tier-drafting",
      },
      {
        slug: "coding",
        maxBudgetCents: 2000,
        rpmLimit: 50,
        models: ["model-balanced"],
        budgetDuration: "1mo",
        teamId: "tier-coding",
      },
      {
        slug: "architect",
        maxBudgetCents: 50_000,
        rpmLimit: 100,
        models: ["model-reasoning", "model-reasoning-opus"],
        budgetDuration: "1mo",
        teamId: "tier-architect",
      },
    ]);
  });
});

describe("bulk concurrency", () => {
  it("keeps results in input order and never runs more than the limit at once", async () => {
    let running = 0;
    let most = 0;
    const items = Array.from({ length: 50 }, (_, i) => i);
    const results = await mapConcurrently(items, 8, async (item) => {
      running++;
      most = Math.max(most, running);
      // Later items finish first, so order comes from the index, not from completion.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (item % 2 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      running--;
      return item * 2;
    });
    expect(results).toEqual(items.map((item) => item * 2));
    expect(most).toBe(8);
  });
});
