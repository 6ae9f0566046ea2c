import { describe, expect, it } from "vitest";
import { masterKey, waitFor } from "./support/gateway";
import { errorOf, withGateway } from "./support/harness";
import { chatCost } from "./support/upstream";

/**
 * `/v1/responses`, OpenAI's Responses API, driven by the official openai client: translated to a
 * chat request for the deployment, answered as a Response object or the Responses event stream,
 * and held to the same key, budget and spend rules as /v1/chat/completions.
 */

const h = withGateway();

const weatherTool = {
  type: "function" as const,
  name: "get_weather",
  description: "The weather in a city",
  parameters: {
    type: "object",
    properties: { city: { type: "string" } },
    required: ["city"],
    additionalProperties: false,
  },
  strict: true,
};

async function keySpend(key: string): Promise<number> {
  return ((await h.call("/key/info", { key })).body as { info: { spend: number } }).info.spend;
}

describe("/v1/responses with the official openai client", () => {
  it("a response's text, status and usage come from the chat answer; instructions and the token limit reach the upstream; the key is charged once", async () => {
    const { key } = await h.newKey();
    const response = await h.client(key).responses.create({
      model: "gpt-test",
      instructions: "Be brief",
      input: "Say hello",
      max_output_tokens: 50,
    });
    expect(response).toMatchObject({
      object: "response",
      status: "completed",
      model: "gpt-test",
      usage: { input_tokens: 10, output_tokens: 20, total_tokens: 30 },
    });
    expect(response.id).toMatch(/^resp_/);
    expect(response.output_text).toBe("Hello from upstream");
    expect(response.output).toEqual([
      expect.objectContaining({
        type: "message",
        role: "assistant",
        status: "completed",
        content: [expect.objectContaining({ type: "output_text", text: "Hello from upstream" })],
      }),
    ]);
    expect(h.upstream.requests.at(-1)?.body).toMatchObject({
      model: "gpt-test",
      max_tokens: 50,
      messages: [
        { role: "system", content: "Be brief" },
        { role: "user", content: "Say hello" },
      ],
    });
    expect(await keySpend(key)).toBeCloseTo(chatCost, 12);
  });

  it("a stream arrives as the Responses events, numbered in order, ending with response.completed and its usage, and is billed", async () => {
    const { key } = await h.newKey();
    const stream = h
      .client(key)
      .responses.stream({ model: "gpt-test", input: [{ role: "user", content: "Say hello" }] });
    const types: string[] = [];
    const sequence: number[] = [];
    let text = "";
    for await (const event of stream) {
      types.push(event.type);
      sequence.push(event.sequence_number);
      if (event.type === "response.output_text.delta") text += event.delta;
    }
    const final = await stream.finalResponse();
    expect(text).toBe("Hello from upstream");
    expect(final.output_text).toBe("Hello from upstream");
    expect(final.usage).toMatchObject({ input_tokens: 10, output_tokens: 20 });
    expect(types.slice(0, 4)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
    ]);
    expect(types.slice(-4)).toEqual([
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    expect(sequence).toEqual(sequence.map((_, index) => index));
    expect(h.upstream.requests.at(-1)?.body).toMatchObject({
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(await keySpend(key)).toBeCloseTo(chatCost, 12);
  });

  it("function tools: the model's call comes back as a function_call item, and its output sent back reaches the upstream as a tool message", async () => {
    const { key } = await h.newKey();
    const client = h.client(key);
    const first = await client.responses.create({
      model: "tool-call",
      input: "Weather in Paris?",
      tools: [weatherTool],
      tool_choice: "auto",
    });
    const [call] = first.output;
    expect(call).toMatchObject({
      type: "function_call",
      call_id: "call_fake_1",
      name: "get_weather",
      arguments: '{"city":"Paris"}',
      status: "completed",
    });
    expect(h.upstream.requests.at(-1)?.body).toMatchObject({
      tool_choice: "auto",
      tools: [
        {
          type: "function",
          function: {
            name: "get_weather",
            description: "The weather in a city",
            parameters: weatherTool.parameters,
            strict: true,
          },
        },
      ],
    });
    if (call?.type !== "function_call") throw new Error("no function call");
    await client.responses.create({
      model: "gpt-test",
      tools: [weatherTool],
      input: [
        { role: "user", content: "Weather in Paris?" },
        {
          type: "function_call",
          call_id: call.call_id,
          name: call.name,
          arguments: call.arguments,
        },
        { type: "function_call_output", call_id: call.call_id, output: "Sunny, 21 °C" },
      ],
    });
    expect(h.upstream.requests.at(-1)?.body.messages).toEqual([
      { role: "user", content: "Weather in Paris?" },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          {
            id: "call_fake_1",
            type: "function",
            function: { name: "get_weather", arguments: '{"city":"Paris"}' },
          },
        ],
      },
      { role: "tool", tool_call_id: "call_fake_1", content: "Sunny, 21 °C" },
    ]);
  });

  it("a streamed function call arrives as argument deltas the client assembles into the call", async () => {
    const { key } = await h.newKey();
    const stream = h
      .client(key)
      .responses.stream({ model: "tool-call", input: "Weather in Paris?", tools: [weatherTool] });
    const deltas: string[] = [];
    stream.on("response.function_call_arguments.delta", (event) => deltas.push(event.delta));
    const final = await stream.finalResponse();
    expect(deltas).toEqual(['{"city":', '"Paris"}']);
    expect(final.output).toEqual([
      expect.objectContaining({
        type: "function_call",
        call_id: "call_fake_1",
        name: "get_weather",
        arguments: '{"city":"Paris"}',
      }),
    ]);
    expect(final.usage).toMatchObject({ input_tokens: 10, output_tokens: 20 });
  });

  it("a custom (freeform) tool such as Codex's apply_patch goes upstream as a function taking input, and its call comes back as a custom_tool_call with the raw input, streamed or not", async () => {
    const { key } = await h.newKey();
    const client = h.client(key);
    const applyPatch = {
      type: "custom" as const,
      name: "apply_patch",
      description: "Edit files with a patch",
      format: { type: "grammar" as const, syntax: "lark" as const, definition: "start: /.+/s" },
    };
    const patch = "*** Begin Patch\n*** End Patch";
    const created = await client.responses.create({
      model: "tool-call",
      input: "Add a file",
      tools: [applyPatch],
    });
    expect(created.output).toEqual([
      expect.objectContaining({
        type: "custom_tool_call",
        call_id: "call_fake_1",
        name: "apply_patch",
        input: patch,
      }),
    ]);
    const [sentTool] = h.upstream.requests.at(-1)?.body.tools as {
      function: { description: string; parameters: unknown };
    }[];
    expect(sentTool?.function.parameters).toEqual({
      type: "object",
      properties: { input: { type: "string" } },
      required: ["input"],
      additionalProperties: false,
    });
    expect(sentTool?.function.description).toContain("start: /.+/s");

    const stream = client.responses.stream({
      model: "tool-call",
      input: "Add a file",
      tools: [applyPatch],
    });
    const inputs: string[] = [];
    stream.on("response.custom_tool_call_input.done", (event) => inputs.push(event.input));
    const final = await stream.finalResponse();
    expect(inputs).toEqual([patch]);
    expect(final.output).toEqual([
      expect.objectContaining({ type: "custom_tool_call", input: patch }),
    ]);

    await client.responses.create({
      model: "gpt-test",
      tools: [applyPatch],
      input: [
        { role: "user", content: "Add a file" },
        { type: "custom_tool_call", call_id: "call_fake_1", name: "apply_patch", input: patch },
        { type: "custom_tool_call_output", call_id: "call_fake_1", output: "Done" },
      ],
    });
    expect(h.upstream.requests.at(-1)?.body.messages).toEqual([
      { role: "user", content: "Add a file" },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          {
            id: "call_fake_1",
            type: "function",
            function: { name: "apply_patch", arguments: JSON.stringify({ input: patch }) },
          },
        ],
      },
      { role: "tool", tool_call_id: "call_fake_1", content: "Done" },
    ]);
  });

  it("text.format json_schema reaches the upstream as response_format, and a mock deployment answers too", async () => {
    const { key } = await h.newKey();
    const schema = {
      type: "object",
      properties: { greeting: { type: "string" } },
      required: ["greeting"],
      additionalProperties: false,
    };
    await h.client(key).responses.create({
      model: "gpt-test",
      input: "Greet",
      text: { format: { type: "json_schema", name: "greeting", schema, strict: true } },
    });
    expect(h.upstream.requests.at(-1)?.body.response_format).toEqual({
      type: "json_schema",
      json_schema: { name: "greeting", schema, strict: true },
    });
    const mocked = await h
      .client(key)
      .responses.create({ model: "mock-model", input: "hi", mock_response: "Mocked" } as never);
    expect(mocked.output_text).toBe("Mocked");
  });

  it("what needs a stored response or a hosted tool is a 400 naming the field, and nothing is sent or charged", async () => {
    const { key } = await h.newKey();
    const sent = h.upstream.requests.length;
    const refusals = [
      [
        { model: "gpt-test", input: "hi", previous_response_id: "resp_123" },
        "previous_response_id",
      ],
      [{ model: "gpt-test", input: "hi", tools: [{ type: "web_search" }] }, "tools.0"],
      [{ model: "gpt-test", input: "hi", tools: [{ type: "custom" }] }, "tools.0.name"],
      [{ model: "gpt-test", input: [{ type: "item_reference", id: "msg_1" }] }, "input.0"],
      [
        {
          model: "gpt-test",
          input: [{ role: "user", content: [{ type: "input_file", file_id: "file-1" }] }],
        },
        "input.0.content.0",
      ],
      [
        { model: "gpt-test", input: [{ type: "function_call_output", output: "x" }] },
        "input.0.call_id",
      ],
      [{ model: "gpt-test" }, "input"],
    ] as const;
    for (const [body, field] of refusals) {
      const res = await h.call("/v1/responses", { key, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(errorOf(res.body)).toMatchObject({ type: "invalid_request_error", param: field });
    }
    expect(h.upstream.requests.length).toBe(sent);
    expect(await keySpend(key)).toBe(0);
  });

  it("the key checks hold: no key is a 401, a model outside the key's list a 403, a spent budget a 402", async () => {
    expect(
      (await h.call("/v1/responses", { body: { model: "gpt-test", input: "hi" } })).status,
    ).toBe(401);
    const narrow = await h.newKey({ models: ["other-model"] });
    expect(
      (await h.call("/v1/responses", { key: narrow.key, body: { model: "gpt-test", input: "hi" } }))
        .status,
    ).toBe(403);
    const broke = await h.newKey({ max_budget: 0 });
    const refused = await h.call("/v1/responses", {
      key: broke.key,
      body: { model: "gpt-test", input: "hi" },
    });
    expect(refused.status).toBe(402);
    expect(errorOf(refused.body).message).toContain("Budget has been exceeded");
  });

  it("each call leaves a spend-log row with LiteLLM's aresponses call type", async () => {
    const { key } = await h.newKey();
    await h.client(key).responses.create({ model: "gpt-test", input: "hi" });
    const rows = await waitFor(async () => {
      const res = await fetch(`${h.gateway.adminUrl}/spend/logs?api_key=${key}`, {
        headers: { authorization: `Bearer ${masterKey}` },
      });
      const found = (await res.json()) as { call_type: string; total_tokens: number }[];
      return found.length > 0 ? found : undefined;
    });
    expect(rows[0]).toMatchObject({ call_type: "aresponses", total_tokens: 30 });
  });
});
