import { createServer, type Server, type ServerResponse } from "node:http";
import { listenLocal, readJson } from "./fake-server";

/**
 * A stand-in for an OpenAI-compatible provider on a local port, speaking OpenAI's wire format.
 * The requested upstream model name picks a behaviour, so one server serves every test:
 *   fail-500 → 500 error body; unauthorized → 401; bad-request → 400; hang → never answers;
 *   no-usage → answers (and streams) without usage; slow-stream → streams (when asked to) a chunk every 50 ms
 *   for a few seconds; fail-429 → 429 with `retry-after: 0`; fail-503 → 503; delay-<ms> → a
 *   normal answer after <ms> milliseconds (streams send their first chunk then); anything else → a
 *   normal answer with fixed usage; cut-stream / stall-stream → (streaming) one chunk, then
 *   the connection drops / nothing more; tool-call → with tools, a call of the first one with
 *   {"city":"Paris"}, or a patch as its `input` (streamed in pieces when asked to stream).
 */

export const upstreamUsage = { prompt_tokens: 10, completion_tokens: 20 };

export interface FakeUpstream {
  url: string;
  /** Requests received, for asserting what the gateway sent upstream. */
  requests: { path: string; authorization: string | undefined; body: Record<string, unknown> }[];
  /** How many `hang` requests the gateway has let go of (their connection closed). */
  hangsReleased(): number;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function completionTokens(body: Record<string, unknown>): number {
  const max = body.max_tokens ?? body.max_completion_tokens;
  return typeof max === "number" ? Math.min(max, upstreamUsage.completion_tokens) : upstreamUsage.completion_tokens;
}

/**
 * For `tool-call`: the first tool's name and the arguments it is called with, in two pieces:
 * {"city":"Paris"}, or for a tool taking `input` (a custom tool as the gateway passes it on) a patch.
 */
function firstToolCall(body: Record<string, unknown>): { name: string; pieces: [string, string] } | undefined {
  type Tool = { function?: { name?: string; parameters?: { properties?: Record<string, unknown> } } };
  const [tool] = Array.isArray(body.tools) ? (body.tools as Tool[]) : [];
  const name = tool?.function?.name;
  if (name === undefined) return undefined;
  if (tool?.function?.parameters?.properties?.input) return { name, pieces: ['{"input":"*** Begin Patch\\n', '*** End Patch"}'] };
  return { name, pieces: ['{"city":', '"Paris"}'] };
}

function chat(res: ServerResponse, body: Record<string, unknown>): void {
  const model = String(body.model);
  const completion = completionTokens(body);
  const usage = { prompt_tokens: upstreamUsage.prompt_tokens, completion_tokens: completion, total_tokens: upstreamUsage.prompt_tokens + completion };
  const withUsage = model !== "no-usage";
  const tool = model === "tool-call" ? firstToolCall(body) : undefined;
  if (tool !== undefined) {
    const call = { id: "call_fake_1", type: "function", function: { name: tool.name, arguments: tool.pieces.join("") } };
    if (body.stream !== true) {
      send(res, 200, {
        id: "chatcmpl-tool",
        object: "chat.completion",
        created: 1,
        model,
        choices: [{ index: 0, finish_reason: "tool_calls", message: { role: "assistant", content: null, tool_calls: [call] } }],
        usage,
      });
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream" });
    const base = { id: "chatcmpl-tool", object: "chat.completion.chunk", created: 1, model };
    const deltas = [
      { role: "assistant", tool_calls: [{ index: 0, id: call.id, type: "function", function: { name: tool.name, arguments: "" } }] },
      ...tool.pieces.map((piece) => ({ tool_calls: [{ index: 0, function: { arguments: piece } }] })),
    ];
    for (const delta of deltas) res.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, finish_reason: null }] })}\n\n`);
    res.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: {}, finish_reason: "tool_calls" }] })}\n\n`);
    res.write(`data: ${JSON.stringify({ ...base, choices: [], usage })}\n\n`);
    res.end("data: [DONE]\n\n");
    return;
  }
  if (body.stream === true) {
    res.writeHead(200, { "content-type": "text/event-stream" });
    const base = { id: "chatcmpl-upstream", object: "chat.completion.chunk", created: 1, model };
    const options = body.stream_options as { include_usage?: boolean } | undefined;
    for (const piece of ["Hello", " from", " upstream"]) {
      res.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] })}\n\n`);
    }
    res.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] })}\n\n`);
    if (withUsage && options?.include_usage) res.write(`data: ${JSON.stringify({ ...base, choices: [], usage })}\n\n`);
    res.end("data: [DONE]\n\n");
    return;
  }
  send(res, 200, {
    id: "chatcmpl-upstream",
    object: "chat.completion",
    created: 1,
    model,
    choices: [{ index: 0, finish_reason: "stop", message: { role: "assistant", content: "Hello from upstream" } }],
    ...(withUsage ? { usage } : {}),
  });
}

function slowStream(res: ServerResponse): void {
  res.writeHead(200, { "content-type": "text/event-stream" });
  let sent = 0;
  const timer = setInterval(() => {
    sent += 1;
    const chunk = { id: "chatcmpl-slow", object: "chat.completion.chunk", created: 1, model: "slow-stream", choices: [{ index: 0, delta: { content: "word " }, finish_reason: null }] };
    res.write(`data: ${JSON.stringify(chunk)}\n\n`);
    if (sent >= 100) {
      clearInterval(timer);
      res.end("data: [DONE]\n\n");
    }
  }, 50);
  res.on("close", () => clearInterval(timer));
}

