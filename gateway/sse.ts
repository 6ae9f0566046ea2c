import { usageFrom } from "./providers/types";
import type { Usage } from "./spend";

/**
 * Watches an OpenAI-shaped event stream on its way to the caller: it picks up the final usage
 * chunk, counts the streamed text for providers that send no usage, and drops the usage chunk
 * when the caller did not ask for one (the gateway always asks its upstream, to bill the stream).
 */
export class StreamTap {
  private readonly decoder = new TextDecoder();
  private pending = "";
  usage: Usage | null = null;
  streamedChars = 0;
  sawDone = false;

  constructor(private readonly forwardUsageChunk: boolean) {}

  /** Returns the complete events of `chunk` (and of earlier partial ones) to forward. */
  push(chunk: Uint8Array): string {
    this.pending += this.decoder.decode(chunk, { stream: true });
    let out = "";
    for (;;) {
      const end = this.eventEnd();
      if (end === null) break;
      const event = this.pending.slice(0, end.index);
      this.pending = this.pending.slice(end.index + end.length);
      out += this.inspect(event);
    }
    return out;
  }

  /** What is left when the upstream closes: a last event without its blank line, if any. */
  end(): string {
    const rest = this.pending + this.decoder.decode();
    this.pending = "";
    return rest.trim() === "" ? "" : this.inspect(rest.trimEnd());
  }

  private eventEnd(): { index: number; length: number } | null {
    const lf = this.pending.indexOf("\n\n");
    const crlf = this.pending.indexOf("\r\n\r\n");
    if (lf < 0 && crlf < 0) return null;
    if (crlf >= 0 && (lf < 0 || crlf < lf)) return { index: crlf, length: 4 };
    return { index: lf, length: 2 };
  }

  private inspect(event: string): string {
    const data = event
      .split(/\r?\n/)
      .filter((line) => line.startsWith("data:"))
      .map((line) => line.slice(5).trimStart())
      .join("\n");
    if (data === "") return `${event}\n\n`;
    if (data === "[DONE]") {
      this.sawDone = true;
      return `${event}\n\n`;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      return `${event}\n\n`;
    }
    if (parsed === null || typeof parsed !== "object") return `${event}\n\n`;
    const chunk = parsed as { usage?: unknown; choices?: unknown };
    const usage = usageFrom(chunk.usage);
    if (usage) this.usage = usage;
    const choices = Array.isArray(chunk.choices) ? chunk.choices : [];
    for (const choice of choices) this.streamedChars += choiceTextLength(choice);
    if (usage && choices.length === 0 && !this.forwardUsageChunk) return "";
    return `${event}\n\n`;
  }
}

function choiceTextLength(choice: unknown): number {
  if (choice === null || typeof choice !== "object") return 0;
  const record = choice as { delta?: { content?: unknown }; text?: unknown };
  const content = record.delta?.content ?? record.text;
  return typeof content === "string" ? content.length : 0;
}
