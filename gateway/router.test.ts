import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stayingCaller } from "./caller";
import { startUpstream, type FakeUpstream } from "../test/gateway/support/upstream";
import { parseConfigText, resolveSettings, type GatewaySettings } from "./config";
import { GatewayError } from "./errors";
import { closeProviders, createProviders, type Providers } from "./providers";
import { UpstreamError } from "./providers/types";
import { classifyFailure, lowestOrder, policyRetries, redact, Router, weightedPick } from "./router";

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

/** A local OpenAI-compatible upstream and the providers, for the describe block that calls this. */
function localUpstream(): { upstream: FakeUpstream; providers: Providers } {
  const local = {} as { upstream: FakeUpstream; providers: Providers };
  beforeAll(async () => {
    local.upstream = await startUpstream();
    local.providers = createProviders();
  });
  afterAll(async () => {
    await closeProviders(local.providers);
    await local.upstream.close();
  });
  return local;
}

describe("cooldowns, against a local OpenAI-compatible upstream", () => {
  const local = localUpstream();

  const calls = (model: string) =>
    local.upstream.requests.filter((entry) => entry.body.model === model).length;

  it("a 429 takes a deployment out of the rotation for cooldown_time, then it is tried again", async () => {
    const settings = settingsOf(`model_list:
  - { model_name: g, litellm_params: { model: openai/fail-429, api_base: "${local.upstream.url}" }, model_info: { id: bad, input_cost_per_token: 0, output_cost_per_token: 0 } }
  - { model_name: g, litellm_params: { model: openai/good, api_base: "${local.upstream.url}" }, model_info: { id: good, input_cost_per_token: 0, output_cost_per_token: 0 } }
router_settings: { num_retries: 1, cooldown_time: 10 }
`);
    let now = 1_000_000;
    // random 0 always draws the first deployment: the failing one, whenever it is in the rotation.
    const router = new Router(settings.deployments, settings.router, local.providers, {
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
  - { model_name: g, litellm_params: { model: openai/fail-429, api_base: "${local.upstream.url}" }, model_info: { id: bad, input_cost_per_token: 0, output_cost_per_token: 0 } }
  - { model_name: g, litellm_params: { model: openai/good, api_base: "${local.upstream.url}" }, model_info: { id: good, input_cost_per_token: 0, output_cost_per_token: 0 } }
  - { model_name: solo, litellm_params: { model: openai/good, api_base: "${local.upstream.url}" }, model_info: { id: solo, input_cost_per_token: 0, output_cost_per_token: 0 } }
router_settings: { num_retries: 1, cooldown_time: 10 }
`);
    let now = 1_000_000;
    const options = { now: () => now, random: () => 0 };
    const seen = new Router(settings.deployments, settings.router, local.providers, options);
    const told: [string, number][] = [];
    seen.onCooldown((id, ms) => told.push([id, ms]));
    await seen.send(request("g"));
    expect(told).toEqual([["bad", 10_000]]);

    const other = new Router(settings.deployments, settings.router, local.providers, options);
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
  - { model_name: solo, litellm_params: { model: openai/fail-429, api_base: "${local.upstream.url}" }, model_info: { input_cost_per_token: 0, output_cost_per_token: 0 } }
router_settings: { allowed_fails: 0 }
`);
    const router = new Router(settings.deployments, settings.router, local.providers);
    await expect(router.send(request("solo"))).rejects.toMatchObject({ status: 429 });
    expect(router.cooling("solo")).toEqual([]);
  });

  it("the health probe of an unreachable deployment reports the failure without its API key", async () => {
    const secret = "sk-upstream-secret-123456";
    const settings = settingsOf(`model_list:
  - { model_name: down, litellm_params: { model: openai/unauthorized, api_base: "${local.upstream.url}", api_key: ${secret} }, model_info: { input_cost_per_token: 0, output_cost_per_token: 0 } }
`);
    const router = new Router(settings.deployments, settings.router, local.providers);
    const [deployment] = settings.deployments;
    if (!deployment) throw new Error("no deployment");
    const health = await router.probe(deployment, 5_000);
    expect(health.healthy).toBe(false);
    expect(health.error).toContain("bad upstream key");
    expect(redact(`echo ${secret}`, secret)).toBe("echo [redacted]");
  });
});

describe("order, a deployment's own cooldown_time, and retry policies: settings", () => {
  it("reads order from litellm_params (else model_info) and cooldown_time in seconds", () => {
    const { deployments } = settingsOf(`model_list:
  - { model_name: m, litellm_params: { model: mock/a, order: 1, cooldown_time: 0 }, ${priced} }
  - { model_name: m, litellm_params: { model: mock/b }, model_info: { order: 2, input_cost_per_token: 0, output_cost_per_token: 0 } }
  - { model_name: m, litellm_params: { model: mock/c, cooldown_time: 2.5 }, ${priced} }
`);
    expect(deployments.map(({ order, cooldownMs }) => [order, cooldownMs])).toEqual([
      [1, 0],
      [2, undefined],
      [undefined, 2500],
    ]);
  });

  it("keeps the deployments of the lowest order, or all when none has one", () => {
    const { deployments } = settingsOf(`model_list:
  - { model_name: m, litellm_params: { model: mock/a, order: 2 }, ${priced} }
  - { model_name: m, litellm_params: { model: mock/b }, ${priced} }
  - { model_name: m, litellm_params: { model: mock/c, order: 1 }, ${priced} }
  - { model_name: m, litellm_params: { model: mock/d, order: 1 }, ${priced} }
`);
    expect(lowestOrder(deployments).map((deployment) => deployment.upstreamModel)).toEqual(["c", "d"]);
    expect(lowestOrder(deployments.slice(0, 2)).map((deployment) => deployment.upstreamModel)).toEqual(["a"]);
    expect(lowestOrder(deployments.slice(1, 2)).map((deployment) => deployment.upstreamModel)).toEqual(["b"]);
  });

  it("reads retry_policy and model_group_retry_policy, refusing a misspelt field or a group not in model_list", () => {
    const models = `model_list:\n  - { model_name: m, litellm_params: { model: mock/a }, ${priced} }\n`;
    const { router } = settingsOf(`${models}router_settings:
  retry_policy: { RateLimitErrorRetries: 4, BadRequestErrorRetries: 0 }
  model_group_retry_policy: { m: { TimeoutErrorRetries: 2 } }
`);
    expect(router.retryPolicy).toEqual({ RateLimitErrorRetries: 4, BadRequestErrorRetries: 0 });
    expect(router.groupRetryPolicies.get("m")).toEqual({ TimeoutErrorRetries: 2 });
    expect(() => settingsOf(`${models}router_settings: { retry_policy: { RateLimitErrorRetry: 4 } }`)).toThrow(/retry_policy.*RateLimitErrorRetry/);
    expect(() => settingsOf(`${models}router_settings: { retry_policy: { TimeoutErrorRetries: -1 } }`)).toThrow(/TimeoutErrorRetries/);
    expect(() => settingsOf(`${models}router_settings: { model_group_retry_policy: { nope: { TimeoutErrorRetries: 1 } } }`)).toThrow(
      /model_group_retry_policy: "nope" is not a model_name/,
    );
  });

  const policy = {
    BadRequestErrorRetries: 1,
    AuthenticationErrorRetries: 2,
    TimeoutErrorRetries: 3,
    RateLimitErrorRetries: 4,
    ContentPolicyViolationErrorRetries: 5,
    InternalServerErrorRetries: 6,
  };
  it.each([
    [new UpstreamError("status", "temperature must be at most 2", 400), 1],
    [new UpstreamError("status", "This model's maximum context length is 8192 tokens", 400), 1],
    [new UpstreamError("status", "The response was filtered due to the prompt triggering content management policy", 400), 5],
    [new UpstreamError("status", "bad key", 401), 2],
    [new UpstreamError("timeout", "slow"), 3],
    [new UpstreamError("status", "request timeout", 408), 3],
    [new UpstreamError("status", "gateway timeout", 504), 3],
    [new UpstreamError("status", "busy", 429), 4],
    [new UpstreamError("status", "boom", 500), 6],
    [new UpstreamError("status", "overloaded", 503), undefined],
    [new UpstreamError("status", "forbidden", 403), undefined],
    [new UpstreamError("unreachable", "refused"), undefined],
  ] as const)("%s takes the count of LiteLLM's exception for it: %s", (error, expected) => {
    expect(policyRetries(policy, error)).toBe(expected);
  });

  it("a content-policy refusal counts as a bad request when the policy sets nothing more specific, and nothing is counted without a policy", () => {
    const filtered = new UpstreamError("status", "The response was filtered due to the prompt triggering content management policy", 400);
    expect(policyRetries({ BadRequestErrorRetries: 2 }, filtered)).toBe(2);
    expect(policyRetries(undefined, filtered)).toBeUndefined();
    expect(policyRetries({ RateLimitErrorRetries: 2 }, filtered)).toBeUndefined();
  });
});

describe("order, a deployment's own cooldown_time, and retry policies, against a local OpenAI-compatible upstream", () => {
  const local = localUpstream();

  const calls = (model: string) => local.upstream.requests.filter((entry) => entry.body.model === model).length;
  const deployment = (group: string, model: string, id: string, extra = "") =>
    `  - { model_name: ${group}, litellm_params: { model: openai/${model}, api_base: "${local.upstream.url}"${extra} }, model_info: { id: ${id}, input_cost_per_token: 0, output_cost_per_token: 0 } }\n`;
  // Draws in turn from across [0, 1): every deployment a shuffle could pick comes up.
  const sweep = () => {
    let step = 0;
    return () => ((step += 0.37) % 1);
  };

  it("requests go to the lowest order while it is available, then to the next, and never to a deployment without an order while one has it", () => {
    const settings = settingsOf(`model_list:
${deployment("g", "good", "first-a", ", order: 1")}${deployment("g", "good", "first-b", ", order: 1")}${deployment("g", "good", "second", ", order: 2")}${deployment("g", "good", "unordered")}router_settings: { cooldown_time: 10 }
`);
    let now = 1_000_000;
    const router = new Router(settings.deployments, settings.router, local.providers, { now: () => now, random: sweep() });
    const picks = (count: number) => new Set(Array.from({ length: count }, () => router.pick("g")?.id));
    expect(picks(20)).toEqual(new Set(["first-a", "first-b"]));
    router.coolDown("first-a", 10_000);
    expect(picks(20)).toEqual(new Set(["first-b"]));
    router.coolDown("first-b", 10_000);
    expect(picks(20)).toEqual(new Set(["second"]));
    router.coolDown("second", 10_000);
    expect(picks(20)).toEqual(new Set(["unordered"]));
    now += 10_001;
    expect(picks(20)).toEqual(new Set(["first-a", "first-b"]));
  });

  it("a retry stays with the lowest order while its deployment is in the rotation, and moves to the next order once it cools down", async () => {
    const models = `model_list:
${deployment("g", "fail-500", "primary", ", order: 1")}${deployment("g", "good", "backup", ", order: 2")}`;
    const patient = settingsOf(`${models}router_settings: { num_retries: 2, allowed_fails: 5 }\n`);
    const router = new Router(patient.deployments, patient.router, local.providers, { maxBackoffMs: 1 });
    const before = calls("fail-500");
    await expect(router.send(request("g"))).rejects.toMatchObject({ status: 500 });
    expect(calls("fail-500") - before).toBe(3);

    const quick = settingsOf(`${models}router_settings: { num_retries: 2, allowed_fails: 0 }\n`);
    const cooling = new Router(quick.deployments, quick.router, local.providers, { maxBackoffMs: 1 });
    expect(await cooling.send(request("g"))).toMatchObject({ retries: 1, deployment: { id: "backup" } });
    expect(cooling.cooling("g")).toEqual(["primary"]);
  });

  it("a deployment's own cooldown_time replaces the router's: 0 keeps it in the rotation, 2 takes it out for 2 s and tells listeners so", async () => {
    const settings = settingsOf(`model_list:
${deployment("never", "fail-429", "never-bad", ", cooldown_time: 0")}${deployment("never", "good", "never-good")}${deployment("short", "fail-429", "short-bad", ", cooldown_time: 2")}${deployment("short", "good", "short-good")}router_settings: { num_retries: 1, cooldown_time: 60 }
`);
    let now = 1_000_000;
    const router = new Router(settings.deployments, settings.router, local.providers, { now: () => now, random: () => 0 });
    const told: [string, number][] = [];
    router.onCooldown((id, ms) => told.push([id, ms]));
    expect(await router.send(request("never"))).toMatchObject({ retries: 1, deployment: { id: "never-good" } });
    expect(router.cooling("never")).toEqual([]);
    expect(await router.send(request("short"))).toMatchObject({ retries: 1, deployment: { id: "short-good" } });
    expect(router.cooling("short")).toEqual(["short-bad"]);
    expect(told).toEqual([["short-bad", 2_000]]);
    // Another instance's longer cooldown is capped at the deployment's own.
    router.coolDown("never-bad", 60_000);
    expect(router.cooling("never")).toEqual([]);
    now += 2_001;
    expect(router.cooling("short")).toEqual([]);
  });

  it("retry_policy retries a bad request it names, and model_group_retry_policy replaces it for its group", async () => {
    const settings = settingsOf(`model_list:
${deployment("strict", "bad-request", "strict-only")}${deployment("lenient", "bad-request", "lenient-only")}router_settings:
  num_retries: 5
  retry_policy: { BadRequestErrorRetries: 2 }
  model_group_retry_policy: { lenient: { BadRequestErrorRetries: 0 } }
`);
    const router = new Router(settings.deployments, settings.router, local.providers, { maxBackoffMs: 1 });
    let before = calls("bad-request");
    await expect(router.send(request("strict"))).rejects.toMatchObject({ status: 400 });
    expect(calls("bad-request") - before).toBe(3);
    before = calls("bad-request");
    await expect(router.send(request("lenient"))).rejects.toMatchObject({ status: 400 });
    expect(calls("bad-request") - before).toBe(1);
  });

  it("RateLimitErrorRetries 0 leaves a 429 unretried whatever num_retries says, and failures the policy does not name keep num_retries", async () => {
    const settings = settingsOf(`model_list:
${deployment("limited", "fail-429", "limited-bad")}${deployment("limited", "good", "limited-good")}${deployment("overloaded", "fail-503", "overloaded-bad")}${deployment("overloaded", "good", "overloaded-good")}router_settings:
  num_retries: 3
  retry_policy: { RateLimitErrorRetries: 0 }
`);
    const router = new Router(settings.deployments, settings.router, local.providers, { random: () => 0, maxBackoffMs: 1 });
    await expect(router.send(request("limited"))).rejects.toMatchObject({ status: 429 });
    expect(await router.send(request("overloaded"))).toMatchObject({ retries: 1, deployment: { id: "overloaded-good" } });
  });
});
