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

  it("refuses a provider this gateway does not speak yet, rather than failing at the first request", () => {
    const config = modelList("  - model_name: haiku\n    litellm_params: { model: bedrock/anthropic.claude-3-5-haiku-20241022-v1:0 }\n");
    expect(() => resolveSettings(config, masterKey)).toThrow(/not supported/);
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
});

describe("built-in prices", () => {
  it.each([
    ["gpt-4o-mini-2024-07-18", 1.5e-7],
    ["openai/gpt-4o", 2.5e-6],
    ["bedrock/us.anthropic.claude-3-5-haiku-20241022-v1:0", 8e-7],
    ["anthropic.claude-sonnet-4-5-20250929-v1:0", 3e-6],
  ])("%s is priced at %d per input token", (name, input) => {
    expect(findBuiltInPrice(name)?.inputCostPerToken).toBe(input);
  });

  it("an unknown model has no built-in price", () => {
    expect(findBuiltInPrice("my-private-model")).toBeUndefined();
  });
});
