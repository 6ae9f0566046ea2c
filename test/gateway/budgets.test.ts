import { describe, expect, it } from "vitest";
import { waitFor } from "./support/gateway";
import { chatBody, errorOf, withGateway } from "./support/harness";
import { chatCost } from "./support/upstream";

const h = withGateway();

async function chat(key: string, model = "gpt-test") {
  return h.call("/v1/chat/completions", { key, body: chatBody(model, { max_tokens: 20 }) });
}

async function spendOf(key: string): Promise<number> {
  return ((await h.call("/key/info", { key })).body as { info: { spend: number } }).info.spend;
}

describe("budgets are enforced with 402 budget_exceeded", () => {
  it("a key's budget exhausted by real requests refuses the next one, naming the key", async () => {
    const { key } = await h.newKey({ key_alias: "three-calls", max_budget: 3 * chatCost });
    for (let call = 0; call < 3; call += 1) expect((await chat(key)).status).toBe(200);
    const refused = await chat(key);
    expect(refused.status).toBe(402);
    const error = errorOf(refused.body);
    expect(error).toMatchObject({ type: "budget_exceeded", code: "402", param: null });
    expect(error.message).toMatch(/^Budget has been exceeded! Key=three-calls Current cost: /);
    expect(await spendOf(key)).toBeCloseTo(3 * chatCost, 12);
  });

  it("the official client sees the 402 as an APIError with the budget message", async () => {
    const { key } = await h.newKey({ max_budget: 0 });
    await expect(h.client(key).chat.completions.create(chatBody())).rejects.toMatchObject({
      status: 402,
      type: "budget_exceeded",
    });
  });

  it("a user's budget is shared by all their keys without a team, and names the user", async () => {
    const userId = `budget-user-${Date.now()}`;
    const user = await h.admin("/user/new", { user_id: userId, max_budget: 2 * chatCost, auto_create_key: false });
    expect(user.status).toBe(200);
    const first = await h.newKey({ user_id: userId });
    const second = await h.newKey({ user_id: userId });
    expect((await chat(first.key)).status).toBe(200);
    expect((await chat(second.key)).status).toBe(200);
    const refused = await chat(first.key);
    expect(refused.status).toBe(402);
    expect(errorOf(refused.body).message).toMatch(new RegExp(`^Budget has been exceeded! User=${userId} `));
    const info = await h.call("/user/info", { key: second.key });
    expect((info.body as { spend: number }).spend).toBeCloseTo(2 * chatCost, 12);
  });

  it("a team key draws on the team's budget, and the refusal names the team", async () => {
    const team = await h.admin("/team/new", { max_budget: chatCost });
    const teamId = (team.body as { team_id: string }).team_id;
    const { key } = await h.newKey({ team_id: teamId });
    expect((await chat(key)).status).toBe(200);
    const refused = await chat(key);
    expect(refused.status).toBe(402);
    expect(errorOf(refused.body).message).toMatch(new RegExp(`^Budget has been exceeded! Team=${teamId} `));
    const info = await h.admin(`/team/info?team_id=${teamId}`);
    expect((info.body as { team_info: { spend: number } }).team_info.spend).toBeCloseTo(chatCost, 12);
  });

  it("a member's max_budget_in_team caps them inside a team with room to spare, naming user and team", async () => {
    const team = await h.admin("/team/new", { max_budget: 100 * chatCost });
    const teamId = (team.body as { team_id: string }).team_id;
    const userId = `member-${Date.now()}`;
    const added = await h.admin("/team/member_add", {
      team_id: teamId,
      member: { role: "user", user_id: userId },
      max_budget_in_team: 2 * chatCost,
    });
    expect(added.status).toBe(200);
    const { key } = await h.newKey({ team_id: teamId, user_id: userId });
    expect((await chat(key)).status).toBe(200);
    expect((await chat(key)).status).toBe(200);
    const refused = await chat(key);
    expect(refused.status).toBe(402);
    expect(errorOf(refused.body).message).toMatch(new RegExp(`^Budget has been exceeded! User=${userId} in Team=${teamId} `));
    const info = await h.admin(`/team/info?team_id=${teamId}`);
    const membership = (info.body as { team_memberships: { user_id: string; spend: number }[] }).team_memberships.find(
      (row) => row.user_id === userId,
    );
    expect(membership?.spend).toBeCloseTo(2 * chatCost, 12);
    // Another member of the same team still has the team's budget to use.
    const other = await h.newKey({ team_id: teamId });
    expect((await chat(other.key)).status).toBe(200);
  });

  it("raising the budget through /key/update lets the key through again at once", async () => {
    const { key, token } = await h.newKey({ max_budget: chatCost });
    expect((await chat(key)).status).toBe(200);
    expect((await chat(key)).status).toBe(402);
    expect((await h.admin("/key/update", { key: token, max_budget: 10 * chatCost })).status).toBe(200);
    expect((await chat(key)).status).toBe(200);
  });

  it("an over-budget key can still read its own info and the model list", async () => {
    const { key } = await h.newKey({ max_budget: 0 });
    expect((await h.call("/key/info", { key })).status).toBe(200);
    expect((await h.call("/v1/models", { key })).status).toBe(200);
  });

  it("a budget with a budget_duration resets to zero spend when its period ends", async () => {
    const { key } = await h.newKey({ max_budget: chatCost, budget_duration: "1s" });
    expect((await chat(key)).status).toBe(200);
    // The period is calendar-aligned to the next whole second; wait for the reset, not a fixed time.
    const again = await waitFor(async () => {
      const attempt = await chat(key);
      return attempt.status === 200 ? attempt : undefined;
    }, 10_000, "the budget to reset");
    expect(again.status).toBe(200);
    const info = (await h.call("/key/info", { key })).body as { info: { budget_reset_at: string; budget_duration: string } };
    expect(info.info.budget_duration).toBe("1s");
    expect(Date.parse(info.info.budget_reset_at)).toBeGreaterThan(Date.now() - 2_000);
  });
});

describe("budgets hold under concurrency", () => {
  it("200 concurrent requests on a key whose budget allows 20: at most 21 succeed, the rest get 402, spend stays within one request of the budget", async () => {
    const budget = 20 * chatCost;
    const { key } = await h.newKey({ max_budget: budget });
    const client = h.client(key);
    const results = await Promise.allSettled(
      Array.from({ length: 200 }, () => client.chat.completions.create(chatBody("gpt-test", { max_tokens: 20 }))),
    );
    const succeeded = results.filter((result) => result.status === "fulfilled").length;
    const refusals = results.flatMap((result) => (result.status === "rejected" ? [result.reason as { status?: number; type?: string }] : []));
    expect(succeeded).toBeGreaterThan(0);
    expect(succeeded).toBeLessThanOrEqual(21);
    expect(refusals.every((reason) => reason.status === 402 && reason.type === "budget_exceeded")).toBe(true);
    expect(succeeded + refusals.length).toBe(200);
    const spend = await spendOf(key);
    expect(spend).toBeCloseTo(succeeded * chatCost, 12);
    expect(spend).toBeLessThanOrEqual(budget + chatCost + 1e-12);
    // Sequential requests then use what concurrency left, and stop at the budget.
    let more = 0;
    while ((await chat(key)).status === 200) more += 1;
    expect(succeeded + more).toBeLessThanOrEqual(21);
    expect(await spendOf(key)).toBeLessThanOrEqual(budget + chatCost + 1e-12);
  });
});
