import { describe, expect, it } from "vitest";
import { GatewayError } from "../errors";
import { ResponsesDialect } from "./index";
import { customInput, responsesRequestSchema, toOpenAiChat } from "./request";
import { toResponse } from "./response";
import { OpenAiToResponsesStream, ResponsesStreamTap } from "./stream";

const request = (fields: Record<string, unknown>) =>
  responsesRequestSchema.parse({ model: "m", ...fields });

function events(text: string): { type: string; data: Record<string, unknown> }[] {
  return text
    .split("\n\n")
    .filter((block) => block.trim() !== "")
    .map((block) => {
      const [typeLine, dataLine] = block.split("\n");
      return {
        type: (typeLine ?? "").replace("event: ", ""),
        data: JSON.parse((dataLine ?? "").replace("data: ", "")) as Record<string, unknown>,
      };
    });
}

describe("a Responses request as a chat request", () => {
  it("developer and system messages become system messages, an assistant's earlier output text its content, images image_url parts, and reasoning items are left out", () => {
    const chat = toOpenAiChat(
      request({
        input: [
          { role: "developer", content: "Be terse" },
          {
            role: "user",
            content: [
              { type: "input_text", text: "What is this?" },
              { type: "input_image", image_url: "https://example.test/a.png", detail: "low" },
            ],
          },
          { type: "reasoning", id: "rs_1", summary: [] },
          {
            type: "message",
            role: "assistant",
            content: [{ type: "output_text", text: "A cat", annotations: [] }],
          },
          { role: "user", content: "Sure?" },
        ],
        text: { format: { type: "json_object" } },
        reasoning: { effort: "low" },
        temperature: 0.2,
        user: "end-user-1",
      }),
    );
    expect(chat).toEqual({
      model: "m",
      messages: [
        { role: "system", content: "Be terse" },
        {
          role: "user",
          content: [
            { type: "text", text: "What is this?" },
            { type: "image_url", image_url: { url: "https://example.test/a.png", detail: "low" } },
          ],
        },
        { role: "assistant", content: "A cat" },
        { role: "user", content: "Sure?" },
      ],
      temperature: 0.2,
      user: "end-user-1",
      reasoning_effort: "low",
      response_format: { type: "json_object" },
    });
  });

  it("parallel function calls after an assistant's text join that turn, each output following as a tool message", () => {
    const chat = toOpenAiChat(
      request({
        input: [
          { role: "user", content: "Weather in Paris and Rome?" },
          { role: "assistant", content: "Checking both." },
          { type: "function_call", call_id: "c1", name: "weather", arguments: '{"city":"Paris"}' },
          { type: "function_call", call_id: "c2", name: "weather", arguments: '{"city":"Rome"}' },
          { type: "function_call_output", call_id: "c1", output: "Sunny" },
          {
            type: "function_call_output",
            call_id: "c2",
            output: [{ type: "input_text", text: "Rain" }],
          },
        ],
        tools: [{ type: "function", name: "weather", parameters: null }],
        tool_choice: { type: "function", name: "weather" },
        parallel_tool_calls: false,
      }),
    );
    expect(chat.messages).toEqual([
      { role: "user", content: "Weather in Paris and Rome?" },
      {
        role: "assistant",
        content: "Checking both.",
        tool_calls: [
          {
            id: "c1",
            type: "function",
            function: { name: "weather", arguments: '{"city":"Paris"}' },
          },
          {
            id: "c2",
            type: "function",
            function: { name: "weather", arguments: '{"city":"Rome"}' },
          },
        ],
      },
      { role: "tool", tool_call_id: "c1", content: "Sunny" },
      { role: "tool", tool_call_id: "c2", content: "Rain" },
    ]);
    expect(chat).toMatchObject({
      tools: [
        {
          type: "function",
          function: { name: "weather", parameters: { type: "object", properties: {} } },
        },
      ],
      tool_choice: { type: "function", function: { name: "weather" } },
      parallel_tool_calls: false,
    });
  });

  it("a json_schema format without a schema, or a hosted tool_choice, is a 400 naming the field", () => {
    const fieldOf = (fields: Record<string, unknown>) => {
      try {
        toOpenAiChat(request(fields));
      } catch (err) {
        return err instanceof GatewayError ? err.param : "not a GatewayError";
      }
      return "no error";
    };
    expect(fieldOf({ input: "x", text: { format: { type: "json_schema", name: "n" } } })).toBe(
      "text.format",
    );
    expect(
      fieldOf({
        input: "x",
        tools: [{ type: "function", name: "f" }],
        tool_choice: { type: "file_search" },
      }),
    ).toBe("tool_choice");
  });
});

describe("a custom tool's input out of the function arguments the model wrote", () => {
  it("is the input field when the arguments are JSON holding one, else the arguments as they are", () => {
    expect(customInput('{"input":"*** Begin Patch"}')).toBe("*** Begin Patch");
    expect(customInput("*** Begin Patch")).toBe("*** Begin Patch");
    expect(customInput('{"patch":"x"}')).toBe('{"patch":"x"}');
    expect(customInput('{"input":3}')).toBe('{"input":3}');
  });
});

