import { describe, expect, it } from "vitest";
import { GatewayError } from "../../errors";
import { OllamaStreamTranslator, answerSchema, fromAnswer, messagesToPrompt, toChatRequest, toGenerateRequest } from "./translate";

const pixel = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=";

describe("OpenAI → Ollama requests", () => {
  it("images of user messages go as base64 in images, and response_format json_object as format json", () => {
    const request = toChatRequest(
      {
        messages: [{ role: "user", content: [{ type: "text", text: "Describe" }, { type: "image_url", image_url: { url: `data:image/png;base64,${pixel}` } }] }],
        response_format: { type: "json_object" },
        seed: 7,
      },
      "llava",
      false,
    );
    expect(request).toEqual({
      model: "llava",
      stream: false,
      messages: [{ role: "user", content: "Describe", images: [pixel] }],
      format: "json",
      options: { seed: 7 },
    });
  });

  it("a json_schema response_format is passed as Ollama's format schema", () => {
    const schema = { type: "object", properties: { age: { type: "integer" } } };
    const request = toChatRequest({ messages: [{ role: "user", content: "x" }], response_format: { type: "json_schema", json_schema: { name: "s", schema } } }, "m", true);
    expect(request.format).toEqual(schema);
  });

  it("runs of one role share a heading in the generate prompt, and tool calls are written out", () => {
    const { prompt, images } = messagesToPrompt([
      { role: "system", content: "Be brief." },
      { role: "user", content: "One." },
      { role: "user", content: [{ type: "text", text: "Two." }, { type: "image_url", image_url: { url: `data:image/jpeg;base64,${pixel}` } }] },
      { role: "assistant", content: "", tool_calls: [{ id: "t", function: { name: "f", arguments: '{"a":1}' } }] },
      { role: "tool", content: "done", tool_call_id: "t" },
    ]);
    expect(prompt).toBe(
      '### System:\nBe brief.\n\n### User:\nOne.Two.\n\n### Assistant:\nTool Calls: {"name":"f","arguments":"{\\"a\\":1}"}\n\n### User:\ndone\n\n',
    );
    expect(images).toEqual([pixel]);
  });

  it("a prompt that is not one string is refused with a 400", () => {
    expect(() => toGenerateRequest({ prompt: ["a", "b"] }, "m", false)).toThrow(GatewayError);
  });
});

describe("Ollama answers → OpenAI", () => {
  it("done_reason length is finish_reason length, and eval counts are the usage", () => {
    const answer = answerSchema.parse({ model: "m", response: "cut", done: true, done_reason: "length", prompt_eval_count: 3, eval_count: 9 });
    const { body, usage } = fromAnswer(answer, "m", "text");
    expect(usage).toEqual({ promptTokens: 3, completionTokens: 9 });
    expect(body).toMatchObject({ object: "text_completion", choices: [{ text: "cut", finish_reason: "length" }], usage: { total_tokens: 12 } });
  });

  it("thinking becomes reasoning_content", () => {
    const answer = answerSchema.parse({ message: { role: "assistant", content: "4", thinking: "2+2" }, done: true, prompt_eval_count: 1, eval_count: 1 });
    expect(fromAnswer(answer, "m", "chat").body).toMatchObject({ choices: [{ message: { content: "4", reasoning_content: "2+2" } }] });
  });

  it("a text stream yields text_completion chunks, a finish chunk and a usage chunk from the done line", () => {
    const translator = new OllamaStreamTranslator("m", "text");
    const chunks = [
      ...translator.translate(answerSchema.parse({ response: "Hi", done: false })),
      ...translator.translate(answerSchema.parse({ response: "", done: true, done_reason: "stop", prompt_eval_count: 2, eval_count: 1 })),
    ] as { object: string; choices: { text?: string; finish_reason?: string | null }[]; usage?: unknown }[];
    expect(chunks.map((chunk) => chunk.object)).toEqual(["text_completion", "text_completion", "text_completion"]);
    expect(chunks[0]?.choices[0]?.text).toBe("Hi");
    expect(chunks[1]?.choices[0]?.finish_reason).toBe("stop");
    expect(chunks[2]).toMatchObject({ choices: [], usage: { prompt_tokens: 2, completion_tokens: 1, total_tokens: 3 } });
  });
});
