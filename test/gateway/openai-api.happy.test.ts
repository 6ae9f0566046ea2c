import { AzureOpenAI } from "openai";
import { describe, expect, it } from "vitest";
import { waitFor, readChatStream } from "./support/gateway";
import { chatBody, withGateway } from "./support/harness";
import { chatCost, upstreamKey } from "./support/upstream";

const h = withGateway();

interface KeyInfo {
  info: { spend: number };
}

async function keySpend(key: string): Promise<number> {
  const res = await h.call("/key/info", { key });
  return (res.body as KeyInfo).info.spend;
}

describe("the OpenAI-compatible API, driven by the official openai client", () => {
  it("a chat completion goes to the upstream with its own key and model name, and comes back as OpenAI's shape", async () => {
    const { key } = await h.newKey();
    const completion = await h.client(key).chat.completions.create(chatBody());
    expect(completion.choices[0]?.message.content).toBe("Hello from upstream");
    expect(completion.usage).toMatchObject({ prompt_tokens: 10, completion_tokens: 20 });
    const sent = h.upstream.requests.at(-1);
    expect(sent?.authorization).toBe(`Bearer ${upstreamKey}`);
    expect(sent?.body.model).toBe("gpt-test");
  });

  it("a chat completion's cost is its tokens times the model's prices, recorded on the key", async () => {
    const { key } = await h.newKey();
    await h.client(key).chat.completions.create(chatBody());
    expect(await keySpend(key)).toBeCloseTo(chatCost, 12);
  });

  it("a stream with include_usage ends with a usage chunk, and the stream is billed", async () => {
    const { key } = await h.newKey();
    const stream = await h.client(key).chat.completions.create({
      ...chatBody(),
      stream: true,
      stream_options: { include_usage: true },
    });
    const { text, usage } = await readChatStream(stream);
    expect(text).toBe("Hello from upstream");
    expect(usage).toMatchObject({ prompt_tokens: 10, completion_tokens: 20 });
    expect(await keySpend(key)).toBeCloseTo(chatCost, 12);
  });

  it("a stream without include_usage gets no usage chunk but is billed all the same", async () => {
    const { key } = await h.newKey();
    const stream = await h.client(key).chat.completions.create({ ...chatBody(), stream: true });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.some((chunk) => chunk.usage)).toBe(false);
    expect(await keySpend(key)).toBeCloseTo(chatCost, 12);
  });

  it("a stream whose provider sends no usage is billed from counted tokens, never free", async () => {
    const { key } = await h.newKey();
    const stream = await h.client(key).chat.completions.create({ ...chatBody("no-usage"), stream: true });
    for await (const _chunk of stream) {
      // drain
    }
    expect(await keySpend(key)).toBeGreaterThan(0);
  });

  it("a caller hanging up mid-stream stops the upstream call and is billed for what was streamed", async () => {
    const { key, token } = await h.newKey();
    const controller = new AbortController();
    const stream = await h.client(key).chat.completions.create(
      { ...chatBody("slow-stream"), stream: true },
      { signal: controller.signal },
    );
    let received = 0;
    try {
      for await (const _chunk of stream) {
        received += 1;
        if (received === 3) controller.abort();
      }
    } catch {
      // The client may end the iteration quietly or throw an abort error; either is fine.
    }
    expect(received).toBeLessThan(100);
    const spend = await waitFor(async () => {
      const value = await keySpend(key);
      return value > 0 ? value : undefined;
    }, 10_000, "the cut-short stream to be billed");
    expect(spend).toBeGreaterThan(0);
    const rows = (await h.admin(`/spend/logs?api_key=${token}`)).body as { status: string }[];
    expect(rows).toHaveLength(1);
    expect(rows[0]?.status).toBe("failure");
    expect(h.gateway.output()).not.toContain("unexpected error");
    expect((await h.call("/health/liveliness", {})).status).toBe(200);
  });

  it("a caller hanging up before a complete answer releases the upstream call, long before its timeout", async () => {
    const { key } = await h.newKey();
    const released = h.upstream.hangsReleased();
    const controller = new AbortController();
    const pending = fetch(`${h.gateway.publicUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify(chatBody("hang-long")),
      signal: controller.signal,
    }).catch(() => undefined);
    await waitFor(async () => (h.upstream.requests.some((request) => request.body.model === "hang") ? true : undefined), 5_000, "the upstream call");
    controller.abort();
    await pending;
    // `hang-long` has a 600 s timeout: only the caller leaving lets the upstream call go.
    await waitFor(async () => (h.upstream.hangsReleased() > released ? true : undefined), 10_000, "the upstream call to be let go");
    const metrics = await (await fetch(`${h.gateway.adminUrl}/metrics`)).text();
    const failures = metrics.split("\n").filter((line) => line.startsWith("litellm_proxy_failed_requests_metric_total") && line.includes('requested_model="hang-long"'));
    expect(failures.some((line) => line.includes('exception_status="499"'))).toBe(true);
    expect(failures.some((line) => line.includes('exception_status="504"'))).toBe(false);
  });

  it("embeddings are forwarded and billed on their prompt tokens", async () => {
    const { key } = await h.newKey();
    const result = await h.client(key).embeddings.create({ model: "embed-test", input: ["one", "two"], encoding_format: "float" });
    expect(result.data).toHaveLength(2);
    expect(result.data[0]?.embedding).toEqual([0.1, 0.2, 0.3]);
    expect(await keySpend(key)).toBeCloseTo(8 * 0.000001, 12);
  });

  it("embeddings asked for in base64 come back in base64 from an upstream that answered floats", async () => {
    const { key } = await h.newKey();
    // The openai client asks for base64 by default; the fake upstream answers floats regardless,
    // as older OpenAI-compatible servers do, and the client would decode those as empty vectors.
    const result = await h.client(key).embeddings.create({ model: "embed-test", input: ["one", "two"] });
    expect(h.upstream.requests.at(-1)?.body.encoding_format).toBe("base64");
    expect(result.data.map((item) => item.embedding)).toEqual([0, 1].map(() => [0.1, 0.2, 0.3].map((value) => Math.fround(value))));
  });

  it("text completions are forwarded on /v1/completions", async () => {
    const { key } = await h.newKey();
    const result = await h.client(key).completions.create({ model: "gpt-test", prompt: "Once" });
    expect(result.choices[0]?.text).toBe("Hello from upstream");
  });

  it("the un-prefixed /chat/completions route works as LiteLLM's does", async () => {
    const { key } = await h.newKey();
    const res = await h.call("/chat/completions", { key, body: chatBody() });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-litellm-call-id")).toBeTruthy();
    expect(Number(res.headers.get("x-litellm-response-cost"))).toBeCloseTo(chatCost, 12);
  });

  it("Azure OpenAI's client works against the gateway: its deployment paths name the model, its api-key header is the key", async () => {
    const { key } = await h.newKey();
    const azure = (deployment: string) =>
      new AzureOpenAI({ endpoint: h.gateway.publicUrl, apiKey: key, apiVersion: "2024-10-21", deployment, maxRetries: 0 });
    const before = await keySpend(key);
    // The path's model wins over the body's, as in LiteLLM.
    const completion = await azure("gpt-test").chat.completions.create({ ...chatBody(), model: "ignored-by-the-path" });
    expect(completion.choices[0]?.message.content).toBe("Hello from upstream");
    expect(h.upstream.requests.at(-1)?.body.model).toBe("gpt-test");
    expect(await keySpend(key)).toBeCloseTo(before + chatCost, 12);
    const stream = await azure("gpt-test").chat.completions.create({ ...chatBody(), stream: true, stream_options: { include_usage: true } });
    expect((await readChatStream(stream)).text).toBe("Hello from upstream");
    const embedded = await azure("embed-test").embeddings.create({ model: "embed-test", input: ["one"], encoding_format: "float" });
    expect(embedded.data[0]?.embedding).toEqual([0.1, 0.2, 0.3]);
    const text = await azure("gpt-test").completions.create({ model: "gpt-test", prompt: "Once" });
    expect(text.choices[0]?.text).toBe("Hello from upstream");
  });

  it("LiteLLM's /engines/{model}/ paths take the model from the path too, slashes included; a model that is not served is a 400 naming it", async () => {
    const { key } = await h.newKey();
    const res = await h.call("/engines/gpt-test/chat/completions", { key, body: { messages: [{ role: "user", content: "hi" }] } });
    expect(res.status).toBe(200);
    expect(h.upstream.requests.at(-1)?.body.model).toBe("gpt-test");
    const unknown = await h.call("/openai/deployments/team/not-served/chat/completions", { key, body: chatBody() });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.body)).toContain("model=team/not-served");
    const badEncoding = await h.call("/engines/%E0%A4%A/chat/completions", { key, body: chatBody() });
    expect(badEncoding.status).toBe(400);
    expect(JSON.stringify(badEncoding.body)).toContain("percent-encoding");
    expect((await h.call("/engines/gpt-test/images/generations", { key, body: chatBody() })).status).toBe(404);
  });

  it("the mock provider answers deterministically, and mock_response overrides the reply", async () => {
    const { key } = await h.newKey();
    const client = h.client(key);
    const first = await client.chat.completions.create(chatBody("mock-model"));
    const second = await client.chat.completions.create(chatBody("mock-model"));
    expect(first.choices[0]?.message.content).toBe(second.choices[0]?.message.content);
    expect(first.usage).toEqual(second.usage);
    const mocked = await client.chat.completions.create({ ...chatBody("gpt-test"), mock_response: "canned" } as never);
    expect((mocked as { choices: { message: { content: string } }[] }).choices[0]?.message.content).toBe("canned");
  });

  it("mock embeddings asked for in base64 (the openai client's default) decode to the floats asked for plainly", async () => {
    const { key } = await h.newKey();
    const client = h.client(key);
    const floats = await client.embeddings.create({ model: "mock-model", input: ["one", "two"], dimensions: 8, encoding_format: "float" });
    const decoded = await client.embeddings.create({ model: "mock-model", input: ["one", "two"], dimensions: 8 });
    expect(floats.data[0]?.embedding).toHaveLength(8);
    // The mock's six-decimal floats, through float32 and back.
    expect(decoded.data.map((item) => item.embedding)).toEqual(floats.data.map((item) => item.embedding.map((value) => Math.fround(value))));
    const res = await h.call("/embeddings", { key, body: { model: "mock-model", input: "one", encoding_format: "base64" } });
    expect(typeof (res.body as { data: { embedding: unknown }[] }).data[0]?.embedding).toBe("string");
  });

  it("/v1/models lists every model for an unrestricted key and only its own for a restricted one", async () => {
    const open = await h.newKey();
    const all = await h.client(open.key).models.list();
    expect(all.data.map((model) => model.id)).toEqual(expect.arrayContaining(["gpt-test", "mock-model", "embed-test"]));
    const restricted = await h.newKey({ models: ["gpt-test", "beta-group"] });
    const some = await h.client(restricted.key).models.list();
    expect(some.data.map((model) => model.id).sort()).toEqual(["beta-model", "gpt-test"]);
  });

  it("the master key works right away, with no bootstrap by hand", async () => {
    const { masterKey } = await import("./support/gateway");
    const completion = await h.client(masterKey).chat.completions.create(chatBody("mock-model"));
    expect(completion.choices).toHaveLength(1);
  });

  it("spend-log rows record the request, and per-day summaries add them up", async () => {
    const { key, token } = await h.newKey({ user_id: "log-user" });
    await h.client(key).chat.completions.create(chatBody());
    await h.client(key).chat.completions.create(chatBody());
    const rows = await h.admin(`/spend/logs?api_key=${key}`);
    expect(rows.status).toBe(200);
    const list = rows.body as { api_key: string; spend: number; total_tokens: number; user: string; status: string; model_group: string }[];
    expect(list).toHaveLength(2);
    expect(list[0]).toMatchObject({ api_key: token, total_tokens: 30, user: "log-user", status: "success", model_group: "gpt-test" });
    const today = new Date().toISOString().slice(0, 10);
    const summary = await h.admin(`/spend/logs?api_key=${key}&start_date=${today}&end_date=${today}`);
    const days = summary.body as { startTime: string; spend: number; users: Record<string, number> }[];
    expect(days).toHaveLength(1);
    expect(days[0]?.spend).toBeCloseTo(2 * chatCost, 12);
    expect(days[0]?.users["log-user"]).toBeCloseTo(2 * chatCost, 12);
  });

  it("/global/spend adds up every request", async () => {
    const res = await h.admin("/global/spend");
    expect(res.status).toBe(200);
    expect((res.body as { spend: number }).spend).toBeGreaterThan(0);
  });

  it("/metrics exposes LiteLLM's metric names with hashed keys and never a secret", async () => {
    const { key, token } = await h.newKey({ key_alias: "metrics-key", max_budget: 5 });
    await h.client(key).chat.completions.create(chatBody());
    const res = await h.admin("/metrics");
    const text = String(res.body);
    for (const name of [
      "litellm_proxy_total_requests_metric_total",
      "litellm_total_tokens_metric_total",
      "litellm_spend_metric_total",
      "litellm_llm_api_latency_metric_bucket",
      "litellm_request_total_latency_metric_bucket",
      "litellm_remaining_api_key_budget_metric",
    ]) {
      expect(text).toContain(name);
    }
    expect(text).toContain(`hashed_api_key="${token}"`);
    expect(text).not.toContain(key);
    expect(text).not.toContain("sk-test-master");
  });

  it("health routes answer without a key: liveliness, readiness with the database, and the deployments", async () => {
    const live = await h.call("/health/liveliness", {});
    expect(live).toMatchObject({ status: 200, body: "I'm alive!" });
    const ready = await h.call("/health/readiness", {});
    expect(ready.body).toMatchObject({ status: "connected", db: "connected" });
    const health = await waitFor(async () => {
      const res = await h.call("/health", {});
      return res.status === 200 ? res : undefined;
    });
    expect((health.body as { healthy_count: number }).healthy_count).toBeGreaterThan(0);
    // Anyone may ask; only the admin is told where the upstreams live.
    expect(JSON.stringify(health.body)).not.toContain("127.0.0.1");
    const asAdmin = await h.admin("/health");
    expect(JSON.stringify(asAdmin.body)).toContain(h.upstream.url);
  });
});