describe("a chat answer as a Response", () => {
  const usage = { promptTokens: 7, completionTokens: 3, cacheReadTokens: 2 };
  const answer = (finishReason: string) =>
    Buffer.from(
      JSON.stringify({
        model: "up",
        choices: [{ finish_reason: finishReason, message: { content: "Hi" } }],
      }),
    );

  it("echoes the request's settings and reports cached input tokens", () => {
    const response = toResponse(
      answer("stop"),
      usage,
      request({ input: "x", instructions: "Be kind", max_output_tokens: 9 }),
      "m",
    );
    expect(response).toMatchObject({
      object: "response",
      status: "completed",
      incomplete_details: null,
      instructions: "Be kind",
      max_output_tokens: 9,
      model: "up",
      usage: {
        input_tokens: 7,
        input_tokens_details: { cached_tokens: 2 },
        output_tokens: 3,
        total_tokens: 10,
      },
    });
  });

  it("an answer cut off by its token limit or the content filter is incomplete, with the reason", () => {
    expect(toResponse(answer("length"), usage, request({ input: "x" }), "m")).toMatchObject({
      status: "incomplete",
      incomplete_details: { reason: "max_output_tokens" },
    });
    expect(toResponse(answer("content_filter"), usage, request({ input: "x" }), "m")).toMatchObject(
      { status: "incomplete", incomplete_details: { reason: "content_filter" } },
    );
  });

  it("a body that is not a chat completion is the upstream's fault", () => {
    expect(() => toResponse(Buffer.from("{}"), usage, request({ input: "x" }), "m")).toThrow(
      /not a chat completion/,
    );
  });
});

describe("a chat stream as the Responses events", () => {
  it("text then a tool call make two items, closed in order; a length stop ends in response.incomplete; the tap bills the final usage", () => {
    const stream = new OpenAiToResponsesStream(request({ input: "x" }), "m", 5);
    const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
      JSON.stringify({ choices: [{ delta, finish_reason: finish }] });
    let out = stream.push(chunk({ content: "Let me check" }));
    out += stream.push(
      chunk({
        tool_calls: [{ index: 0, id: "c1", function: { name: "weather", arguments: '{"city"' } }],
      }),
    );
    out += stream.push(
      chunk({ tool_calls: [{ index: 0, function: { arguments: ':"Paris"}' } }] }, "length"),
    );
    out += stream.push(
      JSON.stringify({ choices: [], usage: { prompt_tokens: 11, completion_tokens: 4 } }),
    );
    out += stream.push("[DONE]");
    out += stream.finish();
    const all = events(out);
    expect(all.map((event) => event.type)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.output_item.added",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.done",
      "response.output_item.done",
      "response.incomplete",
    ]);
    expect(all.map((event) => event.data.sequence_number)).toEqual(all.map((_, index) => index));
    const last = all.at(-1)?.data.response as Record<string, unknown>;
    expect(last).toMatchObject({
      status: "incomplete",
      incomplete_details: { reason: "max_output_tokens" },
      output: [
        { type: "message", content: [{ type: "output_text", text: "Let me check" }] },
        {
          type: "function_call",
          call_id: "c1",
          name: "weather",
          arguments: '{"city":"Paris"}',
          status: "completed",
        },
      ],
      usage: { input_tokens: 11, output_tokens: 4 },
    });
    const tap = new ResponsesStreamTap();
    tap.push(new TextEncoder().encode(out));
    tap.end();
    expect(tap.usage).toEqual({ promptTokens: 11, completionTokens: 4 });
    expect(tap.streamedChars).toBe("Let me check".length + '{"city":"Paris"}'.length);
  });

  it("without a usage chunk the response is billed on estimates, never as free", () => {
    const stream = new OpenAiToResponsesStream(request({ input: "x" }), "m", 5);
    const out =
      stream.push(
        JSON.stringify({ choices: [{ delta: { content: "12345678" }, finish_reason: "stop" }] }),
      ) + stream.finish();
    expect(events(out).at(-1)?.data.response).toMatchObject({
      status: "completed",
      usage: { input_tokens: 5, output_tokens: 2 },
    });
  });
});

describe("an error after the Responses stream began", () => {
  it("is the stream's error event, numbered after the events before it", async () => {
    const dialect = new ResponsesDialect();
    dialect.parse(Buffer.from(JSON.stringify({ model: "m", input: "hi", stream: true })));
    const chunks = async function* () {
      yield new TextEncoder().encode(
        `data: ${JSON.stringify({ choices: [{ delta: { content: "Hel" } }] })}\n\n`,
      );
    };
    const provider = { send: async () => ({ type: "stream" as const, events: chunks() }) };
    const call = { deployment: { upstreamModel: "m" }, body: {}, stream: true };
    const reply = await dialect.send(provider as never, call as never);
    if (reply.type !== "stream") throw new Error("expected a stream");
    const iterator = reply.events[Symbol.asyncIterator]();
    const first = await iterator.next();
    const before = events(new TextDecoder().decode(first.value as Uint8Array));
    const error = events(
      dialect.streamError(new GatewayError(504, "timeout_error", "upstream timed out", null)),
    );
    expect(error).toEqual([
      {
        type: "error",
        data: {
          type: "error",
          sequence_number: before.length,
          code: "504",
          message: "upstream timed out",
          param: null,
        },
      },
    ]);
  });
});
