import { describe, expect, it } from "vitest";
import { masterKey, waitFor } from "./support/gateway";
import { chatBody, errorOf, withGateway } from "./support/harness";

const h = withGateway();

function expectEnvelope(body: unknown, status: number) {
  const error = errorOf(body);
  expect(error).toBeDefined();
  expect(typeof error.message).toBe("string");
  expect(typeof error.type).toBe("string");
  expect(error.param === null || typeof error.param === "string").toBe(true);
  expect(error.code).toBe(String(status));
  return error;
}

describe("keys are refused with 401 in LiteLLM's words", () => {
  it("a request without a key", async () => {
    const res = await h.call("/v1/chat/completions", { body: chatBody() });
    expect(res.status).toBe(401);
    const error = expectEnvelope(res.body, 401);
    expect(error).toMatchObject({ type: "auth_error", message: "Authentication Error, No api key passed in." });
  });

  it("an Authorization header without Bearer", async () => {
    const res = await fetch(`${h.gateway.publicUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: "sk-nobearer", "content-type": "application/json" },
      body: JSON.stringify(chatBody()),
    });
    expect(res.status).toBe(401);
    expect(expectEnvelope(await res.json(), 401).message).toContain("Malformed API Key passed in");
  });

  it("a key that does not start with sk-", async () => {
    const res = await h.call("/v1/chat/completions", { key: "abcdefghijklmnop", body: chatBody() });
    expect(res.status).toBe(401);
    expect(expectEnvelope(res.body, 401).message).toContain("LiteLLM Virtual Key expected. Received=abcd****mnop");
  });

  it("a key the gateway never issued, without echoing it", async () => {
    const res = await h.call("/v1/chat/completions", { key: "sk-never-issued-0000", body: chatBody() });
    expect(res.status).toBe(401);
    const error = expectEnvelope(res.body, 401);
    expect(error).toMatchObject({ type: "token_not_found_in_db", param: "key" });
    expect(error.message).not.toContain("sk-never-issued-0000");
  });

  it("a blocked key, and the same key again once unblocked", async () => {
    const { key } = await h.newKey();
    expect((await h.admin("/key/block", { key })).status).toBe(200);
    const blocked = await h.call("/v1/chat/completions", { key, body: chatBody() });
    expect(blocked.status).toBe(401);
    expect(expectEnvelope(blocked.body, 401).message).toBe(
      "Authentication Error, Key is blocked. Update via `/key/unblock` if you're an admin.",
    );
    expect((await h.admin("/key/unblock", { key })).status).toBe(200);
    expect((await h.call("/v1/chat/completions", { key, body: chatBody() })).status).toBe(200);
  });

  it("a revoked (deleted) key", async () => {
    const { key } = await h.newKey();
    expect((await h.call("/v1/chat/completions", { key, body: chatBody() })).status).toBe(200);
    const deleted = await h.admin("/key/delete", { keys: [key] });
    expect(deleted.body).toEqual({ deleted_keys: [key] });
    const res = await h.call("/v1/chat/completions", { key, body: chatBody() });
    expect(res.status).toBe(401);
    expect(expectEnvelope(res.body, 401).type).toBe("token_not_found_in_db");
  });

  it("an expired key", async () => {
    const { key } = await h.newKey({ duration: "1s" });
    // Expiry is exact: wait for the moment to pass, then the key is refused.
    const res = await waitFor(async () => {
      const attempt = await h.call("/v1/chat/completions", { key, body: chatBody("mock-model") });
      return attempt.status === 401 ? attempt : undefined;
    }, 10_000);
    expect(expectEnvelope(res.body, 401)).toMatchObject({ type: "expired_key" });
    expect(errorOf(res.body).message).toMatch(/^Authentication Error - Expired Key\. Key Expiry time /);
  });
});

describe("model access is refused with 403", () => {
  it("a key restricted to one model asks for another", async () => {
    const { key } = await h.newKey({ models: ["gpt-test"] });
    expect((await h.call("/v1/chat/completions", { key, body: chatBody("gpt-test") })).status).toBe(200);
    const res = await h.call("/v1/chat/completions", { key, body: chatBody("other-model") });
    expect(res.status).toBe(403);
    expect(expectEnvelope(res.body, 403)).toMatchObject({
      type: "key_model_access_denied",
      param: "model",
      message: expect.stringContaining("The requested model 'other-model' is not available for this API key"),
    });
  });

  it("an access group in the key's models lets its members through and nothing else", async () => {
    const { key } = await h.newKey({ models: ["beta-group"] });
    expect((await h.call("/v1/chat/completions", { key, body: chatBody("beta-model") })).status).toBe(200);
    expect((await h.call("/v1/chat/completions", { key, body: chatBody("gpt-test") })).status).toBe(403);
  });

  it("a key's alias routes a name the caller knows to a model of the config", async () => {
    const { key } = await h.newKey({ models: ["gpt-test"], aliases: { "gpt-3.5-turbo": "gpt-test" } });
    const res = await h.call("/v1/chat/completions", { key, body: chatBody("gpt-3.5-turbo") });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-litellm-model-group")).toBe("gpt-test");
  });

  it("all-proxy-models allows every model", async () => {
    const { key } = await h.newKey({ models: ["all-proxy-models"] });
    expect((await h.call("/v1/chat/completions", { key, body: chatBody("other-model") })).status).toBe(200);
  });

  it("a key of a team restricted to one model: the team's list decides", async () => {
    const team = await h.admin("/team/new", { team_alias: "restricted-team", models: ["gpt-test"] });
    const teamId = (team.body as { team_id: string }).team_id;
    const { key } = await h.newKey({ team_id: teamId, models: ["all-team-models"] });
    expect((await h.call("/v1/chat/completions", { key, body: chatBody("gpt-test") })).status).toBe(200);
    const res = await h.call("/v1/chat/completions", { key, body: chatBody("other-model") });
    expect(res.status).toBe(403);
    expect(expectEnvelope(res.body, 403).type).toBe("team_model_access_denied");
  });
});

describe("bad requests are 400 (413 when huge), never 500", () => {
  it("an unknown model", async () => {
    const { key } = await h.newKey();
    const res = await h.call("/v1/chat/completions", { key, body: chatBody("no-such-model") });
    expect(res.status).toBe(400);
    expect(expectEnvelope(res.body, 400)).toMatchObject({
      type: "invalid_request_error",
      message:
        "/chat/completions: Invalid model name passed in model=no-such-model. Call `/v1/models` to view available models for your key.",
    });
  });

  it.each([
    ["malformed JSON", "{\"model\": \"gpt-test\", "],
    ["a JSON array", "[1, 2]"],
    ["a JSON string", "\"hello\""],
    ["an empty body", ""],
  ])("%s", async (_name, raw) => {
    const { key } = await h.newKey();
    const res = await h.call("/v1/chat/completions", { key, raw });
    expect(res.status).toBe(400);
    expectEnvelope(res.body, 400);
  });

  it.each([
    ["model is a number", { model: 42, messages: [{ role: "user", content: "x" }] }, "model"],
    ["messages is missing", { model: "gpt-test" }, "messages"],
    ["messages is a string", { model: "gpt-test", messages: "hello" }, "messages"],
    ["messages is empty", { model: "gpt-test", messages: [] }, "messages"],
    ["a message has no role", { model: "gpt-test", messages: [{ content: "x" }] }, "messages.0.role"],
    ["max_tokens is a string", { ...chatBody(), max_tokens: "ten" }, "max_tokens"],
    ["max_tokens is negative", { ...chatBody(), max_tokens: -5 }, "max_tokens"],
    ["stream is a string", { ...chatBody(), stream: "yes" }, "stream"],
  ])("wrong types: %s", async (_name, body, param) => {
    const { key } = await h.newKey();
    const res = await h.call("/v1/chat/completions", { key, body });
    expect(res.status).toBe(400);
    expect(expectEnvelope(res.body, 400)).toMatchObject({ type: "invalid_request_error", param });
  });

  it("embeddings without input", async () => {
    const { key } = await h.newKey();
    const res = await h.call("/v1/embeddings", { key, body: { model: "embed-test" } });
    expect(res.status).toBe(400);
    expect(expectEnvelope(res.body, 400).param).toBe("input");
  });

  it("a body over the size limit is 413", async () => {
    const { key } = await h.newKey();
    const huge = JSON.stringify(chatBody("gpt-test", { padding: "x".repeat(2 * 1024 * 1024) }));
    const res = await h.call("/v1/chat/completions", { key, raw: huge });
    expect(res.status).toBe(413);
    expectEnvelope(res.body, 413);
  });

  it("a huge body on an admin route is 413 too", async () => {
    const res = await fetch(`${h.gateway.adminUrl}/key/generate`, {
      method: "POST",
      headers: { authorization: `Bearer ${masterKey}`, "content-type": "application/json" },
      body: JSON.stringify({ metadata: { padding: "x".repeat(2 * 1024 * 1024) } }),
    });
    expect(res.status).toBe(413);
  });

  it.each([
    ["start_date=2024-13-45&end_date=2024-12-01", "start_date"],
    ["start_date=2024-02-30&end_date=2024-03-01", "start_date"],
    ["summarize=maybe", "summarize"],
  ])("/spend/logs?%s is a 400", async (query, param) => {
    const res = await h.admin(`/spend/logs?${query}`);
    expect(res.status).toBe(400);
    expect(expectEnvelope(res.body, 400).param).toBe(param);
  });

  it.each([
    ["/key/generate", { max_budget: "ten" }, "max_budget"],
    ["/key/generate", { models: "gpt-test" }, "models"],
    ["/key/generate", { budget_duration: "fortnightly" }, "budget_duration"],
    ["/key/generate", { rpm_limit: 1.5 }, "rpm_limit"],
    ["/user/new", { user_role: "emperor" }, "user_role"],
    ["/team/new", { max_budget: [] }, "max_budget"],
  ])("admin %s with wrong types", async (path, body, param) => {
    const res = await h.admin(path, body);
    expect(res.status).toBe(400);
    expect(expectEnvelope(res.body, 400).param).toBe(param);
  });

  it("a negative max_budget is refused in LiteLLM's words", async () => {
    const res = await h.admin("/key/generate", { max_budget: -1 });
    expect(res.status).toBe(400);
    expect(expectEnvelope(res.body, 400).message).toBe("max_budget cannot be negative. Received: -1");
  });
});

describe("upstream failures are 502 and timeouts 504", () => {
  it("an upstream that answers 500", async () => {
    const { key } = await h.newKey();
    const res = await h.call("/v1/chat/completions", { key, body: chatBody("fail-500") });
    expect(res.status).toBe(502);
    expect(expectEnvelope(res.body, 502).message).toContain("upstream exploded");
  });

  it("an upstream that refuses the gateway's own credentials is the gateway's failure, not the caller's", async () => {
    const { key } = await h.newKey();
    const res = await h.call("/v1/chat/completions", { key, body: chatBody("unauthorized") });
    expect(res.status).toBe(502);
  });

  it("an upstream's own 400 reaches the caller as a 400 with the upstream's message", async () => {
    const { key } = await h.newKey();
    const res = await h.call("/v1/chat/completions", { key, body: chatBody("bad-request") });
    expect(res.status).toBe(400);
    expect(expectEnvelope(res.body, 400).message).toContain("temperature must be at most 2");
  });

  it("an upstream that does not answer within the deployment's timeout", async () => {
    const { key } = await h.newKey();
    const res = await h.call("/v1/chat/completions", { key, body: chatBody("hang") });
    expect(res.status).toBe(504);
    expect(expectEnvelope(res.body, 504).type).toBe("timeout_error");
  });

  it("a failed request costs nothing", async () => {
    const { key } = await h.newKey();
    await h.call("/v1/chat/completions", { key, body: chatBody("fail-500") });
    const info = await h.call("/key/info", { key });
    expect((info.body as { info: { spend: number } }).info.spend).toBe(0);
  });
});
