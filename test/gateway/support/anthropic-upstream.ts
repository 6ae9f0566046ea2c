import { readFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http";
import path from "node:path";
import { listenLocal } from "./fake-server";

/**
 * A stand-in for Anthropic's Messages API on a local port, answering with the exchanges recorded
 * from Anthropic's documentation (test/gateway/fixtures/anthropic/). The requested model picks
 * the exchange:
 *   claude-fixture → the basic message / stream; claude-tools → the get_weather tool call;
 *   claude-cached → a message / stream whose usage counts prompt-cache reads and writes;
 *   claude-429 / claude-500 → documented error bodies; claude-overloaded → a stream that fails
 *   with an `error` event; claude-hang → never answers. /v1/messages/count_tokens answers the
 *   documented count for any model.
 */

const fixtures = path.resolve(import.meta.dirname, "../fixtures/anthropic");
export const fixture = (name: string): string => readFileSync(path.join(fixtures, name), "utf8");
export const fixtureJson = <T = Record<string, unknown>>(name: string): T => JSON.parse(fixture(name)) as T;

export const anthropicKey = "anthropic-upstream-secret";

export interface FakeAnthropic {
  /** The api_base to configure: the host, as LiteLLM configs name Anthropic's. */
  url: string;
  requests: { path: string; headers: IncomingHttpHeaders; body: Record<string, unknown> }[];
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Writes a recorded event stream a few events at a time, as a real connection delivers it. */
function stream(res: ServerResponse, name: string): void {
  res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" });
  const events = fixture(name).split(/\n\n/).filter((event) => event.trim() !== "");
  for (let index = 0; index < events.length; index += 3) res.write(`${events.slice(index, index + 3).join("\n\n")}\n\n`);
  res.end();
}

export async function startFakeAnthropic(): Promise<FakeAnthropic> {
  const requests: FakeAnthropic["requests"] = [];
  const server: Server = createServer((req, res) => {
    const url = req.url ?? "/";
    if (req.headers["x-api-key"] !== anthropicKey) {
      send(res, 401, JSON.stringify({ type: "error", error: { type: "authentication_error", message: "invalid x-api-key" } }));
      req.resume();
      return;
    }
    if (req.method === "GET" && url === "/v1/models") {
      send(res, 200, JSON.stringify({ data: [{ type: "model", id: "claude-sonnet-4-5-20250929" }], has_more: false }));
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
      } catch {
        send(res, 400, JSON.stringify({ type: "error", error: { type: "invalid_request_error", message: "bad json" } }));
        return;
      }
      requests.push({ path: url, headers: req.headers, body });
      if (req.method === "POST" && url === "/v1/messages/count_tokens") {
        send(res, 200, fixture("count-tokens.json"));
        return;
      }
      if (req.method !== "POST" || url !== "/v1/messages") {
        send(res, 404, JSON.stringify({ type: "error", error: { type: "not_found_error", message: "Not found" } }));
        return;
      }
      const streamed = body.stream === true;
      switch (body.model) {
        case "claude-hang":
          return;
        case "claude-429":
          return send(res, 429, fixture("error-429.json"), { "retry-after": "7" });
        case "claude-500":
          return send(res, 500, fixture("error-500.json"));
        case "claude-overloaded":
          return stream(res, "stream-overloaded.sse");
        case "claude-tools":
          return streamed ? stream(res, "stream-tool-use.sse") : send(res, 200, fixture("tool-use.json"));
        case "claude-cached":
          return streamed ? stream(res, "stream-cached.sse") : send(res, 200, fixture("message-cached.json"));
        default:
          return streamed ? stream(res, "stream.sse") : send(res, 200, fixture("message.json"));
      }
    });
  });
  const listening = await listenLocal(server);
  return {
    url: `${listening.origin}`,
    requests,
    close: listening.close,
  };
}

/**
 * Deployments on the fake Anthropic. Prices are chosen so costs are exact:
 * 0.000001 per prompt token, 0.000002 per completion token.
 */
export function anthropicModels(apiBase: string): string {
  const model = (name: string, upstream = name, params = "") => `
  - model_name: ${name}
    litellm_params:
      model: anthropic/${upstream}
      api_base: ${apiBase}
      api_key: os.environ/ANTHROPIC_API_KEY${params}
    model_info:
      input_cost_per_token: 0.000001
      output_cost_per_token: 0.000002`;
  // Anthropic's cache prices relative to this input price: reads a tenth, writes 1.25×.
  const cached = `
  - model_name: claude-cached
    litellm_params:
      model: anthropic/claude-cached
      api_base: ${apiBase}
      api_key: os.environ/ANTHROPIC_API_KEY
    model_info:
      input_cost_per_token: 0.000001
      output_cost_per_token: 0.000002
      cache_read_input_token_cost: 0.0000001
      cache_creation_input_token_cost: 0.00000125`;
  return [
    cached,
    model("claude-fixture"),
    model("claude-tools"),
    model("claude-429"),
    model("claude-500"),
    model("claude-overloaded"),
    model("claude-hang", "claude-hang", "\n      timeout: 1"),
  ].join("");
}
