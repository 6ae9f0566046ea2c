import { describe, expect, it } from "vitest";
import { waitFor } from "./support/gateway";
import { chatBody, errorOf, withGateway } from "./support/harness";
import { chatCost, inputCostPerToken, outputCostPerToken, upstreamKey } from "./support/upstream";

/**
 * The router through the real gateway process and a local OpenAI-compatible upstream: load
 * balancing across deployments of one name, retries, fallbacks, timeouts, cooldowns and /health.
 */

function routerConfig(upstreamUrl: string): string {
  const price = (factor = 1) =>
    `input_cost_per_token: ${inputCostPerToken * factor}, output_cost_per_token: ${outputCostPerToken * factor}`;
  const deployment = (name: string, upstream: string, params = "", info = "", factor = 1) => `
  - model_name: ${name}
    litellm_params: { model: openai/${upstream}, api_base: ${upstreamUrl}, api_key: os.environ/TEST_UPSTREAM_KEY${params ? `, ${params}` : ""} }
    model_info: { ${price(factor)}${info ? `, ${info}` : ""} }`;
  return `
model_list:${deployment("shared", "lb-a", "", "id: lb-a")}${deployment("shared", "lb-b", "", "id: lb-b")}${deployment(
    "retried",
    "fail-503",
    "weight: 1000000, num_retries: 1",
    "id: retried-bad",
  )}${deployment("retried", "retried-good", "weight: 1", "id: retried-good")}${deployment("always-429", "fail-429")}${deployment(
    "refuses",
    "bad-request",
  )}${deployment("primary", "fail-500", "num_retries: 0")}${deployment("backup", "backup-model", "", "id: backup", 10)}${deployment(
    "hangs",
    "hang",
    "timeout: 1, num_retries: 1",
  )}${deployment("slow-start", "delay-2500", "timeout: 20, stream_timeout: 0.5, num_retries: 0")}${deployment(
    "cooling",
    "fail-429",
    "weight: 1000000",
    "id: cool-bad",
  )}${deployment("cooling", "cool-good", "weight: 1", "id: cool-good")}${deployment(
    "cut-short",
    "cut-stream",
    "weight: 1000000, num_retries: 3",
    "id: cut-bad",
  )}${deployment("cut-short", "cut-good", "weight: 1", "id: cut-good")}${deployment(
    "ordered",
    "ordered-backup",
    "weight: 1000000, order: 2",
    "id: ordered-backup",
  )}${deployment("ordered", "ordered-primary", "weight: 1, order: 1", "id: ordered-primary")}${deployment(
    "stalls",
    "stall-stream",
    "timeout: 1, stream_timeout: 5",
  )}
litellm_settings:
  num_retries: 2
router_settings:
  fallbacks: [{ "primary": ["backup"] }]
  cooldown_time: 60
  allowed_fails: 3
general_settings:
  proxy_batch_write_at: 1
`;
}

const h = withGateway({ config: routerConfig });

function upstreamCalls(model: string): number {
  return h.upstream.requests.filter((request) => request.body.model === model).length;
}

async function spendOf(key: string): Promise<number> {
  return ((await h.call("/key/info", { key })).body as { info: { spend: number } }).info.spend;
}

describe("several deployments under one model name", () => {
  it("both deployments of a model name receive traffic", async () => {
    const { key } = await h.newKey();
    const answeredBy = new Set<string | null>();
    for (let index = 0; index < 24; index += 1) {
      const res = await h.call("/v1/chat/completions", { key, body: chatBody("shared") });
      expect(res.status).toBe(200);
      answeredBy.add(res.headers.get("x-litellm-model-id"));
    }
    expect(answeredBy).toEqual(new Set(["lb-a", "lb-b"]));
    expect(upstreamCalls("lb-a")).toBeGreaterThan(0);
    expect(upstreamCalls("lb-b")).toBeGreaterThan(0);
  });
});

describe("order", () => {
  it("a deployment of a lower order gets every request while it is available, whatever the weights", async () => {
    const { key } = await h.newKey();
    for (let index = 0; index < 10; index += 1) {
      const res = await h.call("/v1/chat/completions", { key, body: chatBody("ordered") });
      expect(res.status).toBe(200);
      expect(res.headers.get("x-litellm-model-id")).toBe("ordered-primary");
    }
    expect(upstreamCalls("ordered-backup")).toBe(0);
  });
});

