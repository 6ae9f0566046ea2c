import { describe, expect, it } from "vitest";
import type { SpendLogRow } from "../litellm/client";
import { rollUp } from "./import";

const row = (overrides: Partial<SpendLogRow> & Record<string, unknown>): SpendLogRow => ({
  request_id: Math.random().toString(36),
  api_key: "token-a",
  model: "mock/gpt-4o-mini",
  model_group: "gpt-4o-mini",
  spend: 0.000123,
  prompt_tokens: 10,
  completion_tokens: 5,
  startTime: "2026-11-23T10:00:00.000Z",
  ...overrides,
});

describe("rollUp", () => {
  it("sums requests, tokens and spend per UTC day, key and requested model", () => {
    const rollups = rollUp([
      row({}),
      row({ spend: 0.000877, prompt_tokens: 1, completion_tokens: 2 }),
      row({ api_key: "token-b" }),
      row({ startTime: "2026-11-22T23:59:59.000Z" }),
    ]);
    expect(rollups).toContainEqual({ day: "2026-11-23", keyToken: "token-a", model: "gpt-4o-mini", requests: 2, promptTokens: 11, completionTokens: 7, spendMicros: 1000 });
    expect(rollups).toContainEqual(expect.objectContaining({ day: "2026-11-23", keyToken: "token-b", requests: 1 }));
    expect(rollups).toContainEqual(expect.objectContaining({ day: "2026-11-22", keyToken: "token-a", requests: 1 }));
    expect(rollups).toHaveLength(3);
  });

  it("falls back to the deployment's model, and counts rows with missing figures as zero", () => {
    const [only] = rollUp([row({ model_group: undefined, spend: null, prompt_tokens: null, completion_tokens: undefined })]);
    expect(only).toMatchObject({ model: "mock/gpt-4o-mini", requests: 1, promptTokens: 0, completionTokens: 0, spendMicros: 0 });
  });
});
