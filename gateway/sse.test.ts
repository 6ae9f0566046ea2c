import { describe, expect, it } from "vitest";
import { StreamTap } from "./sse";

const encode = (text: string) => new TextEncoder().encode(text);
const chunk = (content: string) =>
  `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", choices: [{ index: 0, delta: { content } }] })}\n\n`;
const usageChunk = `data: ${JSON.stringify({ id: "c", choices: [], usage: { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 } })}\n\n`;

describe("the stream tap", () => {
  it("takes the usage from the final chunk and forwards it when the caller asked for it", () => {
    const tap = new StreamTap(true);
    const out = tap.push(encode(chunk("Hel") + chunk("lo") + usageChunk + "data: [DONE]\n\n"));
    expect(tap.usage).toEqual({ promptTokens: 9, completionTokens: 3 });
    expect(out).toContain('"usage"');
    expect(tap.sawDone).toBe(true);
  });

  it("drops the usage chunk the caller did not ask for", () => {
    const tap = new StreamTap(false);
    const out = tap.push(encode(chunk("Hi") + usageChunk + "data: [DONE]\n\n"));
    expect(tap.usage).not.toBeNull();
    expect(out).not.toContain("prompt_tokens");
    expect(out).toContain("[DONE]");
  });

  it("reassembles events split across network chunks and counts the streamed text", () => {
    const tap = new StreamTap(true);
    const whole = chunk("abcd") + chunk("efgh");
    let out = "";
    for (let index = 0; index < whole.length; index += 7) out += tap.push(encode(whole.slice(index, index + 7)));
    out += tap.end();
    expect(out).toBe(whole);
    expect(tap.streamedChars).toBe(8);
  });
});
