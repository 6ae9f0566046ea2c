import { describe, expect, it } from "vitest";
import { appEnvSchema, EnvError, parseEnv } from "./env";

const valid = {
  DATABASE_URL: "postgres://postgres@127.0.0.1:5432/app",
  AUTH_JWT_SECRET: "a".repeat(32),
  KEY_ENCRYPTION_SECRET: "b".repeat(32),
};

function problems(source: Record<string, string>): string[] {
  try {
    parseEnv(appEnvSchema, source);
    return [];
  } catch (err) {
    if (err instanceof EnvError) return err.problems;
    throw err;
  }
}

describe("environment", () => {
  it("fills the documented defaults", () => {
    const env = parseEnv(appEnvSchema, valid);
    expect(env).toMatchObject({
      AUTH_MODE: "local",
      PORT: 3000,
      LITELLM_BASE_URL: "http://127.0.0.1:4001",
      GATEWAY_PUBLIC_URL: "http://localhost:4000",
      PAYSTACK_BASE_URL: "https://api.paystack.co",
      ADMIN_EMAILS: [],
    });
  });

  it("treats an empty value as unset", () => {
    expect(parseEnv(appEnvSchema, { ...valid, PORT: "" }).PORT).toBe(3000);
  });

  it("normalises ADMIN_EMAILS to a lower-case list", () => {
    const env = parseEnv(appEnvSchema, { ...valid, ADMIN_EMAILS: " Ops@Example.com, b@example.com ,," });
    expect(env.ADMIN_EMAILS).toEqual(["ops@example.com", "b@example.com"]);
  });

  it.each([
    [{ DATABASE_URL: "mysql://x" }, /^DATABASE_URL: must be a postgres:\/\/ URL/],
    [{ DATABASE_URL: undefined }, /^DATABASE_URL: /],
    [{ LITELLM_MASTER_KEY: "master" }, /^LITELLM_MASTER_KEY: must start with sk-/],
    [{ AUTH_JWT_SECRET: "short" }, /^AUTH_JWT_SECRET: AUTH_JWT_SECRET must be at least 32 characters/],
    [{ AUTH_JWT_SECRET: undefined }, /^AUTH_JWT_SECRET: is required when AUTH_MODE=local/],
    [{ KEY_ENCRYPTION_SECRET: undefined }, /^KEY_ENCRYPTION_SECRET: /],
    [{ AUTH_MODE: "ldap" }, /^AUTH_MODE: /],
    [{ AUTH_MODE: "supabase" }, /^NEXT_PUBLIC_SUPABASE_URL: is required when AUTH_MODE=supabase/],
    [{ PORT: "seventy" }, /^PORT: /],
    [{ PORT: "70000" }, /^PORT: /],
    [{ ADMIN_EMAILS: "ops@example.com,not-an-email" }, /^ADMIN_EMAILS\.1: must be a comma-separated list/],
    [{ PAYSTACK_SECRET_KEY: "pk_test_abc" }, /^PAYSTACK_SECRET_KEY: must look like sk_test_/],
    [{ GATEWAY_PUBLIC_URL: "localhost:4000" }, /^GATEWAY_PUBLIC_URL: must be an http\(s\) URL/],
  ])("a bad value stops start-up with a message naming the variable: %o", (override, message) => {
    const source = Object.fromEntries(
      Object.entries({ ...valid, ...override }).filter((entry): entry is [string, string] => entry[1] !== undefined),
    );
    expect(problems(source).join("\n")).toMatch(message);
  });
});
