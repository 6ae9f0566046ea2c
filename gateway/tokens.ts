/**
 * Token estimates for when no provider count is available: the worst-case reservation before a
 * request, and the usage of a stream whose provider sent none. They are not a tokenizer; they
 * are deliberately on the high side, so a reservation covers the real cost.
 */

export function estimateTextTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content
      .map((part: unknown) =>
        part !== null && typeof part === "object" && "text" in part && typeof part.text === "string" ? part.text : "",
      )
      .join(" ");
  }
  return "";
}

/** OpenAI's accounting: a few tokens of framing per message plus the text. */
export function estimateMessagesTokens(messages: readonly unknown[]): number {
  let tokens = 3;
  for (const message of messages) {
    tokens += 4;
    if (message !== null && typeof message === "object" && "content" in message) {
      tokens += estimateTextTokens(contentText(message.content));
    }
  }
  return tokens;
}

/** Prompt tokens of a text or embedding input: a string, a list of strings, or token id lists. */
export function estimateInputTokens(input: unknown): number {
  if (typeof input === "string") return estimateTextTokens(input);
  if (Array.isArray(input)) {
    return input.reduce<number>((sum, item: unknown) => {
      if (typeof item === "number") return sum + 1;
      return sum + estimateInputTokens(item);
    }, 0);
  }
  return 0;
}

/**
 * An upper bound on a request's prompt tokens from its raw size: no tokenizer in use packs more
 * than one token into fewer than ~3 bytes of JSON for real text (CJK is ~3 bytes a token).
 */
export function promptTokensUpperBound(bodyBytes: number): number {
  return Math.ceil(bodyBytes / 3) + 8;
}
