import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stayingCaller } from "./caller";
import { startUpstream, type FakeUpstream } from "../test/gateway/support/upstream";
import { parseConfigText, resolveSettings, type GatewaySettings } from "./config";
import { GatewayError } from "./errors";
import { closeProviders, createProviders, type Providers } from "./providers";
import { UpstreamError } from "./providers/types";
import { classifyFailure, redact, Router, weightedPick } from "./router";

const masterKey = "sk-unit-master";
const priced = "model_info: { input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 }";

/** A chat request to `group` from a caller that stays. */
const request = (group: string) => ({
  group,
  route: "chat" as const,
  body: { model: group, messages: [{ role: "user", content: "hi" }] },
  stream: false,
  caller: stayingCaller,
  mock: false,
});

function settingsOf(yaml: string): GatewaySettings {
  return resolveSettings(parseConfigText(yaml, {}), masterKey);
}

describe("simple-shuffle", () => {
  const list = [
    { id: "a", weight: 3 },
    { id: "b", weight: 1 },
  ];

  it("draws each deployment in proportion to its weight", () => {
    expect(weightedPick(list, () => 0)?.id).toBe("a");
    expect(weightedPick(list, () => 0.7)?.id).toBe("a");
    expect(weightedPick(list, () => 0.8)?.id).toBe("b");
    expect(weightedPick(list, () => 0.999)?.id).toBe("b");
  });

  it("takes the weight from weight, else rpm, else tpm", () => {
    const { deployments } = settingsOf(`model_list:
  - { model_name: m, litellm_params: { model: mock/a, weight: 2, rpm: 100 }, ${priced} }
  - { model_name: m, litellm_params: { model: mock/b, rpm: 100 }, ${priced} }
  - { model_name: m, litellm_params: { model: mock/c, tpm: 5000 }, ${priced} }
  - { model_name: m, litellm_params: { model: mock/d }, ${priced} }
`);
    expect(deployments.map((deployment) => deployment.weight)).toEqual([2, 100, 5000, 1]);
  });
});

describe("which failures are retried and fallen back on", () => {
  it.each([
    [new UpstreamError("timeout", "slow"), "transient"],
    [new UpstreamError("unreachable", "refused"), "transient"],
    [new UpstreamError("status", "busy", 429), "transient"],
    [new UpstreamError("status", "boom", 500), "transient"],
    [new UpstreamError("status", "overloaded", 503), "transient"],
    [new UpstreamError("status", "bad key", 401), "deployment"],
    [new UpstreamError("status", "forbidden", 403), "deployment"],
    [new UpstreamError("status", "no such model", 404), "deployment"],
    [
      new UpstreamError("status", "This model's maximum context length is 8192 tokens", 400),
      "context_window",
    ],
    [
      new UpstreamError(
        "status",
        "The response was filtered due to the prompt triggering content management policy",
        400,
      ),
      "content_policy",
    ],
    [new UpstreamError("status", "temperature must be at most 2", 400), "request"],
    [new GatewayError(429, "no_deployments_available", "No deployments available"), "unavailable"],
  ] as const)("%s is %s", (error, expected) => {
    expect(classifyFailure(error)).toBe(expected);
  });
});