describe("retries", () => {
  it("a failing deployment is retried on the other deployment of its group; the caller sees success and is charged once", async () => {
    const { key } = await h.newKey();
    const bad = upstreamCalls("fail-503");
    const res = await h.call("/v1/chat/completions", { key, body: chatBody("retried") });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-litellm-model-id")).toBe("retried-good");
    expect(res.headers.get("x-litellm-attempted-retries")).toBe("1");
    expect(upstreamCalls("fail-503")).toBe(bad + 1);
    expect(await spendOf(key)).toBeCloseTo(chatCost, 12);
  });

  it("retries exhausted on an upstream 429 answer 429 in OpenAI's envelope, after num_retries + 1 attempts", async () => {
    const { key } = await h.newKey();
    const before = upstreamCalls("fail-429");
    const res = await h.call("/v1/chat/completions", { key, body: chatBody("always-429") });
    expect(res.status).toBe(429);
    expect(errorOf(res.body)).toMatchObject({ type: "rate_limit_error", code: "429" });
    // litellm_settings.num_retries: 2 → three attempts.
    expect(upstreamCalls("fail-429")).toBe(before + 3);
    expect(await spendOf(key)).toBe(0);
  });

  it("an upstream 400 is never retried", async () => {
    const { key } = await h.newKey();
    const before = upstreamCalls("bad-request");
    const res = await h.call("/v1/chat/completions", { key, body: chatBody("refuses") });
    expect(res.status).toBe(400);
    expect(upstreamCalls("bad-request")).toBe(before + 1);
  });

  it("a stream that fails after its first chunk reached the caller is not retried", async () => {
    const { key } = await h.newKey();
    const res = await fetch(`${h.gateway.publicUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ ...chatBody("cut-short"), stream: true }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-litellm-model-id")).toBe("cut-bad");
    const text = await res.text();
    expect(text).toContain('"Hel"');
    // The failure is reported in-band; nothing from another deployment is spliced in.
    expect(text).toContain('"error"');
    expect(upstreamCalls("cut-good")).toBe(0);
  });
});

describe("fallbacks", () => {
  it("the fallback group answers when the primary group fails, charged at the answering deployment's price", async () => {
    // Access is checked against the model the caller asked for, as LiteLLM does.
    const { key } = await h.newKey({ models: ["primary"] });
    const res = await h.call("/v1/chat/completions", { key, body: chatBody("primary") });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-litellm-attempted-fallbacks")).toBe("1");
    expect(res.headers.get("x-litellm-model-id")).toBe("backup");
    expect((res.body as { model: string }).model).toBe("backup-model");
    expect(await spendOf(key)).toBeCloseTo(10 * chatCost, 12);
    // The same key may not ask for the fallback group itself.
    const direct = await h.call("/v1/chat/completions", { key, body: chatBody("backup") });
    expect(direct.status).toBe(403);
  });

  it("a request's own fallbacks replace the config's for that request", async () => {
    const { key } = await h.newKey();
    const res = await h.call("/v1/chat/completions", { key, body: { ...chatBody("primary"), fallbacks: ["shared"] } });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-litellm-attempted-fallbacks")).toBe("1");
    expect(res.headers.get("x-litellm-model-id")).toMatch(/^lb-[ab]$/);
    // An empty list: no fallback at all, so the primary's failure reaches the caller.
    const none = await h.call("/v1/chat/completions", { key, body: { ...chatBody("primary"), fallbacks: [] } });
    expect(none.status).toBe(502);
  });

  it("a request's own num_retries replaces the group's retries", async () => {
    const { key } = await h.newKey();
    const before = upstreamCalls("fail-500");
    const res = await h.call("/v1/chat/completions", { key, body: { ...chatBody("primary"), fallbacks: [], num_retries: 2 } });
    expect(res.status).toBe(502);
    expect(upstreamCalls("fail-500") - before).toBe(3);
  });

  it("a request's fallbacks must be models of the proxy the key may use, checked before anything is sent", async () => {
    const { key } = await h.newKey({ models: ["primary"] });
    const before = upstreamCalls("fail-500");
    const denied = await h.call("/v1/chat/completions", { key, body: { ...chatBody("primary"), fallbacks: ["shared"] } });
    expect(denied.status).toBe(403);
    expect(errorOf(denied.body).message).toContain("'shared'");
    const unknown = await h.call("/v1/chat/completions", { key, body: { ...chatBody("primary"), fallbacks: ["no-such-model"] } });
    expect(unknown.status).toBe(400);
    expect(errorOf(unknown.body)).toMatchObject({ param: "fallbacks.0", message: expect.stringContaining("no-such-model") });
    const malformed = await h.call("/v1/chat/completions", { key, body: { ...chatBody("primary"), num_retries: -1 } });
    expect(malformed.status).toBe(400);
    expect(upstreamCalls("fail-500")).toBe(before);
  });

  it("a request's own fallbacks are reserved at the dearest model named, while it is in flight", async () => {
    // 1,000 completion tokens at "hangs"'s price fit three times in the budget; at "backup"'s
    // (10×) they do not. A request is admitted while what is spent and reserved is under budget.
    const { key } = await h.newKey({ max_budget: 3 * 1_000 * outputCostPerToken });
    const slow = h.call("/v1/chat/completions", { key, body: { ...chatBody("hangs", { max_tokens: 1_000 }), fallbacks: ["backup"] } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    // A small request would fit beside "hangs"'s reservation, not beside "backup"'s.
    const meanwhile = await h.call("/v1/chat/completions", { key, body: chatBody("shared", { max_tokens: 10 }) });
    expect(meanwhile.status).toBe(402);
    expect(errorOf(meanwhile.body).type).toBe("budget_exceeded");
    const answered = await slow;
    expect(answered.status).toBe(200);
    expect(answered.headers.get("x-litellm-model-id")).toBe("backup");
  });

  it("the spend log holds one row for a request that fell back", async () => {
    const { key, token } = await h.newKey();
    const res = await h.call("/v1/chat/completions", { key, body: chatBody("primary") });
    expect(res.status).toBe(200);
    const rows = await waitFor(async () => {
      const found = (await h.admin(`/spend/logs?api_key=${token}`)).body as {
        model_group: string;
        spend: number;
        request_id: string;
      }[];
      return Array.isArray(found) && found.length > 0 ? found : undefined;
    });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      model_group: "backup",
      request_id: res.headers.get("x-litellm-call-id"),
    });
    expect(Number(rows[0]?.spend)).toBeCloseTo(10 * chatCost, 12);
  });
});

describe("timeouts", () => {
  it("a deployment that does not answer within its timeout gets 504 after its retries", async () => {
    const { key } = await h.newKey();
    const before = upstreamCalls("hang");
    const res = await h.call("/v1/chat/completions", { key, body: chatBody("hangs") });
    expect(res.status).toBe(504);
    expect(errorOf(res.body)).toMatchObject({ type: "timeout_error", code: "504" });
    expect(upstreamCalls("hang")).toBe(before + 2);
  });

  it("stream_timeout bounds the wait for a stream's first chunk, not a complete answer", async () => {
    const { key } = await h.newKey();
    const whole = await h.call("/v1/chat/completions", { key, body: chatBody("slow-start") });
    expect(whole.status).toBe(200);
    const streamed = await h.call("/v1/chat/completions", {
      key,
      body: { ...chatBody("slow-start"), stream: true },
    });
    expect(streamed.status).toBe(504);
    expect(errorOf(streamed.body).message).toContain("did not start streaming within 500 ms");
  });

  it("after a stream's first chunk, timeout bounds each wait for the next one; the caller is told in the stream", async () => {
    const { key } = await h.newKey();
    const res = await fetch(`${h.gateway.publicUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ ...chatBody("stalls"), stream: true }),
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('"Hel"');
    expect(text).toContain("sent nothing for 1000 ms");
  });
});

