import { describe, expect, it } from "vitest";
import { gatewayAlias } from "./push";

describe("gateway alias", () => {
  const id = "3f2a9c1d-0000-4000-8000-000000000000";
  it.each([
    ["Laptop", "laptop-3f2a9c1d"],
    ["  my key (prod) ", "my-key-prod-3f2a9c1d"],
    ["ci/runner.v2@team", "ci/runner.v2@team-3f2a9c1d"],
    ["☃☃☃", "key-3f2a9c1d"],
    [null, "key-3f2a9c1d"],
  ])("%j becomes %j: unique per key and within LiteLLM's alias characters", (alias, expected) => {
    const result = gatewayAlias(alias, id);
    expect(result).toBe(expected);
    expect(result).toMatch(/^[a-zA-Z0-9][a-zA-Z0-9_\-/.@]{0,253}[a-zA-Z0-9]$/);
  });
});
