import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultTestRedisUrl, redisAnswers, startInstances, type Instances } from "./support/instances";
import { inputCostPerToken, outputCostPerToken } from "./support/upstream";

/**
 * Routing strategies on two gateway processes sharing one Redis: under usage-based-routing-v2 a
 * deployment's rpm holds for both together, because they share its minute usage; least-busy
 * counts both instances' calls in flight, and latency-based routing both instances' answer times.
 */

const redisUrl = defaultTestRedisUrl;

const spreadGroup = (upstreamUrl: string) =>
  [
    ["small-a", "rpm: 2"],
    ["large-b", "rpm: 1000"],
  ]
    .map(
      ([upstream, limit]) => `
  - model_name: spread
    litellm_params: { model: openai/${upstream}, api_base: "${upstreamUrl}", api_key: os.environ/TEST_UPSTREAM_KEY, ${limit} }
    model_info: { input_cost_per_token: ${inputCostPerToken}, output_cost_per_token: ${outputCostPerToken} }`,
    )
    .join("");

const available = await redisAnswers(redisUrl);
if (!available) console.warn(`[gateway] no Redis answers at ${redisUrl}: the shared routing tests are skipped`);

describe.skipIf(!available)("usage-based routing on two instances sharing one Redis", () => {
  let cluster: Instances;

  beforeAll(async () => {
    cluster = await startInstances({ redisUrl, models: spreadGroup, extra: "router_settings: { routing_strategy: usage-based-routing-v2 }" });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it("a deployment that used its rpm through one instance gets no more requests through the other", async () => {
    const [first, second] = cluster.gateways;
    if (!first || !second) throw new Error("two gateways expected");
    // The counts are per UTC minute: start early in one, so the test does not straddle two.
    const secondOfMinute = new Date().getUTCSeconds();
    if (secondOfMinute > 40) await new Promise((resolve) => setTimeout(resolve, (61 - secondOfMinute) * 1000));
    const { key } = await cluster.newKey({});
    const toSmall = () => cluster.upstream.requests.filter((request) => request.body.model === "small-a").length;
    for (let call = 0; call < 30 && toSmall() < 2; call += 1) expect((await cluster.chat(first, key, "spread")).status).toBe(200);
    expect(toSmall()).toBe(2);
    // A few of the instances' 200 ms syncs.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    // Without the shared usage, the second instance (which has sent small nothing) would draw it half the time.
    for (let call = 0; call < 10; call += 1) expect((await cluster.chat(second, key, "spread")).status).toBe(200);
    expect(toSmall()).toBe(2);
  });
});

/** Two deployments of one model: `slow` (an upstream model name of the fake) and the quick `gpt-test`. */
const pairGroup = (slow: string, extra = "") => (upstreamUrl: string) =>
  [slow, "gpt-test"]
    .map(
      (upstream) => `
  - model_name: pair
    litellm_params: { model: openai/${upstream}, api_base: "${upstreamUrl}", api_key: os.environ/TEST_UPSTREAM_KEY${extra} }
    model_info: { input_cost_per_token: ${inputCostPerToken}, output_cost_per_token: ${outputCostPerToken} }`,
    )
    .join("");

describe.skipIf(!available)("least-busy routing on two instances sharing one Redis", () => {
  let cluster: Instances;

  beforeAll(async () => {
    cluster = await startInstances({ redisUrl, models: pairGroup("hang", ", timeout: 600"), extra: "router_settings: { routing_strategy: least-busy }" });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it("a deployment busy with one instance's calls is not chosen by the other", async () => {
    const [first, second] = cluster.gateways;
    if (!first || !second) throw new Error("two gateways expected");
    const { key } = await cluster.newKey({});
    const hung = () => cluster.upstream.requests.filter((request) => request.body.model === "hang").length;
    // Calls through the first instance until one hangs on `hang`; it stays in flight there.
    const leaving = new AbortController();
    const held = [];
    for (let call = 0; call < 20 && hung() === 0; call += 1) {
      held.push(cluster.chat(first, key, "pair", leaving.signal).catch(() => undefined));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(hung()).toBe(1);
    try {
      // A few of the instances' 200 ms syncs.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      // Without the shared count, the second instance (with nothing in flight) would draw `hang` half the time.
      for (let call = 0; call < 12; call += 1) {
        expect((await cluster.chat(second, key, "pair", AbortSignal.timeout(5_000))).status).toBe(200);
      }
      expect(hung()).toBe(1);
    } finally {
      leaving.abort();
      await Promise.all(held);
    }
  });
});

describe.skipIf(!available)("latency-based routing on two instances sharing one Redis", () => {
  let cluster: Instances;

  beforeAll(async () => {
    cluster = await startInstances({ redisUrl, models: pairGroup("delay-150"), extra: "router_settings: { routing_strategy: latency-based-routing }" });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it("an instance that has measured nothing yet goes by the other instance's answer times", async () => {
    const [first, second] = cluster.gateways;
    if (!first || !second) throw new Error("two gateways expected");
    const { key } = await cluster.newKey({});
    const slow = () => cluster.upstream.requests.filter((request) => request.body.model === "delay-150").length;
    // The first instance tries each deployment (one without an answer yet counts as fastest).
    for (let call = 0; call < 4; call += 1) expect((await cluster.chat(first, key, "pair")).status).toBe(200);
    expect(slow()).toBeGreaterThanOrEqual(1);
    const before = slow();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    // Alone, the second instance would try the slow deployment within its first two calls to measure it.
    for (let call = 0; call < 6; call += 1) expect((await cluster.chat(second, key, "pair")).status).toBe(200);
    expect(slow()).toBe(before);
  });
});
