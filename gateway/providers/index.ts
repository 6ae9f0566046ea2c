import type { ProviderName } from "../config";
import { MockProvider } from "./mock";
import { OpenAiProvider } from "./openai";
import type { Provider } from "./types";

export type Providers = Record<ProviderName, Provider>;

export function createProviders(): Providers {
  return { openai: new OpenAiProvider(), mock: new MockProvider() };
}

export async function closeProviders(providers: Providers): Promise<void> {
  await Promise.all(Object.values(providers).map((provider) => provider.close()));
}
