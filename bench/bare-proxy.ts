import { createServer } from "node:http";
import { Pool } from "undici";

/**
 * The floor for any Node.js gateway on this machine: a proxy that only parses the JSON body,
 * forwards it through a keep-alive undici pool and returns the upstream's answer, with no key,
 * budget, limit, metric or log. The benchmark runs it beside the gateway so the gateway's figures
 * can be read against what Node and the kernel cost here, whatever the machine. Run as its own
 * process with the upstream's origin in BENCH_UPSTREAM_ORIGIN; prints `{"port":N}` when listening.
 */

const origin = process.env.BENCH_UPSTREAM_ORIGIN;
if (!origin) throw new Error("BENCH_UPSTREAM_ORIGIN is not set");
const pool = new Pool(origin, { connections: 256, pipelining: 1 });

function forward(body: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    pool.dispatch(
      { method: "POST", path: "/v1/chat/completions", headers: { "content-type": "application/json" }, body },
      {
        // undici takes a handler for its current interface only when it has onRequestStart.
        onRequestStart: () => {},
        onResponseData: (_controller, chunk) => void chunks.push(chunk),
        onResponseEnd: () => resolve(Buffer.concat(chunks)),
        onResponseError: (_controller, error) => reject(error),
      },
    );
  });
}

const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    const body = JSON.stringify(JSON.parse(Buffer.concat(chunks).toString("utf8")));
    forward(body).then(
      (answer) => {
        JSON.parse(answer.toString("utf8"));
        res.writeHead(200, { "content-type": "application/json", "content-length": answer.length });
        res.end(answer);
      },
      () => {
        res.writeHead(502);
        res.end();
      },
    );
  });
});

server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no address");
  process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
});
process.on("SIGTERM", () => process.exit(0));
