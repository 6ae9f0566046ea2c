import { describe, expect, it } from "vitest";
import { creditUse } from "./balance";

describe("the balance card's figures", () => {
  it("used and available add up to the balance, also after a refund or a negative correction", () => {
    // +500 sign-up, +250, −10, +1000: the ledger's sum is 1,740; nothing spent yet.
    expect(creditUse(1_740, 0)).toMatchObject({ total: 1_740, used: 0, available: 1_740, share: 0 });
    const use = creditUse(1_740, 435);
    expect(use.used + use.available).toBe(use.total);
    expect(use.share).toBeCloseTo(0.25);
  });

  it("spend past the balance shows nothing available and a full bar, never a negative figure", () => {
    expect(creditUse(100, 130)).toMatchObject({ used: 130, available: 0, share: 1 });
    expect(creditUse(0, 0)).toMatchObject({ available: 0, share: 0, low: true });
  });

  it("is low under 100 credits or under a tenth of the balance", () => {
    expect(creditUse(5_000, 4_600).low).toBe(true);
    expect(creditUse(5_000, 4_000).low).toBe(false);
    expect(creditUse(150, 60).low).toBe(true);
  });
});
