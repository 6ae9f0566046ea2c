import { readFileSync } from "node:fs";
import { createServer, type ServerResponse } from "node:http";
import path from "node:path";
import { listenLocal, readJson } from "./fake-server";

/**
 * A stand-in for an Ollama server on a local port, answering with the recorded exchanges in
 * fixtures/ollama-api.json: one JSON object when `stream` is false, NDJSON lines otherwise
 * (Ollama streams by default). The model name picks a behaviour: missing-model → 404,
 * busy → 429, crash → 500, hang → never answers, tool-model → a tool call, fail-midway → an
 * error line after the first piece of text.
 */

interface Fixtures {
  chat: Record<string, unknown>;
  chatStream: Record<string, unknown>[];
  chatTools: Record<string, unknown>;
  generate: Record<string, unknown>;
  generateStream: Record<string, unknown>[];
  embed: Record<string, unknown>;
  errors: Record<string, { status: number; body: unknown }>;
}

export const ollamaFixtures = JSON.parse(
  readFileSync(path.join(import.meta.dirname, "../fixtures/ollama-api.json"), "utf8"),
) as Fixtures;

export interface FakeOllama {
  url: string;
  requests: { path: string; body: Record<string, unknown> }[];
  close(): Promise<void>;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function sendLines(res: ServerResponse, lines: unknown[]): void {
  res.writeHead(200, { "content-type": "application/x-ndjson" });
  for (const line of lines) res.write(`${JSON.stringify(line)}\n`);
  res.end();
}

export async function startOllama(): Promise<FakeOllama> {
  const requests: FakeOllama["requests"] = [];
  const server = createServer((req, res) => {
    const route = req.url ?? "/";
    if (req.method === "GET" && route === "/api/tags") {
      return sendJson(res, 200, { models: [{ name: "llama3.2:latest", model: "llama3.2:latest", size: 2019393189 }] });
    }
    readJson(req)
      .then((body) => {
        requests.push({ path: route, body });
        const model = String(body.model);
        const stream = body.stream !== false;
        if (model === "hang") return;
        const { errors } = ollamaFixtures;
        const failure = model === "missing-model" ? errors.notFound : model === "busy" ? errors.busy : model === "crash" ? errors.internal : undefined;
        if (failure) return sendJson(res, failure.status, failure.body);
        if (route === "/api/embed") return sendJson(res, 200, ollamaFixtures.embed);
        if (route === "/api/generate") {
          return stream ? sendLines(res, ollamaFixtures.generateStream) : sendJson(res, 200, ollamaFixtures.generate);
        }
        if (route !== "/api/chat") return sendJson(res, 404, { error: "404 page not found" });
        if (model === "tool-model") {
          return stream ? sendLines(res, [{ ...ollamaFixtures.chatTools }]) : sendJson(res, 200, ollamaFixtures.chatTools);
        }
        if (model === "fail-midway") {
          return sendLines(res, [ollamaFixtures.chatStream[0], { error: "an error was encountered while running the model: unexpected EOF" }]);
        }
        return stream ? sendLines(res, ollamaFixtures.chatStream) : sendJson(res, 200, ollamaFixtures.chat);
      })
      .catch(() => sendJson(res, 400, { error: "invalid character in request body" }));
  });
  const listening = await listenLocal(server);
  return {
    url: `${listening.origin}`,
    requests,
    close: listening.close,
  };
}
