import { createServer } from "node:http";

/**
 * The benchmark's upstream: an OpenAI-compatible chat endpoint, and Anthropic's /v1/messages,
 * each answering at once with a fixed reply and usage, as cheaply as Node allows, so the figures
 * measure the gateway and not the upstream. Run as its own process; prints `{"port":N}` when
 * listening.
 */

const reply = Buffer.from(
  JSON.stringify({
    id: "chatcmpl-bench",
    object: "chat.completion",
    created: 1_700_000_000,
    model: "bench-model",
    system_fingerprint: null,
    choices: [{ index: 0, finish_reason: "stop", message: { role: "assistant", content: "Hello from the bench upstream." } }],
    usage: { prompt_tokens: 12, completion_tokens: 8, total_tokens: 20 },
  }),
);
const headers = { "content-type": "application/json", "content-length": String(reply.length) };

// Anthropic's documented message shape, the same text and token counts.
const anthropicReply = Buffer.from(
  JSON.stringify({
    id: "msg_bench",
    type: "message",
    role: "assistant",
    model: "claude-sonnet-4-5-20250929",
    content: [{ type: "text", text: "Hello from the bench upstream." }],
    stop_reason: "end_turn",
    stop_sequence: null,
    usage: { input_tokens: 12, output_tokens: 8 },
  }),
);
const anthropicHeaders = { "content-type": "application/json", "content-length": String(anthropicReply.length) };

const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  req.resume();
  req.on("end", () => {
    if (req.url === "/v1/messages") {
      res.writeHead(200, anthropicHeaders);
      res.end(anthropicReply);
      return;
    }
    res.writeHead(200, headers);
    res.end(reply);
  });
});

server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no address");
  process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
});
process.on("SIGTERM", () => process.exit(0));
