import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import path from "node:path";
import { EventStreamCodec } from "@smithy/core/event-streams";
import { Hash, fromUtf8, toUtf8 } from "@smithy/core/serde";
import { SignatureV4 } from "@smithy/signature-v4";
import { listenLocal } from "./fake-server";

/**
 * A stand-in for the Bedrock runtime on a local port, answering with the recorded Converse
 * exchanges in fixtures/bedrock-converse.json: JSON for /converse, binary event-stream frames
 * for /converse-stream. It recomputes every request's SigV4 signature with the test
 * credentials and refuses a wrong one the way AWS does (403 InvalidSignatureException).
 * The model id in the path picks a behaviour: throttled → 429, broken → 500, hang → never
 * answers, tool-model → a tool call, stream-exception → a stream that fails midway,
 * stream-cut → a stream that ends before messageStop. InvokeModel on a Titan Text Embeddings or
 * Cohere Embed id answers with `fakeEmbedding` vectors in that family's shape, counting a token
 * per word (in the body for Titan, in the x-amzn-bedrock-input-token-count header for Cohere).
 */

export const awsTestCredentials = { accessKeyId: "AKIDEXAMPLETEST", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" };
export const awsTestRegion = "us-west-1";

interface StreamEvent {
  event: string;
  payload: unknown;
}
interface Fixtures {
  text: { response: unknown };
  toolUse: { response: unknown };
  textStream: StreamEvent[];
  toolUseStream: StreamEvent[];
  errors: Record<string, { status: number; type: string; body: unknown }>;
}

export const bedrockFixtures = JSON.parse(
  readFileSync(path.join(import.meta.dirname, "../fixtures/bedrock-converse.json"), "utf8"),
) as Fixtures;

export interface BedrockRequest {
  modelId: string;
  operation: string;
  body: Record<string, unknown>;
  signatureValid: boolean;
  credentialScope: string;
}

export interface FakeBedrock {
  url: string;
  requests: BedrockRequest[];
  close(): Promise<void>;
}

const codec = new EventStreamCodec(toUtf8, fromUtf8);

function frame(event: string, payload: unknown): Uint8Array {
  return codec.encode({
    headers: {
      ":event-type": { type: "string", value: event },
      ":content-type": { type: "string", value: "application/json" },
      ":message-type": { type: "string", value: "event" },
    },
    body: fromUtf8(JSON.stringify(payload)),
  });
}

function exceptionFrame(type: string, message: string): Uint8Array {
  return codec.encode({
    headers: {
      ":exception-type": { type: "string", value: type },
      ":content-type": { type: "string", value: "application/json" },
      ":message-type": { type: "string", value: "exception" },
    },
    body: fromUtf8(JSON.stringify({ message })),
  });
}

/** The fake's vector for a text: exact in float32, so base64 answers decode to the same numbers. */
export function fakeEmbedding(text: string, size: number): number[] {
  return Array.from({ length: size }, (_, index) => ((text.length + index) % 16) / 4);
}

export const wordCount = (text: string) => text.split(/\s+/).filter((word) => word !== "").length;

function sendEmbeddings(res: ServerResponse, modelId: string, body: Record<string, unknown>): void {
  if (modelId.includes("titan-embed-text")) {
    const text = String(body.inputText);
    const size = typeof body.dimensions === "number" ? body.dimensions : modelId.includes("-v1") ? 1536 : 1024;
    return sendJson(res, 200, { embedding: fakeEmbedding(text, size), inputTextTokenCount: wordCount(text) });
  }
  const texts = body.texts as string[];
  const text = JSON.stringify({ id: "embed-test", response_type: "embeddings_floats", texts, embeddings: texts.map((item) => fakeEmbedding(item, 8)) });
  res.writeHead(200, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    "x-amzn-bedrock-input-token-count": String(texts.reduce((sum, item) => sum + wordCount(item), 0)),
  });
  res.end(text);
}

function readRaw(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown, errorType?: string): void {
  const text = JSON.stringify(body);
  const headers: Record<string, string | number> = { "content-type": "application/json", "content-length": Buffer.byteLength(text) };
  if (errorType) headers["x-amzn-errortype"] = `${errorType}:http://internal.amazon.com/coral/com.amazon.bedrock/`;
  res.writeHead(status, headers);
  res.end(text);
}

