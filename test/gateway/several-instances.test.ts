import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nanosPerDollar } from "../../gateway/spend";
import { waitFor } from "./support/gateway";
import { errorOf } from "./support/harness";
import { defaultTestRedisUrl, redisAnswers, sharingOf, startInstances, type Instances } from "./support/instances";
import { chatCost, inputCostPerToken, outputCostPerToken } from "./support/upstream";

/**
 * Two gateway processes, one Redis (TEST_REDIS_URL, default the local one; keys under a prefix
 * of their own) and one Postgres: limits, budgets, spend and revocations hold across both.
 */

const redisUrl = defaultTestRedisUrl;

// Two deployments of one model with no ids in the config (each instance derives the same ones):
// one that answers 429 and is drawn first whenever it is in the rotation, one that answers.
const coolingGroup = (upstreamUrl: string) =>
  ["fail-429", "cool-good"]
    .map(
      (upstream, index) => `
  - model_name: cooling
    litellm_params: { model: openai/${upstream}, api_base: "${upstreamUrl}", api_key: os.environ/TEST_UPSTREAM_KEY, weight: ${index === 0 ? 1_000_000 : 1} }
    model_info: { input_cost_per_token: ${inputCostPerToken}, output_cost_per_token: ${outputCostPerToken} }`,
    )
    .join("");
const available = await redisAnswers(redisUrl);
if (!available) console.warn(`[gateway] no Redis answers at ${redisUrl}: the several-instances tests are skipped`);

