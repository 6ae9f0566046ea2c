import { describe, expect, it } from "vitest";
import { ConfigError, interpolateEnv, parseConfigText, resolveSettings } from "./config";
import { findBuiltInPrice } from "./prices";

const masterKey = "sk-unit-master";

describe("config interpolation", () => {
  it("replaces os.environ/VAR as a whole value and ${VAR} anywhere in a string", () => {
    const env = { KEY: "secret", HOST: "example.test" };
    expect(interpolateEnv({ a: "os.environ/KEY", b: "https://${HOST}/v1", c: ["${KEY}"] }, env)).toEqual({
      a: "secret",
      b: "https://example.test/v1",
      c: ["secret"],
    });
  });

  it("uses ${VAR:-default} when the variable is unset", () => {
    expect(interpolateEnv("${MISSING:-fallback}", {})).toBe("fallback");
  });

  it("names an unset variable instead of sending an empty value upstream", () => {
    expect(() => interpolateEnv({ litellm_params: { api_key: "os.environ/NOPE" } }, {})).toThrow(/NOPE is not set/);
  });

  it("environment_variables in the file are defaults the process environment overrides", () => {
    const config = parseConfigText(
      "environment_variables: { BASE: http://file.test }\nmodel_list:\n  - model_name: m\n    litellm_params: { model: openai/m, api_base: os.environ/BASE, input_cost_per_token: 0, output_cost_per_token: 0 }\n",
      { BASE: "http://env.test" },
    );
    expect(config.model_list[0]?.litellm_params.api_base).toBe("http://env.test");
  });
});

