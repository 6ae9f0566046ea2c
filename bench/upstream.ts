import { createServer } from "node:http";

/**
 * The benchmark's upstream: an OpenAI-compatible chat endpoint that answers at once with a
 * fixed completion and usage, as cheaply as Node allows, so the figures measure the gateway and
 * not the upstream. Run as its own process; prints `{"port":N}` when listening.
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

const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  req.resume();
  req.on("end", () => {
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