/** Signs the request again as the client should have, with the time it claims, and compares. */
async function verifySignature(req: IncomingMessage, body: string, port: number): Promise<{ valid: boolean; scope: string }> {
  const authorization = req.headers.authorization ?? "";
  const match = /^AWS4-HMAC-SHA256 Credential=([^,]+), SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(authorization);
  const amzDate = req.headers["x-amz-date"];
  if (!match?.[1] || !match[2] || typeof amzDate !== "string") return { valid: false, scope: "" };
  const scope = match[1].split("/").slice(1).join("/");
  const headers: Record<string, string> = {};
  for (const name of match[2].split(";")) {
    const value = req.headers[name];
    if (typeof value === "string") headers[name] = value;
  }
  const signingDate = new Date(
    amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, "$1-$2-$3T$4:$5:$6Z"),
  );
  const signer = new SignatureV4({
    service: "bedrock",
    region: awsTestRegion,
    credentials: awsTestCredentials,
    sha256: Hash.bind(null, "sha256"),
  });
  const signed = await signer.sign(
    { method: req.method ?? "POST", protocol: "http:", hostname: "127.0.0.1", port, path: req.url ?? "/", query: {}, headers, body },
    { signingDate },
  );
  return { valid: signed.headers.authorization === authorization, scope };
}

async function writeFrames(res: ServerResponse, frames: Uint8Array[]): Promise<void> {
  res.writeHead(200, { "content-type": "application/vnd.amazon.eventstream", "x-amzn-requestid": "test-request" });
  for (const bytes of frames) {
    // One frame split over two writes, so the client must reassemble frames across chunks.
    const half = Math.floor(bytes.length / 2);
    res.write(bytes.subarray(0, half));
    await new Promise((resolve) => setImmediate(resolve));
    res.write(bytes.subarray(half));
  }
  res.end();
}

export async function startBedrock(): Promise<FakeBedrock> {
  const requests: BedrockRequest[] = [];
  let port = 0;
  const server = createServer((req, res) => {
    void (async () => {
      const raw = await readRaw(req);
      const match = /^\/model\/([^/]+)\/(converse|converse-stream|invoke)$/.exec(req.url ?? "");
      if (!match?.[1] || !match[2]) return sendJson(res, 404, { message: "Unknown operation" }, "UnknownOperationException");
      const modelId = decodeURIComponent(match[1]);
      const operation = match[2];
      const { valid, scope } = await verifySignature(req, raw, port);
      requests.push({ modelId, operation, body: JSON.parse(raw) as Record<string, unknown>, signatureValid: valid, credentialScope: scope });
      if (!valid) {
        // AWS quotes the canonical request it expected, signed headers and all, after the first paragraph.
        const signedHeaders = /SignedHeaders=([^,]+)/.exec(req.headers.authorization ?? "")?.[1]?.split(";") ?? [];
        const canonical = [req.method, req.url, "", ...signedHeaders.map((name) => `${name}:${String(req.headers[name])}`)].join("\n");
        const message = `The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.\n\nThe Canonical String for this request should have been\n'${canonical}'\n`;
        return sendJson(res, 403, { message }, "InvalidSignatureException");
      }
      if (modelId === "hang") return;
      const errors = bedrockFixtures.errors;
      const failure = modelId.startsWith("throttled") ? errors.throttling : modelId === "broken" ? errors.internal : modelId === "invalid" ? errors.validation : undefined;
      if (failure) return sendJson(res, failure.status, failure.body, failure.type);
      if (operation === "invoke") return sendEmbeddings(res, modelId, JSON.parse(raw) as Record<string, unknown>);
      const tool = modelId === "tool-model";
      if (operation === "converse") return sendJson(res, 200, (tool ? bedrockFixtures.toolUse : bedrockFixtures.text).response);
      const events = tool ? bedrockFixtures.toolUseStream : bedrockFixtures.textStream;
      if (modelId === "stream-cut") {
        const [start, firstDelta] = events;
        if (!start || !firstDelta) throw new Error("fixture too short");
        return writeFrames(res, [frame(start.event, start.payload), frame(firstDelta.event, firstDelta.payload)]);
      }
      if (modelId === "stream-exception") {
        const [start, firstDelta] = events;
        if (!start || !firstDelta) throw new Error("fixture too short");
        return writeFrames(res, [
          frame(start.event, start.payload),
          frame(firstDelta.event, firstDelta.payload),
          exceptionFrame("modelStreamErrorException", "The model stopped responding mid-stream."),
        ]);
      }
      await writeFrames(res, events.map((event) => frame(event.event, event.payload)));
    })().catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { message: String(err) }, "InternalServerException");
    });
  });
  const listening = await listenLocal(server);
  port = listening.port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: listening.close,
  };
}