describe("router settings", () => {
  const twoGroups = `model_list:
  - { model_name: gpt-4o, litellm_params: { model: mock/a }, ${priced} }
  - { model_name: claude-3, litellm_params: { model: mock/b }, ${priced} }
  - { model_name: big, litellm_params: { model: mock/c }, ${priced} }
`;

  it("refuses a fallback naming a model that is not in model_list", () => {
    expect(() =>
      settingsOf(`${twoGroups}router_settings:\n  fallbacks: [{ "gpt-4o": ["claude-9"] }]\n`),
    ).toThrow(/fallbacks: fallback "claude-9" of "gpt-4o" is not a model_name/);
  });

  it("router_settings win over litellm_settings; retries default to none", () => {
    const settings = settingsOf(
      `${twoGroups}litellm_settings:\n  num_retries: 5\n  fallbacks: [{ "gpt-4o": ["big"] }]\nrouter_settings:\n  num_retries: 1\n  fallbacks: [{ "gpt-4o": ["claude-3"] }]\n`,
    );
    expect(settings.router.numRetries).toBe(1);
    expect(settings.router.fallbacks.get("gpt-4o")).toEqual(["claude-3"]);
    expect(settingsOf(twoGroups).router).toMatchObject({
      numRetries: 0,
      allowedFails: 3,
      cooldownMs: 5000,
    });
  });

  it("picks the fallbacks by the kind of failure, with * for every group", () => {
    const settings = settingsOf(`${twoGroups}router_settings:
  fallbacks: [{ "*": ["claude-3"] }]
  context_window_fallbacks: [{ "gpt-4o": "big" }]
`);
    const router = new Router(settings.deployments, settings.router, createProviders());
    const outage = new UpstreamError("status", "boom", 500);
    expect(router.fallbacksFor("gpt-4o", outage)).toEqual(["claude-3"]);
    expect(router.fallbacksFor("claude-3", outage)).toEqual([]);
    expect(
      router.fallbacksFor(
        "gpt-4o",
        new UpstreamError("status", "maximum context length exceeded", 400),
      ),
    ).toEqual(["big"]);
    expect(
      router.fallbacksFor(
        "gpt-4o",
        new UpstreamError("status", "temperature must be at most 2", 400),
      ),
    ).toEqual([]);
  });

  it("timeouts: the deployment's own, then router_settings.timeout, then request_timeout; stream_timeout defaults to timeout", () => {
    const settings = settingsOf(`model_list:
  - { model_name: a, litellm_params: { model: mock/a, timeout: 3, stream_timeout: 1 }, ${priced} }
  - { model_name: b, litellm_params: { model: mock/b }, ${priced} }
litellm_settings: { request_timeout: 30 }
router_settings: { timeout: 7 }
`);
    expect(
      settings.deployments.map((deployment) => [deployment.timeoutMs, deployment.streamTimeoutMs]),
    ).toEqual([
      [3000, 1000],
      [7000, 7000],
    ]);
  });

  it("a group's retries come from its deployments' num_retries when set", () => {
    const settings = settingsOf(`model_list:
  - { model_name: a, litellm_params: { model: mock/a, num_retries: 4 }, ${priced} }
  - { model_name: b, litellm_params: { model: mock/b }, ${priced} }
router_settings: { num_retries: 1 }
`);
    const router = new Router(settings.deployments, settings.router, createProviders());
    expect(router.retriesOf("a")).toBe(4);
    expect(router.retriesOf("b")).toBe(1);
  });
});

