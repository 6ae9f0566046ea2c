import { describe, expect, it } from "vitest";
import { chatBody, errorOf, withGateway } from "./support/harness";

const h = withGateway();

const chat = (key: string) => h.call("/v1/chat/completions", { key, body: chatBody() });

describe("rate limits answer 429 with retry-after and x-ratelimit headers", () => {
  it("rpm 2: the third call in the minute is refused", async () => {
    const { key, token } = await h.newKey({ rpm_limit: 2 });
    const first = await chat(key);
    expect(first.status).toBe(200);
    expect(first.headers.get("x-ratelimit-api_key-limit-requests")).toBe("2");
    expect(first.headers.get("x-ratelimit-api_key-remaining-requests")).toBe("1");
    expect((await chat(key)).status).toBe(200);
    const third = await chat(key);
    expect(third.status).toBe(429);
    const retryAfter = Number(third.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(third.headers.get("x-ratelimit-api_key-remaining-requests")).toBe("0");
    expect(third.headers.get("rate_limit_type")).toBe("requests");
    expect(errorOf(third.body)).toMatchObject({ type: "rate_limit_error", code: "429" });
    expect(errorOf(third.body).message).toMatch(
      new RegExp(`^Rate limit exceeded for api_key: ${token}\\. Limit type: requests\\. Current limit: 2, Remaining: 0\\. Limit resets at: `),
    );
  });

  it("the official client sees the 429 as a RateLimitError", async () => {
    const { key } = await h.newKey({ rpm_limit: 0 });
    await expect(h.client(key).chat.completions.create(chatBody())).rejects.toMatchObject({ status: 429 });
  });

  it("tpm: once a minute's tokens pass the limit the next request is refused", async () => {
    const { key } = await h.newKey({ tpm_limit: 40 });
    expect((await chat(key)).status).toBe(200);
    expect((await chat(key)).status).toBe(200);
    const refused = await chat(key);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("rate_limit_type")).toBe("tokens");
  });

  it("a team's rpm limit is shared by all of the team's keys", async () => {
    const team = await h.admin("/team/new", { rpm_limit: 1 });
    const teamId = (team.body as { team_id: string }).team_id;
    const first = await h.newKey({ team_id: teamId });
    const second = await h.newKey({ team_id: teamId });
    expect((await chat(first.key)).status).toBe(200);
    const refused = await chat(second.key);
    expect(refused.status).toBe(429);
    expect(errorOf(refused.body).message).toContain(`Rate limit exceeded for team: ${teamId}`);
  });

  it("a request refused for its rate limit costs nothing and reserves nothing", async () => {
    const { key } = await h.newKey({ rpm_limit: 1, max_budget: 1 });
    expect((await chat(key)).status).toBe(200);
    const before = ((await h.call("/key/info", { key })).body as { info: { spend: number } }).info.spend;
    expect((await chat(key)).status).toBe(429);
    const after = ((await h.call("/key/info", { key })).body as { info: { spend: number } }).info.spend;
    expect(after).toBe(before);
  });
});

describe("changed limits and access apply to a key's very next request", () => {
  it("an rpm_limit lowered through /key/update on a key in use", async () => {
    const { key, token } = await h.newKey({ rpm_limit: 100 });
    expect((await chat(key)).status).toBe(200);
    expect((await h.admin("/key/update", { key: token, rpm_limit: 1 })).status).toBe(200);
    const refused = await chat(key);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("x-ratelimit-api_key-limit-requests")).toBe("1");
  });

  it("a team rpm_limit set through /team/update on a team whose key is in use", async () => {
    const team = await h.admin("/team/new", {});
    const teamId = (team.body as { team_id: string }).team_id;
    const { key } = await h.newKey({ team_id: teamId });
    expect((await chat(key)).status).toBe(200);
    expect((await h.admin("/team/update", { team_id: teamId, rpm_limit: 1 })).status).toBe(200);
    // Requests count from when a limit exists (as LiteLLM's limiter): one more passes.
    const counted = await chat(key);
    expect(counted.status).toBe(200);
    expect(counted.headers.get("x-ratelimit-team-limit-requests")).toBe("1");
    const refused = await chat(key);
    expect(refused.status).toBe(429);
    expect(errorOf(refused.body).message).toContain(`Rate limit exceeded for team: ${teamId}`);
  });

  it("a model list narrowed through /key/update on a key in use", async () => {
    const { key, token } = await h.newKey({});
    expect((await chat(key)).status).toBe(200);
    expect((await h.admin("/key/update", { key: token, models: ["no-such-model-for-this-key"] })).status).toBe(200);
    expect((await chat(key)).status).toBe(403);
  });
});
