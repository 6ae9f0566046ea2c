/**
 * Built-in prices (US dollars per token) and output limits for the models the product's users
 * name, copied from LiteLLM's model_prices_and_context_window.json. A config may override any
 * of them per deployment; a model found neither here nor in the config is refused at start,
 * because an unpriced model would be silently free and no budget would ever trip.
 */
export interface ModelPrice {
  inputCostPerToken: number;
  outputCostPerToken: number;
  /** Prompt-cache prices where the provider has them (else the input price applies). */
  cacheReadCostPerToken?: number;
  cacheWriteCostPerToken?: number;
  maxOutputTokens: number;
  mode: "chat" | "embedding" | "completion";
}

const chat = (input: number, output: number, maxOutputTokens: number): ModelPrice => ({
  inputCostPerToken: input,
  outputCostPerToken: output,
  maxOutputTokens,
  mode: "chat",
});

// Anthropic's prompt cache: a write costs 1.25× the input price (the default five-minute cache),
// a read a tenth of it.
const claude = (input: number, output: number, maxOutputTokens: number): ModelPrice => ({
  ...chat(input, output, maxOutputTokens),
  cacheReadCostPerToken: decimal(input / 10),
  cacheWriteCostPerToken: decimal(input * 1.25),
});

// OpenAI's cached input: half the input price for the GPT-4o family, a quarter for GPT-4.1;
// writing to its cache costs nothing extra.
const cachedAt = (price: ModelPrice, share: number): ModelPrice => ({ ...price, cacheReadCostPerToken: decimal(price.inputCostPerToken * share) });

// 3e-7, not the 3.0000000000000004e-7 that 3e-6 / 10 is in binary (it shows in /model/info).
function decimal(value: number): number {
  return Number(value.toPrecision(12));
}

const embedding = (input: number): ModelPrice => ({
  inputCostPerToken: input,
  outputCostPerToken: 0,
  maxOutputTokens: 0,
  mode: "embedding",
});

export const builtInPrices: Readonly<Record<string, ModelPrice>> = {
  "gpt-4o": cachedAt(chat(2.5e-6, 1e-5, 16_384), 0.5),
  "gpt-4o-mini": cachedAt(chat(1.5e-7, 6e-7, 16_384), 0.5),
  "gpt-4.1": cachedAt(chat(2e-6, 8e-6, 32_768), 0.25),
  "gpt-4.1-mini": cachedAt(chat(4e-7, 1.6e-6, 32_768), 0.25),
  "gpt-4.1-nano": cachedAt(chat(1e-7, 4e-7, 32_768), 0.25),
  "gpt-4": chat(3e-5, 6e-5, 4_096),
  "gpt-4-turbo": chat(1e-5, 3e-5, 4_096),
  "gpt-3.5-turbo": chat(5e-7, 1.5e-6, 4_096),
  "gpt-3.5-turbo-instruct": { ...chat(1.5e-6, 2e-6, 4_096), mode: "completion" },
  "text-embedding-3-small": embedding(2e-8),
  "text-embedding-3-large": embedding(1.3e-7),
  "text-embedding-ada-002": embedding(1e-7),
  // Bedrock's embedding models (amazon.titan-…, cohere.embed-…).
  "titan-embed-text-v1": embedding(1e-7),
  "titan-embed-text-v2": embedding(2e-8),
  "embed-english-v3": embedding(1e-7),
  "embed-multilingual-v3": embedding(1e-7),
  "claude-3-haiku": claude(2.5e-7, 1.25e-6, 4_096),
  "claude-3-5-haiku": claude(8e-7, 4e-6, 8_192),
  "claude-3-5-sonnet": claude(3e-6, 1.5e-5, 8_192),
  "claude-3-7-sonnet": claude(3e-6, 1.5e-5, 128_000),
  "claude-haiku-4-5": claude(1e-6, 5e-6, 64_000),
  "claude-sonnet-4": claude(3e-6, 1.5e-5, 64_000),
  "claude-sonnet-4-5": claude(3e-6, 1.5e-5, 64_000),
  "claude-opus-4": claude(1.5e-5, 7.5e-5, 32_000),
  "claude-opus-4-1": claude(1.5e-5, 7.5e-5, 32_000),
  // Opus 4.5 costs a third of Opus 4/4.1; without its own row it would match claude-opus-4.
  "claude-opus-4-5": claude(5e-6, 2.5e-5, 64_000),
  "claude-3-opus": claude(1.5e-5, 7.5e-5, 4_096),
  "deepseek-r1": chat(1.35e-6, 5.4e-6, 32_768),
  "nova-micro": chat(3.5e-8, 1.4e-7, 10_000),
  "nova-lite": chat(6e-8, 2.4e-7, 10_000),
  "nova-pro": chat(8e-7, 3.2e-6, 10_000),
};

// Longest names first, so "gpt-4o-mini-2024-07-18" matches gpt-4o-mini and not gpt-4o.
const namesByLength = Object.keys(builtInPrices).sort((a, b) => b.length - a.length);

/**
 * Finds the built-in price of a model named the way configs name them: with or without a
 * provider prefix (`openai/`, `bedrock/`, LiteLLM's `bedrock/converse/`), a Bedrock vendor and
 * cross-region prefix (`us.anthropic.`, `apac.`, `global.`), a dated snapshot or a Bedrock version
 * suffix (`-20241022-v1:0`). Bedrock's DeepSeek-R1 is `deepseek.r1-v1:0`.
 */
export function findBuiltInPrice(name: string): ModelPrice | undefined {
  const base = name
    .toLowerCase()
    .replace(/^[a-z_]+\//, "")
    .replace(/^(?:converse|invoke)\//, "")
    .replace(/^(?:[a-z]{2}|apac|global)\.(?=[a-z]+\.)/, "")
    .replace(/^deepseek\.r1/, "deepseek-r1")
    .replace(/^(?:anthropic|deepseek|openai|meta|amazon|cohere)\./, "");
  const exact = builtInPrices[base];
  if (exact) return exact;
  const prefix = namesByLength.find((candidate) => base.startsWith(`${candidate}-`) || base.startsWith(`${candidate}:`));
  return prefix ? builtInPrices[prefix] : undefined;
}
