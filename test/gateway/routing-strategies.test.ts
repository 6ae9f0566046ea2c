import { describe, expect, it } from "vitest";
import { waitFor } from "./support/gateway";
import { chatBody, withGateway } from "./support/harness";
import { inputCostPerToken, outputCostPerToken, upstreamUsage } from "./support/upstream";

/**
 * usage-based-routing-v2 through the real gateway process: the tokens each answer used count
 * against its deployment's minute, so a deployment that used its `tpm` leaves the rotation.
 */

const tokensPerAnswer = upstreamUsage.prompt_tokens + upstreamUsage.completion_tokens;

const h = withGateway({
  config: (upstreamUrl) => `
model_list:
  - model_name: spread
    litellm_params: { model: openai/small-a, api_base: "${upstreamUrl}", api_key: os.environ/TEST_UPSTREAM_KEY, tpm: ${tokensPerAnswer}, weight: 1 }
    model_info: { id: small, input_cost_per_token: ${inputCostPerToken}, output_cost_per_token: ${outputCostPerToken} }
  - model_name: spread
    litellm_params: { model: openai/large-b, api_base: "${upstreamUrl}", api_key: os.environ/TEST_UPSTREAM_KEY, tpm: ${100 * tokensPerAnswer}, weight: 1 }
    model_info: { id: large, input_cost_per_token: ${inputCostPerToken}, output_cost_per_token: ${outputCostPerToken} }
router_settings:
  routing_strategy: usage-based-routing-v2
general_settings:
  proxy_batch_write_at: 1
`,
});

describe("usage-based-routing-v2", () => {
  it("a deployment whose answers used its tpm this minute gets no more requests; the other takes them", async () => {
    const { key } = await h.newKey();
    const answeredBy = async () => {
      const res = await h.call("/v1/chat/completions", { key, body: chatBody("spread") });
      expect(res.status).toBe(200);
      return res.headers.get("x-litellm-model-id");
    };
    // Until one answer has been counted, both are at zero and either may be drawn; once "small"
    // has answered (its tpm is one answer's tokens), every request goes to "large".
    await waitFor(async () => ((await answeredBy()) === "small" ? true : undefined), 10_000, "an answer from small");
    const later: (string | null)[] = [];
    // (Equal weights: were the tokens not counted, each would go to "small" half the time.)
    for (let call = 0; call < 10; call += 1) later.push(await answeredBy());
    expect(later).toEqual(Array(10).fill("large"));
  });
});
