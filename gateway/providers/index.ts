import type { ProviderName } from "../config";
import { AnthropicProvider } from "./anthropic";
import { BedrockProvider } from "./bedrock";
import { MockProvider } from "./mock";
import { OllamaProvider } from "./ollama";
import { OpenAiProvider } from "./openai";
import type { Provider } from "./types";

// The anthropic provider by its own type: /v1/messages passes Anthropic bodies to it natively.
export type Providers = Record<ProviderName, Provider> & { anthropic: AnthropicProvider };

export function createProviders(): Providers {
  return {
    openai: new OpenAiProvider(),
    anthropic: new AnthropicProvider(),
    mock: new MockProvider(),
    bedrock: new BedrockProvider(),
    ollama: new OllamaProvider("generate"),
    ollama_chat: new OllamaProvider("chat"),
  };
}

export async function closeProviders(providers: Providers): Promise<void> {
  await Promise.all(Object.values(providers).map((provider) => provider.close()));
}