export async function startUpstream(): Promise<FakeUpstream> {
  const requests: FakeUpstream["requests"] = [];
  let hangsReleased = 0;
  const server: Server = createServer((req, res) => {
    const path = req.url ?? "/";
    if (req.method === "GET" && path.endsWith("/models")) {
      send(res, 200, { object: "list", data: [{ id: "upstream-model", object: "model", created: 1, owned_by: "test" }] });
      return;
    }
    readJson(req)
      .then((body) => {
        requests.push({ path, authorization: req.headers.authorization, body });
        const model = String(body.model);
        if (model === "hang") {
          res.on("close", () => (hangsReleased += 1));
          return;
        }
        if (model === "fail-429") {
          const text = JSON.stringify({ error: { message: "Rate limit reached for requests", type: "requests", code: "rate_limit_exceeded" } });
          res.writeHead(429, { "content-type": "application/json", "retry-after": "0", "content-length": Buffer.byteLength(text) });
          return res.end(text);
        }
        if ((model === "cut-stream" || model === "stall-stream") && body.stream === true) {
          // One chunk, then the connection drops (cut) or stays silent (stall): failures after the caller got bytes.
          res.writeHead(200, { "content-type": "text/event-stream" });
          const chunk = { id: "chatcmpl-cut", object: "chat.completion.chunk", created: 1, model, choices: [{ index: 0, delta: { content: "Hel" }, finish_reason: null }] };
          res.write(`data: ${JSON.stringify(chunk)}\n\n`, () => {
            if (model === "cut-stream") setTimeout(() => res.destroy(), 50);
          });
          return;
        }
        if (model === "fail-503") return send(res, 503, { error: { message: "upstream overloaded", type: "server_error" } });
        const delayed = /^delay-(\d+)$/.exec(model);
        if (delayed) {
          const timer = setTimeout(() => chat(res, body), Number(delayed[1]));
          res.on("close", () => clearTimeout(timer));
          return;
        }
        if (model === "fail-500") return send(res, 500, { error: { message: "upstream exploded", type: "server_error" } });
        if (model === "bad-request") return send(res, 400, { error: { message: "temperature must be at most 2", type: "invalid_request_error" } });
        if (model === "slow-stream" && body.stream === true) return slowStream(res);
        if (model === "unauthorized") return send(res, 401, { error: { message: "bad upstream key", type: "invalid_api_key" } });
        if (path.endsWith("/chat/completions")) return chat(res, body);
        if (path.endsWith("/completions")) {
          return send(res, 200, {
            id: "cmpl-upstream",
            object: "text_completion",
            created: 1,
            model,
            choices: [{ index: 0, text: "Hello from upstream", logprobs: null, finish_reason: "stop" }],
            usage: { ...upstreamUsage, total_tokens: 30 },
          });
        }
        if (path.endsWith("/embeddings")) {
          // Floats whatever encoding_format asks, as older OpenAI-compatible servers answer.
          const inputs = Array.isArray(body.input) ? body.input : [body.input];
          return send(res, 200, {
            object: "list",
            model,
            data: inputs.map((_input, index) => ({ object: "embedding", index, embedding: [0.1, 0.2, 0.3] })),
            usage: { prompt_tokens: 8, total_tokens: 8 },
          });
        }
        send(res, 404, { error: { message: "no such route" } });
      })
      .catch(() => send(res, 400, { error: { message: "bad json" } }));
  });
  const listening = await listenLocal(server);
  return {
    url: `${listening.origin}/v1`,
    requests,
    hangsReleased: () => hangsReleased,
    close: listening.close,
  };
}

/**
 * Prices chosen so costs are exact: 10 prompt + 20 completion tokens cost
 * 10 × 0.000001 + 20 × 0.000002 = $0.00005 per chat request.
 */
export const inputCostPerToken = 0.000001;
export const outputCostPerToken = 0.000002;
export const chatCost = 0.00005;

/** A config with upstream models on the fake server plus a mock model. */
/** The tests' config; `models` adds entries to its model_list, `extra` top-level sections. */
export function testConfig(upstreamUrl: string, extra = "", models = ""): string {
  const priced = `
    model_info:
      input_cost_per_token: ${inputCostPerToken}
      output_cost_per_token: ${outputCostPerToken}`;
  const upstreamModel = (name: string, upstream = name, params = "") => `
  - model_name: ${name}
    litellm_params:
      model: openai/${upstream}
      api_base: ${upstreamUrl}
      api_key: os.environ/TEST_UPSTREAM_KEY${params}${priced}`;
  return `
model_list:${upstreamModel("gpt-test")}${upstreamModel("other-model")}${upstreamModel("beta-model", "beta-model")}
      access_groups: ["beta-group"]${upstreamModel("fail-500")}${upstreamModel("unauthorized")}${upstreamModel("bad-request")}${upstreamModel("slow-stream")}${upstreamModel("hang", "hang", "\n      timeout: 1")}${upstreamModel("hang-long", "hang", "\n      timeout: 600")}${upstreamModel("no-usage")}${upstreamModel("embed-test")}${upstreamModel("tool-call")}
  - model_name: mock-model
    litellm_params:
      model: mock/mock-model${priced}${models}
general_settings:
  proxy_batch_write_at: 1
  max_request_size_mb: 1
${extra}`;
}

export const upstreamKey = "upstream-secret-key";