describe("settings", () => {
  const modelList = (entry: string) => parseConfigText(`model_list:\n${entry}`, {});

  it("refuses to start without a master key", () => {
    expect(() => resolveSettings(parseConfigText("model_list: []", {}), undefined)).toThrow(ConfigError);
  });

  it("refuses a master key that does not start with sk-", () => {
    expect(() => resolveSettings(parseConfigText("general_settings: { master_key: abc12345 }", {}), undefined)).toThrow(/sk-/);
  });

  it("refuses a model without a price", () => {
    const config = modelList("  - model_name: private\n    litellm_params: { model: openai/private-model }\n");
    expect(() => resolveSettings(config, masterKey)).toThrow(/"private" has no price/);
  });

  it("prices a known model from the built-in table, through base_model too", () => {
    const config = modelList(
      "  - model_name: gpt-4o\n    litellm_params: { model: openai/gpt-4o }\n  - model_name: model-cheap\n    litellm_params: { model: mock/x }\n    model_info: { base_model: claude-3-5-haiku }\n",
    );
    const [gpt, cheap] = resolveSettings(config, masterKey).deployments;
    expect(gpt).toMatchObject({ provider: "openai", upstreamModel: "gpt-4o", inputCostPerToken: 2.5e-6, outputCostPerToken: 1e-5 });
    expect(cheap).toMatchObject({ provider: "mock", inputCostPerToken: 8e-7, outputCostPerToken: 4e-6 });
  });

  it("config prices override the built-in table", () => {
    const config = modelList(
      "  - model_name: gpt-4o\n    litellm_params: { model: openai/gpt-4o, input_cost_per_token: 0.5 }\n    model_info: { output_cost_per_token: 0.25 }\n",
    );
    expect(resolveSettings(config, masterKey).deployments[0]).toMatchObject({ inputCostPerToken: 0.5, outputCostPerToken: 0.25 });
  });

  it("prompt-cache prices come from the config, else from the built-in table unless the config set its own input price", () => {
    const config = modelList(
      [
        "  - model_name: sonnet\n    litellm_params: { model: anthropic/claude-sonnet-4-5, api_key: k }\n",
        "  - model_name: sonnet-own\n    litellm_params: { model: anthropic/claude-sonnet-4-5, api_key: k }\n    model_info: { cache_read_input_token_cost: 1e-7, cache_creation_input_token_cost: 2e-6 }\n",
        "  - model_name: sonnet-repriced\n    litellm_params: { model: anthropic/claude-sonnet-4-5, api_key: k, input_cost_per_token: 1e-6 }\n",
        "  - model_name: mini\n    litellm_params: { model: openai/gpt-4o-mini }\n",
        "  - model_name: old\n    litellm_params: { model: openai/gpt-4 }\n",
      ].join(""),
    );
    const [sonnet, own, repriced, mini, old] = resolveSettings(config, masterKey).deployments;
    expect(sonnet).toMatchObject({ inputCostPerToken: 3e-6, cacheReadCostPerToken: 3e-7, cacheWriteCostPerToken: 3.75e-6 });
    expect(own).toMatchObject({ cacheReadCostPerToken: 1e-7, cacheWriteCostPerToken: 2e-6 });
    expect(repriced).toMatchObject({ inputCostPerToken: 1e-6, cacheReadCostPerToken: undefined, cacheWriteCostPerToken: undefined });
    expect(mini).toMatchObject({ cacheReadCostPerToken: 7.5e-8, cacheWriteCostPerToken: undefined });
    expect(old).toMatchObject({ cacheReadCostPerToken: undefined, cacheWriteCostPerToken: undefined });
  });

  it("refuses a provider this gateway does not speak yet, rather than failing at the first request", () => {
    const config = modelList("  - model_name: gemini\n    litellm_params: { model: vertex_ai/gemini-1.5-pro, input_cost_per_token: 0, output_cost_per_token: 0 }\n");
    expect(() => resolveSettings(config, masterKey)).toThrow(/not supported/);
  });

  it("bedrock/ names (with LiteLLM's converse/ route) map to Bedrock in the configured region, with the seeds' prices", () => {
    const config = modelList(
      [
        "  - model_name: model-cheap\n    litellm_params: { model: bedrock/anthropic.claude-3-5-haiku-20241022-v1:0, aws_region_name: us-west-1 }",
        "  - model_name: model-reasoning\n    litellm_params: { model: bedrock/converse/us.deepseek.r1-v1:0, aws_region_name: us-east-1 }",
        "",
      ].join("\n"),
    );
    const [haiku, r1] = resolveSettings(config, masterKey).deployments;
    expect(haiku).toMatchObject({
      provider: "bedrock",
      upstreamModel: "anthropic.claude-3-5-haiku-20241022-v1:0",
      apiBase: "https://bedrock-runtime.us-west-1.amazonaws.com",
      inputCostPerToken: 8e-7,
      aws: { region: "us-west-1", credentials: undefined },
    });
    expect(r1).toMatchObject({ upstreamModel: "us.deepseek.r1-v1:0", inputCostPerToken: 1.35e-6, outputCostPerToken: 5.4e-6 });
  });

  it("bedrock keys are used as given but never shown in the public params, and half a key pair is refused", () => {
    const config = modelList(
      "  - model_name: haiku\n    litellm_params: { model: bedrock/anthropic.claude-3-haiku-20240307-v1:0, aws_access_key_id: AKIDX, aws_secret_access_key: secret-value, aws_session_token: token-value }\n",
    );
    const [deployment] = resolveSettings(config, masterKey).deployments;
    expect(deployment?.aws?.credentials).toEqual({ accessKeyId: "AKIDX", secretAccessKey: "secret-value", sessionToken: "token-value" });
    expect(JSON.stringify(deployment?.publicParams)).not.toMatch(/AKIDX|secret-value|token-value/);
    const half = modelList(
      "  - model_name: haiku\n    litellm_params: { model: bedrock/anthropic.claude-3-haiku-20240307-v1:0, aws_access_key_id: AKIDX }\n",
    );
    expect(() => resolveSettings(half, masterKey)).toThrow(/must be set together/);
  });

  it("ollama/ and ollama_chat/ default to a local Ollama and are free unless priced", () => {
    const config = modelList(
      "  - model_name: local\n    litellm_params: { model: ollama_chat/llama3.2 }\n  - model_name: smarthome\n    litellm_params: { model: ollama/llama3.2, api_base: http://smarthome.test:11434 }\n",
    );
    const [chat, generate] = resolveSettings(config, masterKey).deployments;
    expect(chat).toMatchObject({ provider: "ollama_chat", upstreamModel: "llama3.2", apiBase: "http://localhost:11434", inputCostPerToken: 0, outputCostPerToken: 0 });
    expect(generate).toMatchObject({ provider: "ollama", apiBase: "http://smarthome.test:11434" });
  });

  it("takes litellm_settings.timezone for budget resets and refuses an unknown zone", () => {
    expect(resolveSettings(parseConfigText("litellm_settings: { timezone: US/Eastern }", {}), masterKey).timeZone).toBe("US/Eastern");
    expect(() => parseConfigText("litellm_settings: { timezone: Mars/Olympus }", {})).toThrow(/IANA time zone/);
  });

  it("never exposes the upstream API key in the public params", () => {
    const config = modelList("  - model_name: gpt-4o\n    litellm_params: { model: openai/gpt-4o, api_key: upstream-secret }\n");
    const [deployment] = resolveSettings(config, masterKey).deployments;
    expect(JSON.stringify(deployment?.publicParams)).not.toContain("upstream-secret");
  });

  describe("deployment ids", () => {
    const twoKeys = modelList(
      [
        "  - model_name: gpt-4o\n    litellm_params: { model: openai/gpt-4o, api_key: key-one }",
        "  - model_name: gpt-4o\n    litellm_params: { model: openai/gpt-4o, api_key: key-two }",
        "  - model_name: gpt-4o\n    litellm_params: { model: openai/gpt-4o, api_key: key-two }",
        "  - model_name: mini\n    litellm_params: { model: openai/gpt-4o-mini }\n    model_info: { id: my-mini }\n",
      ].join("\n"),
    );
    const idsOf = (config = twoKeys, key = masterKey) => resolveSettings(config, key).deployments.map((deployment) => deployment.id);

    it("are the same on every instance reading the same config, so instances can share what they know of a deployment", () => {
      expect(idsOf()).toEqual(idsOf());
      // Key order in the file does not matter.
      const reordered = modelList("  - model_name: gpt-4o\n    litellm_params: { api_key: key-one, model: openai/gpt-4o }\n");
      expect(idsOf(reordered)[0]).toBe(idsOf()[0]);
    });

    it("tell apart deployments that differ only in their API key, and number exact copies", () => {
      const [one, two, copy, mini] = idsOf();
      expect(one).toMatch(/^[0-9a-f]{64}$/);
      expect(two).not.toBe(one);
      expect(copy).toBe(`${two}-2`);
      expect(mini).toBe("my-mini");
    });

    it("cannot be recomputed from the upstream's API key without the master key", () => {
      expect(idsOf(twoKeys, "sk-another-master-key")[0]).not.toBe(idsOf()[0]);
    });

    it("refuses a model_info.id given twice", () => {
      const twice = modelList(
        "  - model_name: a\n    litellm_params: { model: openai/gpt-4o }\n    model_info: { id: same }\n  - model_name: b\n    litellm_params: { model: openai/gpt-4o }\n    model_info: { id: same }\n",
      );
      expect(() => resolveSettings(twice, masterKey)).toThrow(/model_info.id same is already the id of another deployment/);
    });
  });
});

describe("built-in prices", () => {
  it.each([
    ["gpt-4o-mini-2024-07-18", 1.5e-7],
    ["openai/gpt-4o", 2.5e-6],
    ["bedrock/us.anthropic.claude-3-5-haiku-20241022-v1:0", 8e-7],
    ["anthropic.claude-sonnet-4-5-20250929-v1:0", 3e-6],
    ["bedrock/converse/anthropic.claude-3-haiku-20240307-v1:0", 2.5e-7],
    ["bedrock/us.deepseek.r1-v1:0", 1.35e-6],
    ["bedrock/apac.anthropic.claude-sonnet-4-20250514-v1:0", 3e-6],
    ["bedrock/us.anthropic.claude-opus-4-20250514-v1:0", 1.5e-5],
    ["bedrock/amazon.nova-lite-v1:0", 6e-8],
  ])("%s is priced at %d per input token", (name, input) => {
    expect(findBuiltInPrice(name)?.inputCostPerToken).toBe(input);
  });

  it("an unknown model has no built-in price", () => {
    expect(findBuiltInPrice("my-private-model")).toBeUndefined();
  });
});
