import { describe, expect, it } from "vitest";
import { chatBody, errorOf, withGateway } from "./support/harness";
import { chatCost } from "./support/upstream";

// litellm_settings.max_budget: a budget for the whole proxy, shared by every key.
const h = withGateway({ extraConfig: `litellm_settings:\n  max_budget: ${3 * chatCost}\n  budget_duration: 30d\n` });

describe("the proxy-wide budget", () => {
  it("spend of every key counts against litellm_settings.max_budget, the next request is refused with 402, and a restart remembers it", async () => {
    const first = await h.newKey();
    const second = await h.newKey();
    expect((await h.call("/v1/chat/completions", { key: first.key, body: chatBody() })).status).toBe(200);
    expect((await h.call("/v1/chat/completions", { key: second.key, body: chatBody() })).status).toBe(200);
    expect((await h.call("/v1/chat/completions", { key: first.key, body: chatBody() })).status).toBe(200);
    const refused = await h.call("/v1/chat/completions", { key: second.key, body: chatBody() });
    expect(refused.status).toBe(402);
    expect(errorOf(refused.body)).toMatchObject({ type: "budget_exceeded" });
    expect(errorOf(refused.body).message).toMatch(/^Budget has been exceeded! Proxy=global Current cost: /);
    const global = await h.admin("/global/spend");
    expect(global.body).toMatchObject({ max_budget: 3 * chatCost });
    expect((global.body as { spend: number }).spend).toBeCloseTo(3 * chatCost, 12);

    await h.restart();
    const { key } = await h.newKey();
    expect((await h.call("/v1/chat/completions", { key, body: chatBody() })).status).toBe(402);
  });
});
