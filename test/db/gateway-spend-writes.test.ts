import { randomBytes } from "node:crypto";
import { beforeAll, expect, it } from "vitest";
import { applySpendWrites, findKey, insertKey, migrateGateway } from "../../gateway/store";
import type { SpendWrite } from "../../gateway/spend";
import { describeWithDatabase } from "../support/db";

/**
 * Spend flushes from several gateway instances landing in any order around a budget reset: the
 * new period's spend is counted once, whichever instance writes first, and spend of a period
 * that has ended never lands on the next one.
 */

const oldPeriod = new Date("2026-01-01T00:00:10Z");
const newPeriod = new Date("2026-01-01T00:00:20Z");
const cost = 50_000; // nano-dollars

describeWithDatabase("gateway spend writes around a budget reset", (db) => {
  beforeAll(async () => {
    await migrateGateway(db());
  });

  async function keyInOldPeriod(spend: string) {
    const token = randomBytes(32).toString("hex");
    await insertKey(db(), {
      token,
      key_name: "sk-...test",
      max_budget: 0.0001,
      spend,
      budget_duration: "10s",
      budget_reset_at: oldPeriod,
    });
    return token;
  }
  const write = (token: string, fields: Partial<SpendWrite>): SpendWrite => ({
    kind: "key",
    id: token,
    absolute: false,
    nanos: cost,
    budgetResetAt: newPeriod,
    ...fields,
  });
  const stored = async (token: string) => {
    const row = await findKey(db(), token);
    return { spend: Number(row?.spend), resetAt: row?.budget_reset_at?.toISOString() };
  };

  it("spend of the new period written before the instance that started it writes its part is kept", async () => {
    const token = await keyInOldPeriod("0.0001");
    // Instance A follows the period B started and flushes first; then B flushes its part.
    await applySpendWrites(db(), [write(token, {})]);
    await applySpendWrites(db(), [write(token, {})]);
    expect(await stored(token)).toEqual({ spend: 0.0001, resetAt: newPeriod.toISOString() });
  });

  it("the instance that started the period writing first is followed by the others' increments", async () => {
    const token = await keyInOldPeriod("0.0001");
    await applySpendWrites(db(), [write(token, { nanos: 0 })]);
    expect(await stored(token)).toEqual({ spend: 0, resetAt: newPeriod.toISOString() });
    await applySpendWrites(db(), [write(token, {})]);
    expect(await stored(token)).toEqual({ spend: 0.00005, resetAt: newPeriod.toISOString() });
  });

  it("spend of a period that has ended, flushed late, does not land on the new one", async () => {
    const token = await keyInOldPeriod("0.0001");
    await applySpendWrites(db(), [write(token, {})]);
    await applySpendWrites(db(), [write(token, { budgetResetAt: oldPeriod })]);
    expect(await stored(token)).toEqual({ spend: 0.00005, resetAt: newPeriod.toISOString() });
  });

  it("an admin's absolute spend replaces the stored one whatever the period", async () => {
    const token = await keyInOldPeriod("0.0001");
    await applySpendWrites(db(), [write(token, { absolute: true, nanos: 7, budgetResetAt: oldPeriod })]);
    expect(await stored(token)).toEqual({ spend: 0.000000007, resetAt: oldPeriod.toISOString() });
  });

  it("accounts without a budget period add up as before", async () => {
    const token = randomBytes(32).toString("hex");
    await insertKey(db(), { token, key_name: "sk-...test", spend: "0.5" });
    await applySpendWrites(db(), [write(token, { budgetResetAt: null })]);
    await applySpendWrites(db(), [write(token, { budgetResetAt: null })]);
    expect(await stored(token)).toEqual({ spend: 0.5001, resetAt: undefined });
  });
});
