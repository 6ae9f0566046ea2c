import { describe, expect, it } from "vitest";
import { appEnvSchema, parseEnv } from "../env";
import { initializePaymentSchema, priceInSubunits, pricingFromEnv } from "./pricing";
import { simulatorAllowed } from "./services";

const base = { DATABASE_URL: "postgres://localhost/db", AUTH_JWT_SECRET: "a".repeat(32), KEY_ENCRYPTION_SECRET: "b".repeat(32) };

describe("pricing from configuration", () => {
  it("defaults to USD at one cent per credit with the standard packs", () => {
    const pricing = pricingFromEnv(parseEnv(appEnvSchema, base));
    expect(pricing).toEqual({ currency: "USD", pricePerCreditSubunits: 1, packs: [1000, 2500, 5000, 10000], minCredits: 500, maxCredits: 100000 });
    expect(priceInSubunits(pricing, 1000)).toBe(1000);
  });

  it("reads currency, price, packs and bounds, and validates a purchase against them", () => {
    const env = parseEnv(appEnvSchema, { ...base, PAYMENTS_CURRENCY: "NGN", PAYMENTS_PRICE_PER_CREDIT: "150", PAYMENTS_PACKS: "200, 800", PAYMENTS_MIN_CREDITS: "200", PAYMENTS_MAX_CREDITS: "800" });
    const pricing = pricingFromEnv(env);
    expect(pricing).toMatchObject({ currency: "NGN", packs: [200, 800] });
    expect(priceInSubunits(pricing, 800)).toBe(120_000);
    expect(initializePaymentSchema(pricing).safeParse({ credits: 199 }).success).toBe(false);
    expect(initializePaymentSchema(pricing).safeParse({ credits: 801 }).success).toBe(false);
    expect(initializePaymentSchema(pricing).safeParse({ credits: 500 }).success).toBe(true);
  });

  it.each([
    [{ PAYMENTS_CURRENCY: "naira" }, /PAYMENTS_CURRENCY: must be a 3-letter currency code/],
    [{ PAYMENTS_PRICE_PER_CREDIT: "0" }, /PAYMENTS_PRICE_PER_CREDIT/],
    [{ PAYMENTS_PACKS: "100,lots" }, /PAYMENTS_PACKS/],
    [{ PAYMENTS_MIN_CREDITS: "900", PAYMENTS_MAX_CREDITS: "800" }, /PAYMENTS_MIN_CREDITS: must not exceed PAYMENTS_MAX_CREDITS/],
  ])("refuses %j naming the variable", (extra, message) => {
    expect(() => parseEnv(appEnvSchema, { ...base, ...extra })).toThrow(message);
  });
});

describe("the test simulator", () => {
  const env = (extra: Record<string, string> = {}) => parseEnv(appEnvSchema, { ...base, ...extra });
  it("stands in for Paystack only without a secret key, and never in production unless explicitly on", () => {
    expect(simulatorAllowed(env(), "development")).toBe(true);
    expect(simulatorAllowed(env(), "production")).toBe(false);
    expect(simulatorAllowed(env({ PAYSTACK_SIMULATOR: "on" }), "production")).toBe(true);
    expect(simulatorAllowed(env({ PAYSTACK_SIMULATOR: "off" }), "development")).toBe(false);
    expect(simulatorAllowed(env({ PAYSTACK_SECRET_KEY: "sk_test_abc" }), "development")).toBe(false);
  });
});