describe("routing strategies, against the mock provider", () => {
  let providers: Providers;
  beforeAll(() => {
    providers = createProviders();
  });
  afterAll(async () => {
    await closeProviders(providers);
  });

  const twoDeployments = (strategy: string, first: number, second: number, extra = "") =>
    settingsOf(`model_list:
  - { model_name: g, litellm_params: { model: mock/a, mock_latency_ms: ${first} }, model_info: { id: a, input_cost_per_token: 0, output_cost_per_token: 0 } }
  - { model_name: g, litellm_params: { model: mock/b, mock_latency_ms: ${second} }, model_info: { id: b, input_cost_per_token: 0, output_cost_per_token: 0 } }
router_settings: { routing_strategy: ${strategy}${extra} }
`);

  it("least-busy sends a new request to the deployment with fewer calls in flight", async () => {
    const settings = twoDeployments("least-busy", 150, 150);
    // random 0 draws the first of equals: "a" whenever both are equally busy.
    const router = new Router(settings.deployments, settings.router, providers, { random: () => 0 });
    expect(router.pick("g")?.id).toBe("a");
    const inFlight = router.send({ ...request("g"), preferred: router.pick("g") });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(router.pick("g")?.id).toBe("b");
    expect((await inFlight).deployment.id).toBe("a");
    expect(router.pick("g")?.id).toBe("a");
  });

  it("latency-based-routing measures each deployment once, then sends requests to the fastest", async () => {
    const settings = twoDeployments("latency-based-routing", 120, 0);
    const router = new Router(settings.deployments, settings.router, providers, { random: () => 0 });
    const answered: string[] = [];
    for (let i = 0; i < 5; i++) answered.push((await router.send({ ...request("g"), preferred: router.pick("g") })).deployment.id);
    expect(answered).toEqual(["a", "b", "b", "b", "b"]);
  });

  it("least-busy counts the other instances' calls in flight, as they last reported them", () => {
    const settings = twoDeployments("least-busy", 0, 0);
    const router = new Router(settings.deployments, settings.router, providers, { random: () => 0 });
    expect(router.loadSharedDeployments).toEqual(["a", "b"]);
    router.adoptLoad({ deploymentId: "a", inFlight: 2, latenciesMs: [] });
    expect(router.pick("g")?.id).toBe("b");
    // A later report replaces it; an empty one (no other instance, or Redis away) clears it.
    router.adoptLoad({ deploymentId: "a", inFlight: 0, latenciesMs: [] });
    expect(router.pick("g")?.id).toBe("a");
  });

  it("latency-based-routing averages every instance's answer times, so an instance that measured nothing goes by the others'", async () => {
    const settings = twoDeployments("latency-based-routing", 0, 0);
    const router = new Router(settings.deployments, settings.router, providers, { random: () => 0 });
    router.adoptLoad({ deploymentId: "a", inFlight: 0, latenciesMs: [300, 100] });
    router.adoptLoad({ deploymentId: "b", inFlight: 0, latenciesMs: [50] });
    expect(router.pick("g")?.id).toBe("b");
    // Its own answers from "b" (~0 ms) count as one instance among the others.
    await router.send({ ...request("g"), preferred: router.pick("g") });
    expect(router.ownLoad("b").latencyMs).toBeLessThan(50);
    expect(router.pick("g")?.id).toBe("b");
    expect(new Router(settings.deployments, { ...settings.router, strategy: "simple-shuffle" }, providers).loadSharedDeployments).toEqual([]);
  });

  it("latency-based-routing shuffles among deployments within lowest_latency_buffer of the fastest", async () => {
    const settings = twoDeployments("latency-based-routing", 60, 20, ", routing_strategy_args: { lowest_latency_buffer: 5 }");
    // random 0 draws the first of the candidates: "a" whenever it is within the buffer.
    const router = new Router(settings.deployments, settings.router, providers, { random: () => 0 });
    const answered: string[] = [];
    for (let i = 0; i < 4; i++) answered.push((await router.send({ ...request("g"), preferred: router.pick("g") })).deployment.id);
    // Each measured once (a, then b); after that "a" (~60 ms) is within 6× of "b" (~20 ms), so it stays a candidate.
    expect(answered).toEqual(["a", "b", "a", "a"]);
  });

  it("a strategy this router does not implement is refused at start, naming the ones it does", () => {
    expect(() => twoDeployments("provider-budget-routing", 0, 0)).toThrow(
      /routing_strategy: "provider-budget-routing" is not supported here \(supported: simple-shuffle, least-busy, latency-based-routing, usage-based-routing-v2, usage-based-routing, cost-based-routing\)/,
    );
  });

  /** Two deployments of group g with their own rpm (and optional tpm), priced per token as given. */
  const limited = (strategy: string, a: string, b: string) =>
    settingsOf(`model_list:
  - { model_name: g, litellm_params: { model: mock/a, ${a} }, model_info: { id: a, input_cost_per_token: 0.000003, output_cost_per_token: 0.000006 } }
  - { model_name: g, litellm_params: { model: mock/b, ${b} }, model_info: { id: b, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 } }
router_settings: { routing_strategy: ${strategy} }
`);

  it("usage-based-routing-v2 sends each request to the deployment with the fewest tokens this minute, and none past its rpm", async () => {
    const settings = limited("usage-based-routing-v2", "rpm: 2", "rpm: 2");
    let now = Date.UTC(2026, 10, 24, 12, 0, 10);
    const router = new Router(settings.deployments, settings.router, providers, { now: () => now, random: () => 0 });
    const answered: string[] = [];
    const send = async () => {
      const routed = await router.send({ ...request("g"), preferred: router.pick("g") });
      // What llm.ts does once the request is settled.
      router.recordTokens(routed.deployment, 20);
      answered.push(routed.deployment.id);
    };
    for (let call = 0; call < 4; call += 1) await send();
    // Equal usage draws the first; after that the one with fewer tokens.
    expect(answered).toEqual(["a", "b", "a", "b"]);
    // Both have used their rpm of 2 this minute: 429 until the next minute starts (50 s away).
    const refused = await router.send({ ...request("g"), preferred: router.pick("g") }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(GatewayError);
    expect(refused).toMatchObject({ status: 429, message: expect.stringContaining("Try again in 50 seconds") });
    now += 50_000;
    await send();
    expect(answered.at(-1)).toBe("a");
  });

  it("usage-based-routing-v2 leaves a deployment out once it has used its tpm this minute", async () => {
    const settings = limited("usage-based-routing-v2", "tpm: 100", "tpm: 1000000");
    const router = new Router(settings.deployments, settings.router, providers, { random: () => 0 });
    const a = settings.deployments[0];
    if (!a) throw new Error("no deployment");
    router.recordTokens(a, 100);
    expect((await router.send({ ...request("g"), preferred: router.pick("g") })).deployment.id).toBe("b");
    // b now has more tokens this minute than a, but a has used its tpm: b still gets the request.
    router.recordTokens(settings.deployments[1] ?? a, 500);
    expect(router.pick("g")?.id).toBe("b");
  });

  it("minute usage shared between instances: what this one counted is reported once, and its view becomes every instance's total plus what it counted since", () => {
    const settings = limited("usage-based-routing-v2", "rpm: 3", "rpm: 100");
    let now = Date.UTC(2026, 10, 24, 12, 0, 10);
    const minute = Math.floor(now / 60_000);
    const router = new Router(settings.deployments, settings.router, providers, { now: () => now, random: () => 0 });
    const [a, b] = settings.deployments;
    if (!a || !b) throw new Error("no deployments");
    expect(router.usageSharedDeployments).toEqual(["a", "b"]);
    router.recordTokens(b, 1000);
    router.recordTokens(a, 20);
    const taken = () => router.takeUsage().sort((x, y) => x.deploymentId.localeCompare(y.deploymentId));
    expect(taken()).toEqual([
      { deploymentId: "a", minute, requests: 0, tokens: 20 },
      { deploymentId: "b", minute, requests: 0, tokens: 1000 },
    ]);
    expect(taken()).toEqual([]);
    expect(router.pick("g")?.id).toBe("a");
    // Counted after the take, then every instance's total for "a": 3 requests, its rpm.
    router.recordTokens(a, 5);
    router.adoptUsage({ deploymentId: "a", minute, requests: 3, tokens: 40 });
    expect(router.pick("g")?.id).toBe("b");
    expect(taken()).toEqual([{ deploymentId: "a", minute, requests: 0, tokens: 5 }]);
    // Counts a failed sync gives back are reported again.
    router.giveBackUsage([{ deploymentId: "a", minute, requests: 0, tokens: 5 }]);
    expect(taken()).toEqual([{ deploymentId: "a", minute, requests: 0, tokens: 5 }]);
    // A new minute: the old one's totals are not adopted, and "a" takes requests again.
    now += 60_000;
    router.adoptUsage({ deploymentId: "a", minute, requests: 3, tokens: 40 });
    expect(router.pick("g")?.id).toBe("a");
  });

  it("usage is shared for every deployment usage-based routing chooses between, for those with an rpm or tpm under cost-based routing, and for none otherwise", () => {
    const shared = (strategy: string, a: string) => {
      const settings = limited(strategy, a, "weight: 1");
      return new Router(settings.deployments, settings.router, providers).usageSharedDeployments;
    };
    expect(shared("usage-based-routing-v2", "weight: 1")).toEqual(["a", "b"]);
    expect(shared("cost-based-routing", "rpm: 3")).toEqual(["a"]);
    expect(shared("simple-shuffle", "rpm: 3")).toEqual([]);
  });

  it("cost-based-routing sends requests to the cheapest deployment until it has used its rpm, then to the next", async () => {
    const settings = limited("cost-based-routing", "rpm: 5", "rpm: 2");
    const router = new Router(settings.deployments, settings.router, providers, { random: () => 0 });
    const answered: string[] = [];
    for (let call = 0; call < 4; call += 1) answered.push((await router.send({ ...request("g"), preferred: router.pick("g") })).deployment.id);
    expect(answered).toEqual(["b", "b", "a", "a"]);
  });
});

describe("cooldowns, against a local OpenAI-compatible upstream", () => {
  let upstream: FakeUpstream;
  let providers: Providers;
  beforeAll(async () => {
    upstream = await startUpstream();
    providers = createProviders();
  });
  afterAll(async () => {
    await closeProviders(providers);
    await upstream.close();
  });

  const calls = (model: string) =>
    upstream.requests.filter((entry) => entry.body.model === model).length;

  it("a 429 takes a deployment out of the rotation for cooldown_time, then it is tried again", async () => {
    const settings = settingsOf(`model_list:
  - { model_name: g, litellm_params: { model: openai/fail-429, api_base: "${upstream.url}" }, model_info: { id: bad, input_cost_per_token: 0, output_cost_per_token: 0 } }
  - { model_name: g, litellm_params: { model: openai/good, api_base: "${upstream.url}" }, model_info: { id: good, input_cost_per_token: 0, output_cost_per_token: 0 } }
router_settings: { num_retries: 1, cooldown_time: 10 }
`);
    let now = 1_000_000;
    // random 0 always draws the first deployment: the failing one, whenever it is in the rotation.
    const router = new Router(settings.deployments, settings.router, providers, {
      now: () => now,
      random: () => 0,
    });
    const first = await router.send(request("g"));
    expect(first).toMatchObject({ retries: 1, fallbacks: 0, deployment: { id: "good" } });
    expect(router.cooling("g")).toEqual(["bad"]);
    const failed = calls("fail-429");
    const second = await router.send({ ...request("g"), preferred: router.pick("g") });
    expect(second).toMatchObject({ retries: 0, deployment: { id: "good" } });
    expect(calls("fail-429")).toBe(failed);
    now += 10_001;
    expect(router.cooling("g")).toEqual([]);
    await router.send({ ...request("g"), preferred: router.pick("g") });
    expect(calls("fail-429")).toBe(failed + 1);
  });

  it("a cooldown is told to listeners, and one told by another instance takes the deployment out here, capped at cooldown_time", async () => {
    const settings = settingsOf(`model_list:
  - { model_name: g, litellm_params: { model: openai/fail-429, api_base: "${upstream.url}" }, model_info: { id: bad, input_cost_per_token: 0, output_cost_per_token: 0 } }
  - { model_name: g, litellm_params: { model: openai/good, api_base: "${upstream.url}" }, model_info: { id: good, input_cost_per_token: 0, output_cost_per_token: 0 } }
  - { model_name: solo, litellm_params: { model: openai/good, api_base: "${upstream.url}" }, model_info: { id: solo, input_cost_per_token: 0, output_cost_per_token: 0 } }
router_settings: { num_retries: 1, cooldown_time: 10 }
`);
    let now = 1_000_000;
    const options = { now: () => now, random: () => 0 };
    const seen = new Router(settings.deployments, settings.router, providers, options);
    const told: [string, number][] = [];
    seen.onCooldown((id, ms) => told.push([id, ms]));
    await seen.send(request("g"));
    expect(told).toEqual([["bad", 10_000]]);

    const other = new Router(settings.deployments, settings.router, providers, options);
    other.coolDown("bad", 60_000);
    other.coolDown("solo", 10_000);
    other.coolDown("not-in-this-config", 10_000);
    expect(other.cooling("g")).toEqual(["bad"]);
    expect(other.cooling("solo")).toEqual([]);
    const failed = calls("fail-429");
    expect(await other.send({ ...request("g"), preferred: other.pick("g") })).toMatchObject({ retries: 0, deployment: { id: "good" } });
    expect(calls("fail-429")).toBe(failed);
    now += 10_001;
    expect(other.cooling("g")).toEqual([]);
  });

  it("the only deployment of a group never cools down", async () => {
    const settings = settingsOf(`model_list:
  - { model_name: solo, litellm_params: { model: openai/fail-429, api_base: "${upstream.url}" }, model_info: { input_cost_per_token: 0, output_cost_per_token: 0 } }
router_settings: { allowed_fails: 0 }
`);
    const router = new Router(settings.deployments, settings.router, providers);
    await expect(router.send(request("solo"))).rejects.toMatchObject({ status: 429 });
    expect(router.cooling("solo")).toEqual([]);
  });

  it("the health probe of an unreachable deployment reports the failure without its API key", async () => {
    const secret = "sk-upstream-secret-123456";
    const settings = settingsOf(`model_list:
  - { model_name: down, litellm_params: { model: openai/unauthorized, api_base: "${upstream.url}", api_key: ${secret} }, model_info: { input_cost_per_token: 0, output_cost_per_token: 0 } }
`);
    const router = new Router(settings.deployments, settings.router, providers);
    const [deployment] = settings.deployments;
    if (!deployment) throw new Error("no deployment");
    const health = await router.probe(deployment, 5_000);
    expect(health.healthy).toBe(false);
    expect(health.error).toContain("bad upstream key");
    expect(redact(`echo ${secret}`, secret)).toBe("echo [redacted]");
  });
});