describe("cooldowns", () => {
  it("a deployment answering 429 leaves the rotation while its group has another", async () => {
    const { key } = await h.newKey();
    const first = await h.call("/v1/chat/completions", { key, body: chatBody("cooling") });
    expect(first.status).toBe(200);
    const failedOnce = upstreamCalls("fail-429");
    for (let index = 0; index < 5; index += 1) {
      const res = await h.call("/v1/chat/completions", { key, body: chatBody("cooling") });
      expect(res.status).toBe(200);
      expect(res.headers.get("x-litellm-model-id")).toBe("cool-good");
      expect(res.headers.get("x-litellm-attempted-retries")).toBe("0");
    }
    expect(upstreamCalls("fail-429")).toBe(failedOnce);
    expect(await spendOf(key)).toBeCloseTo(6 * chatCost, 12);
  });
});

describe("/health", () => {
  it("lists healthy and unhealthy deployments after a real call to each, without API keys", async () => {
    const res = await h.admin("/health");
    expect(res.status).toBe(200);
    const body = res.body as {
      healthy_endpoints: { model: string; model_id: string }[];
      unhealthy_endpoints: { model: string; error: string }[];
      healthy_count: number;
      unhealthy_count: number;
    };
    const healthyIds = body.healthy_endpoints.map((endpoint) => endpoint.model_id);
    expect(healthyIds).toEqual(
      expect.arrayContaining(["lb-a", "lb-b", "retried-good", "backup", "cool-good"]),
    );
    const unhealthy = body.unhealthy_endpoints.map((endpoint) => endpoint.model);
    expect(unhealthy).toEqual(expect.arrayContaining(["primary", "always-429", "hangs"]));
    expect(body.healthy_count).toBe(body.healthy_endpoints.length);
    expect(body.unhealthy_count).toBe(body.unhealthy_endpoints.length);
    expect(JSON.stringify(body)).not.toContain(upstreamKey);
    // The probe is a real one-token chat with LiteLLM's health-check prompt.
    const probe = h.upstream.requests.find(
      (request) =>
        request.body.model === "lb-a" &&
        JSON.stringify(request.body.messages).includes("test from litellm"),
    );
    expect(probe?.body.max_tokens).toBe(1);
  });
});
