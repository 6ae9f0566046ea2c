import { describe, expect, it } from "vitest";
import { SpendAccount, costNanos, decimalToNanos, nanosToDecimal, worstCaseNanos } from "./spend";

describe("money", () => {
  it("a request's cost is tokens times the per-token prices, in nano-dollars", () => {
    expect(costNanos({ promptTokens: 10, completionTokens: 20 }, { inputCostPerToken: 1e-6, outputCostPerToken: 2e-6 })).toBe(
      50_000,
    );
  });

  const claude = { inputCostPerToken: 3e-6, outputCostPerToken: 1.5e-5, cacheReadCostPerToken: 3e-7, cacheWriteCostPerToken: 3.75e-6 };

  it("prompt-cache reads and writes are priced at the cache prices, the rest of the prompt at the input price", () => {
    // 100 uncached, 1,000 written, 10,000 read, 50 out: 300 + 3,750 + 3,000 + 750 micro-dollars.
    const usage = { promptTokens: 11_100, completionTokens: 50, cacheReadTokens: 10_000, cacheWriteTokens: 1_000 };
    expect(costNanos(usage, claude)).toBe(7_800_000);
  });

  it("without cache prices, cached tokens cost what any input token costs", () => {
    const usage = { promptTokens: 11_100, completionTokens: 50, cacheReadTokens: 10_000, cacheWriteTokens: 1_000 };
    expect(costNanos(usage, { inputCostPerToken: 3e-6, outputCostPerToken: 1.5e-5 })).toBe(34_050_000);
  });

  it("cache counts larger than the prompt are capped by it, so a bad usage cannot make a request cheaper than free", () => {
    expect(costNanos({ promptTokens: 10, completionTokens: 0, cacheReadTokens: 50, cacheWriteTokens: 50 }, claude)).toBe(3_000);
  });

  it("a budget reserves every prompt token at the dearer of the input and cache-write prices", () => {
    expect(worstCaseNanos(1_000, 100, claude)).toBe(1_000 * 3_750 + 100 * 15_000);
    expect(worstCaseNanos(1_000, 100, { ...claude, cacheWriteCostPerToken: 1e-6 })).toBe(1_000 * 3_000 + 100 * 15_000);
  });

  it.each([
    [0, "0.000000000"],
    [1, "0.000000001"],
    [1_500_000_000, "1.500000000"],
    [-250, "-0.000000250"],
  ])("%d nano-dollars are written as the exact decimal %s", (nanos, text) => {
    expect(nanosToDecimal(nanos)).toBe(text);
    expect(decimalToNanos(text)).toBe(nanos);
  });
});

describe("a spend account", () => {
  it("a flush that failed is retried with the spend recorded after it", () => {
    const account = new SpendAccount("key", "k", 0);
    account.record(100);
    const write = account.takeFlush();
    account.record(5);
    account.restoreFlush(write);
    expect(account.takeFlush().nanos).toBe(105);
  });

  it("a reset writes the new period's spend as an increment tagged with the new period", () => {
    const account = new SpendAccount("key", "k", 500);
    account.setBudget(1, "1d", new Date("2026-01-01T00:00:00Z"));
    account.record(100);
    expect(account.resetIfDue(new Date("2026-01-01T00:00:01Z"))).toBe(true);
    expect(account.spentNanos).toBe(0);
    account.record(7);
    const write = account.takeFlush();
    expect(write).toMatchObject({ absolute: false, nanos: 7 });
    expect(write.budgetResetAt?.toISOString()).toBe("2026-01-02T00:00:00.000Z");
  });

  it("a new period is written even when nothing was spent in it yet", () => {
    const account = new SpendAccount("key", "k", 500);
    account.startPeriod(new Date("2026-01-02T00:00:00Z"));
    expect(account.dirty).toBe(true);
    expect(account.takeFlush()).toMatchObject({ absolute: false, nanos: 0 });
    expect(account.dirty).toBe(false);
  });

  it("a write counts only this process's spend, whatever total a shared store reports", () => {
    const account = new SpendAccount("key", "k", 500);
    account.startPeriod(new Date("2026-01-02T00:00:00Z"));
    account.record(7);
    // Redis reports the shared total, other instances' spend included: not ours to write.
    account.spentNanos = 1_000;
    expect(account.takeFlush()).toMatchObject({ absolute: false, nanos: 7 });
  });

  it("a failed write of a period that has ended since is not retried into the new one", () => {
    const account = new SpendAccount("key", "k", 0);
    account.setBudget(1, "1d", new Date("2026-01-01T00:00:00Z"));
    account.record(40);
    const failed = account.takeFlush();
    account.adoptPeriod(new Date("2026-01-02T00:00:00Z"));
    account.record(2);
    account.restoreFlush(failed);
    expect(account.takeFlush()).toMatchObject({ absolute: false, nanos: 2 });
  });

  it("a failed absolute write is retried with the spend recorded after it, unless a newer one replaced it", () => {
    const account = new SpendAccount("key", "k", 0);
    account.setSpend(50);
    const failed = account.takeFlush();
    account.record(3);
    account.restoreFlush(failed);
    expect(account.takeFlush()).toMatchObject({ absolute: true, nanos: 53 });
    account.setSpend(10);
    const older = account.takeFlush();
    account.setSpend(20);
    account.restoreFlush(older);
    expect(account.takeFlush()).toMatchObject({ absolute: true, nanos: 20 });
  });

  it("a period another instance started drops this instance's unflushed spend of the old one", () => {
    const account = new SpendAccount("key", "k", 0);
    account.record(40);
    account.adoptPeriod(new Date("2026-01-02T00:00:00Z"));
    account.record(2);
    expect(account.takeFlush()).toMatchObject({ absolute: false, nanos: 2 });
  });
});