describe.skipIf(!available)("two gateway instances sharing one Redis and one Postgres", () => {
  let cluster: Instances;
  const gateway = (index: number) => {
    const found = cluster.gateways[index % cluster.gateways.length];
    if (!found) throw new Error("no gateway");
    return found;
  };

  // An answer is settled just after it is sent: this waits until the shared total has the
  // given number of chats, so the last one's reservation no longer holds budget.
  const sharedSpendReaches = (token: string, chats: number) =>
    waitFor(
      async () =>
        Number(await cluster.redis.hget(`${cluster.prefix}acct:key:${token}`, "spent")) === Math.round(chats * chatCost * nanosPerDollar)
          ? true
          : undefined,
      5_000,
      "the shared total to include the last answer",
    );

  beforeAll(async () => {
    cluster = await startInstances({ redisUrl, models: coolingGroup, extra: "router_settings: { cooldown_time: 60, num_retries: 1 }" });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it("both instances report that limits are shared", async () => {
    expect(await sharingOf(gateway(0))).toBe("connected");
    expect(await sharingOf(gateway(1))).toBe("connected");
  });

  it("a key with rpm 10 gets exactly 10 successes in its minute across both instances", async () => {
    const { key } = await cluster.newKey({ rpm_limit: 10 });
    const statuses: number[] = [];
    for (let call = 0; call < 30; call += 1) statuses.push((await cluster.chat(gateway(call), key)).status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(10);
    expect(statuses.filter((status) => status === 429)).toHaveLength(20);
    // The first ten succeed whichever instance served them: the window is one, not one per instance.
    expect(statuses.slice(0, 10).every((status) => status === 200)).toBe(true);
  });

  it("200 concurrent requests on a 20-request budget overspend by at most one request's cost per instance, and spend is counted once", async () => {
    const budget = 20 * chatCost;
    const { key, token } = await cluster.newKey({ max_budget: budget });
    const results = await Promise.all(Array.from({ length: 200 }, (_, call) => cluster.chat(gateway(call), key)));
    const succeeded = results.filter((result) => result.status === 200).length;
    const refused = results.filter((result) => result.status === 402);
    expect(succeeded + refused.length).toBe(200);
    expect(errorOf(refused[0]?.body).type).toBe("budget_exceeded");
    // The stated bound: spend ≤ budget + one request's cost per instance (2 here).
    expect(succeeded * chatCost).toBeLessThanOrEqual(budget + 2 * chatCost + 1e-12);
    expect(succeeded).toBeGreaterThanOrEqual(10);
    // Redis holds the shared total; Postgres gets each instance's own part exactly once.
    // (Settlement runs after the answer is sent, so the last ones may still be on their way.)
    const expectedNanos = Math.round(succeeded * chatCost * nanosPerDollar);
    await waitFor(
      async () => (Number(await cluster.redis.hget(`${cluster.prefix}acct:key:${token}`, "spent")) === expectedNanos ? true : undefined),
      5_000,
      "the shared total to count every success once",
    );
    await waitFor(
      async () => {
        const [row] = await cluster.sql<{ spend: string }[]>`select spend::text from gateway.keys where token = ${token}`;
        return Number(row?.spend) === Number((succeeded * chatCost).toFixed(9)) ? true : undefined;
      },
      20_000,
      "both instances' spend in Postgres",
    );
    // Worst-case reservations refused some of the burst early; what is left is spent by later
    // requests on either instance, and then both refuse: both see the shared total. Each next
    // request waits until the last is settled: otherwise the last one's reservation, still held,
    // could refuse the next one early, and a request after that one would rightly succeed.
    let later = 0;
    for (let call = 0; call < 10 && (await cluster.chat(gateway(call), key)).status === 200; call += 1) {
      later += 1;
      await sharedSpendReaches(token, succeeded + later);
    }
    expect((succeeded + later) * chatCost).toBeLessThanOrEqual(budget + 2 * chatCost + 1e-12);
    expect((await cluster.chat(gateway(0), key)).status).toBe(402);
    expect((await cluster.chat(gateway(1), key)).status).toBe(402);
  });

  it("tpm counts the tokens used on both instances together", async () => {
    // Each chat uses 30 tokens; the limit refuses once a minute's tokens reach 40.
    const { key } = await cluster.newKey({ tpm_limit: 40 });
    expect((await cluster.chat(gateway(1), key)).status).toBe(200);
    // Tokens are counted after each answer: poll instance A until its window is full…
    await waitFor(async () => ((await cluster.chat(gateway(0), key)).status === 429 ? true : undefined), 10_000, "A to refuse");
    // …and B, which served only 30 tokens itself, refuses too.
    const refused = await cluster.chat(gateway(1), key);
    expect(refused.status).toBe(429);
    expect(errorOf(refused.body).message).toContain("Limit type: tokens");
  });

  it("max_parallel_requests 2 counts requests in flight on both instances together", async () => {
    const { key } = await cluster.newKey({ max_parallel_requests: 2 });
    const stream = (index: number) =>
      fetch(`${gateway(index).publicUrl}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "slow-stream", stream: true, messages: [{ role: "user", content: "Go on" }] }),
      });
    // Two slow streams, one per instance, are in flight (their headers have arrived).
    const first = await stream(0);
    const second = await stream(1);
    expect([first.status, second.status]).toEqual([200, 200]);
    const third = await cluster.chat(gateway(0), key);
    const fourth = await cluster.chat(gateway(1), key);
    expect([third.status, fourth.status]).toEqual([429, 429]);
    expect(errorOf(third.body).message).toContain("Limit type: max_parallel_requests");
    await first.body?.cancel();
    await second.body?.cancel();
    // Once they end, their slots are free again on either instance.
    await waitFor(async () => ((await cluster.chat(gateway(1), key)).status === 200 ? true : undefined), 10_000, "a free slot");
  });

  it("a budget period ends once for both instances, and Postgres gets the new period's spend once", async () => {
    // Periods end at multiples of 10 s. Start early in one, so the budget is spent within it.
    const intoPeriod = Date.now() % 10_000;
    if (intoPeriod > 5_000) await new Promise((resolve) => setTimeout(resolve, 10_100 - intoPeriod));
    const { key, token } = await cluster.newKey({ max_budget: 2 * chatCost, budget_duration: "10s" });
    // Spend the period's budget, one request on each instance. Each waits until the last is
    // settled: its worst-case reservation, still held, would refuse the next one early.
    expect((await cluster.chat(gateway(0), key)).status).toBe(200);
    await sharedSpendReaches(token, 1);
    expect((await cluster.chat(gateway(1), key)).status).toBe(200);
    await sharedSpendReaches(token, 2);
    expect((await cluster.chat(gateway(0), key)).status).toBe(402);
    expect((await cluster.chat(gateway(1), key)).status).toBe(402);
    // The next period starts: the first request to see it passes…
    await waitFor(async () => ((await cluster.chat(gateway(1), key)).status === 200 ? true : undefined), 15_000, "the reset");
    // …and the new period's budget is one, shared: one more request, then both refuse.
    await sharedSpendReaches(token, 1);
    expect((await cluster.chat(gateway(0), key)).status).toBe(200);
    await sharedSpendReaches(token, 2);
    expect((await cluster.chat(gateway(0), key)).status).toBe(402);
    expect((await cluster.chat(gateway(1), key)).status).toBe(402);
    // Postgres: the zero written once by the instance that started the period, plus both requests.
    await waitFor(
      async () => {
        const [row] = await cluster.sql<{ spend: string }[]>`select spend::text from gateway.keys where token = ${token}`;
        if (Number(row?.spend) !== 2 * chatCost) throw new Error(`spend in Postgres is ${row?.spend}`);
        return true;
      },
      10_000,
      "the new period's spend in Postgres",
    );
  });

  it("blocking a key on one instance makes the other refuse it within a second", async () => {
    const { key } = await cluster.newKey({});
    expect((await cluster.chat(gateway(1), key)).status).toBe(200);
    const blocked = await cluster.admin(gateway(0), "/key/block", { key });
    expect(blocked.status).toBe(200);
    const since = Date.now();
    const refusal = await waitFor(
      async () => {
        const result = await cluster.chat(gateway(1), key);
        return result.status === 401 ? result : undefined;
      },
      1_000,
      "the other instance to refuse the blocked key",
    );
    expect(Date.now() - since).toBeLessThan(1_000);
    expect(errorOf(refusal.body).message).toContain("Key is blocked");
  });

  it("deleting a key on one instance makes the other refuse it within a second", async () => {
    const { key } = await cluster.newKey({});
    expect((await cluster.chat(gateway(1), key)).status).toBe(200);
    expect((await cluster.admin(gateway(0), "/key/delete", { keys: [key] })).status).toBe(200);
    await waitFor(
      async () => ((await cluster.chat(gateway(1), key)).status === 401 ? true : undefined),
      1_000,
      "the other instance to refuse the deleted key",
    );
  });

  it("a budget raised on one instance is used by the other within a second", async () => {
    const { key } = await cluster.newKey({ max_budget: chatCost });
    expect((await cluster.chat(gateway(1), key)).status).toBe(200);
    expect((await cluster.chat(gateway(1), key)).status).toBe(402);
    expect((await cluster.admin(gateway(0), "/key/update", { key, max_budget: 10 * chatCost })).status).toBe(200);
    await waitFor(
      async () => ((await cluster.chat(gateway(1), key)).status === 200 ? true : undefined),
      1_000,
      "the other instance to use the raised budget",
    );
  });

  it("a deployment one instance saw fail leaves the rotation on the other too, before it fails there", async () => {
    const { key } = await cluster.newKey({});
    const failures = () => cluster.upstream.requests.filter((request) => request.body.model === "fail-429").length;
    // The failing deployment is drawn first: instance 0 sees its 429, cools it and retries on the other.
    expect((await cluster.chat(gateway(0), key, "cooling")).status).toBe(200);
    expect(failures()).toBe(1);
    await waitFor(
      async () => (gateway(1).output().includes("another gateway instance saw it fail") ? true : undefined),
      2_000,
      "instance 1 to hear of the cooldown",
    );
    // Without the shared cooldown, instance 1 would draw the failing deployment first too.
    for (let call = 0; call < 5; call += 1) expect((await cluster.chat(gateway(1), key, "cooling")).status).toBe(200);
    expect(failures()).toBe(1);

    // An instance started during the cooldown reads it from Redis before its first request.
    const late = await cluster.addGateway();
    await waitFor(
      async () => (late.output().includes("another gateway instance saw it fail") ? true : undefined),
      5_000,
      "the new instance to read the cooldown",
    );
    for (let call = 0; call < 3; call += 1) expect((await cluster.chat(late, key, "cooling")).status).toBe(200);
    expect(failures()).toBe(1);
  });

  it("neither instance logs the Redis URL's secrets or a key", async () => {
    for (const instance of cluster.gateways) {
      expect(instance.output()).toContain("rate limits and budgets are shared through Redis");
      expect(instance.output()).not.toContain("sk-");
    }
  });
});
