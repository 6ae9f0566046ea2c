import { createParser, type EventSourceMessage } from "eventsource-parser";

/**
 * Server-sent events out of a byte stream, decoded by eventsource-parser (multi-line data,
 * CRLF, comments and events split across chunks are its problem, not ours). Yields each chunk's
 * complete events together, so a consumer can answer one upstream chunk with one write.
 */
export async function* decodeEvents(body: AsyncIterable<Uint8Array>): AsyncIterable<EventSourceMessage[]> {
  const decoder = new TextDecoder();
  let batch: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => batch.push(event) });
  for await (const chunk of body) {
    parser.feed(decoder.decode(chunk, { stream: true }));
    if (batch.length === 0) continue;
    const ready = batch;
    batch = [];
    yield ready;
  }
  // A last event without its blank line still counts, as browsers' EventSource does not but
  // servers cut off by a proxy often send.
  parser.feed(`${decoder.decode()}\n\n`);
  if (batch.length > 0) yield batch;
}
