import { createParser, type EventSourceParser } from "eventsource-parser";
import { z } from "zod";
import { decodeEvents } from "./providers/sse-decode";
import { UpstreamError } from "./providers/types";

/**
 * OpenAI's chat answers as the caller-side formats built on them (Anthropic's `/v1/messages`,
 * OpenAI's `/v1/responses`) read them: a completion, a stream chunk, the stream translated event
 * by event, and a tap that watches the translated events on their way to the caller.
 */

const completionSchema = z.looseObject({
  model: z.string().optional(),
  choices: z
    .array(
      z.looseObject({
        finish_reason: z.string().nullable().optional(),
        message: z.looseObject({
          content: z.string().nullable().optional(),
          tool_calls: z
            .array(z.looseObject({ id: z.string(), function: z.looseObject({ name: z.string(), arguments: z.string() }) }))
            .nullable()
            .optional(),
        }),
      }),
    )
    .min(1),
});
export type ChatCompletion = z.infer<typeof completionSchema>;

/** The upstream's chat completion; a body that is not one is the upstream's fault. */
export function parseChatCompletion(raw: Buffer, model: string): ChatCompletion {
  try {
    return completionSchema.parse(JSON.parse(raw.toString("utf8")));
  } catch {
    throw new UpstreamError("malformed", `upstream of model ${model} answered with a body that is not a chat completion`);
  }
}

const chunkSchema = z.looseObject({
  model: z.string().optional(),
  choices: z
    .array(
      z.looseObject({
        finish_reason: z.string().nullable().optional(),
        delta: z
          .looseObject({
            content: z.string().nullable().optional(),
            tool_calls: z
              .array(
                z.looseObject({
                  index: z.number().int().optional(),
                  id: z.string().nullable().optional(),
                  function: z.looseObject({ name: z.string().nullable().optional(), arguments: z.string().nullable().optional() }).optional(),
                }),
              )
              .nullable()
              .optional(),
          })
          .optional(),
      }),
    )
    .optional(),
  usage: z
    .looseObject({
      prompt_tokens: z.number(),
      completion_tokens: z.number().optional(),
      prompt_tokens_details: z.looseObject({ cached_tokens: z.number().nullable().optional() }).nullable().optional(),
    })
    .nullable()
    .optional(),
});
export type ChatChunk = z.infer<typeof chunkSchema>;

/** One `data:` payload of a chat stream, or null for one that is not a chunk (skipped). */
export function parseChatChunk(data: string): ChatChunk | null {
  try {
    return chunkSchema.parse(JSON.parse(data));
  } catch {
    return null;
  }
}

const encoder = new TextEncoder();

/** A chat stream as another format's events: `translator` turns each payload into events, then ends them. */
export async function* translateChatStream(
  events: AsyncIterable<Uint8Array>,
  translator: { push(data: string): string; finish(): string },
): AsyncIterable<Uint8Array> {
  for await (const batch of decodeEvents(events)) {
    let out = "";
    try {
      for (const event of batch) out += translator.push(event.data);
    } finally {
      if (out !== "") yield encoder.encode(out);
    }
  }
  const rest = translator.finish();
  if (rest !== "") yield encoder.encode(rest);
}

/**
 * Watches an event stream on its way to the caller, passing it on unchanged: each event's
 * JSON payload goes to `inspect`, which keeps what billing needs.
 */
export abstract class EventTap {
  private readonly decoder = new TextDecoder();
  private readonly parser: EventSourceParser;

  constructor() {
    this.parser = createParser({
      onEvent: (event) => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(event.data);
        } catch {
          return;
        }
        this.inspect(parsed);
      },
    });
  }

  push(chunk: Uint8Array): string {
    const text = this.decoder.decode(chunk, { stream: true });
    this.parser.feed(text);
    return text;
  }

  end(): string {
    const rest = this.decoder.decode();
    this.parser.feed(`${rest}\n\n`);
    return rest;
  }

  protected abstract inspect(event: unknown): void;
}
