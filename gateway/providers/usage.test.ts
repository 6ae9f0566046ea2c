import { describe, expect, it } from "vitest";
import { usageOf } from "./anthropic/wire";
import { usageFrom } from "./types";

describe("usage from an OpenAI-format answer", () => {
  it("OpenAI's cached_tokens are cache reads", () => {
    expect(usageFrom({ prompt_tokens: 2_000, completion_tokens: 10, prompt_tokens_details: { cached_tokens: 1_536 } })).toEqual({
      promptTokens: 2_000,
      completionTokens: 10,
      cacheReadTokens: 1_536,
    });
  });

  it("LiteLLM's cache_read_input_tokens and cache_creation_input_tokens (an Anthropic model behind it) are reads and writes", () => {
    expect(
      usageFrom({
        prompt_tokens: 11_100,
        completion_tokens: 50,
        prompt_tokens_details: { cached_tokens: 10_000 },
        cache_read_input_tokens: 10_000,
        cache_creation_input_tokens: 1_000,
      }),
    ).toEqual({ promptTokens: 11_100, completionTokens: 50, cacheReadTokens: 10_000, cacheWriteTokens: 1_000 });
  });

  it("an answer without cache counts has none", () => {
    expect(usageFrom({ prompt_tokens: 12, completion_tokens: 8, total_tokens: 20, prompt_tokens_details: null })).toEqual({
      promptTokens: 12,
      completionTokens: 8,
    });
  });
});

describe("usage from an Anthropic answer", () => {
  it("prompt tokens are input, cache writes and cache reads together, with the cache's share kept apart", () => {
    expect(usageOf({ input_tokens: 100, cache_creation_input_tokens: 1_000, cache_read_input_tokens: 10_000, output_tokens: 50 })).toEqual({
      promptTokens: 11_100,
      completionTokens: 50,
      cacheReadTokens: 10_000,
      cacheWriteTokens: 1_000,
    });
  });
});
