import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "../../lib/db/embedded";
import { generateKeySecret, keyToken } from "../../lib/keys/secret";
import { createLiteLLMClient, GatewayError, type LiteLLMClient } from "../../lib/litellm/client";
import { freePort, masterKey, startGateway, type RunningGateway } from "./support/gateway";
import { mockGatewayConfig } from "../support/gateway-config";


describe("the LiteLLM admin client against the real gateway process", () => {
  let postgres: EmbeddedPostgres;
  let gateway: RunningGateway;
  let client: LiteLLMClient;

  beforeAll(async () => {
    postgres = await startEmbeddedPostgres();
    gateway = await startGateway({ config: mockGatewayConfig, databaseUrl: postgres.url });
    client = createLiteLLMClient({ baseUrl: gateway.adminUrl, masterKey });
  });
  afterAll(async () => {
    await client?.close();
    await gateway?.stop();
    await postgres?.stop();
  });

  const chat = (secret: string, model = "mock-small") =>
    fetch(`${gateway.publicUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
      body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }], max_tokens: 5 }),
    });

  it("lists the models the gateway offers", async () => {
    expect((await client.models()).sort()).toEqual(["mock-large", "mock-small"]);
  });

  it("registers a key with our own secret, in cents, and the key then works", async () => {
    await client.upsertUser({ userId: "user-a", email: "a@example.test", maxBudgetCents: 500 });
    const secret = generateKeySecret();
    const { token } = await client.generateKey({
      secret,
      userId: "user-a",
      alias: "laptop",
      maxBudgetCents: 1000,
      budgetDuration: "30d",
      rpmLimit: 100,
      tpmLimit: 10_000,
      models: ["mock-small"],
    });
    expect(token).toBe(keyToken(secret));
    expect((await chat(secret)).status).toBe(200);
    expect((await chat(secret, "mock-large")).status).toBe(403);
    expect(await client.keyInfo(token)).toMatchObject({
      alias: "laptop",
      maxBudgetCents: 1000,
      budgetDuration: "30d",
      rpmLimit: 100,
      tpmLimit: 10_000,
      models: ["mock-small"],
      userId: "user-a",
      blocked: false,
    });
  });

  it("updates to absolute values, so the same update twice leaves the same state", async () => {
    const secret = generateKeySecret();
    const { token } = await client.generateKey({ secret, userId: "user-a", maxBudgetCents: 1000 });
    await client.updateKey(token, { maxBudgetCents: 250, rpmLimit: 7, models: [] });
    await client.updateKey(token, { maxBudgetCents: 250, rpmLimit: 7, models: [] });
    expect(await client.keyInfo(token)).toMatchObject({ maxBudgetCents: 250, rpmLimit: 7, models: [] });
  });

  it("sets a user's budget absolutely, creating the user on first push", async () => {
    expect(await client.userInfo("user-b")).toBeNull();
    await client.upsertUser({ userId: "user-b", maxBudgetCents: 500 });
    await client.upsertUser({ userId: "user-b", maxBudgetCents: 1500 });
    expect(await client.userInfo("user-b")).toMatchObject({ maxBudgetCents: 1500, spendCents: 0 });
  });

  it("a deleted key is refused by the gateway, and deleting it again is not an error", async () => {
    const secret = generateKeySecret();
    const { token } = await client.generateKey({ secret, userId: "user-a" });
    await client.deleteKey(token);
    await client.deleteKey(token);
    expect((await chat(secret)).status).toBe(401);
    expect(await client.keyInfo(token)).toBeNull();
  });

  it("a refused request is a permanent error carrying the gateway's message", async () => {
    const error = await client.generateKey({ secret: generateKeySecret(), userId: "user-a", maxBudgetCents: -100 }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(GatewayError);
    expect(error).toMatchObject({ retryable: false, status: 400 });
  });

  it("a wrong master key is a permanent 401 with a hint", async () => {
    const wrong = createLiteLLMClient({ baseUrl: gateway.adminUrl, masterKey: "sk-wrong-master-key" });
    const error = await wrong.models().catch((err: unknown) => err);
    await wrong.close();
    expect(error).toMatchObject({ retryable: false, status: 401 });
    expect((error as Error).message).toMatch(/LITELLM_MASTER_KEY/);
  });

  it("an unreachable gateway is a retryable error naming the address", async () => {
    const port = await freePort();
    const down = createLiteLLMClient({ baseUrl: `http://127.0.0.1:${port}`, masterKey, requestTimeoutMs: 1000 });
    const error = await down.liveliness().catch((err: unknown) => err);
    await down.close();
    expect(error).toMatchObject({ retryable: true });
    expect((error as Error).message).toMatch(new RegExp(`127\\.0\\.0\\.1:${port}`));
  });
});
