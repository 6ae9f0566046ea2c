import type { IncomingMessage, ServerResponse } from "node:http";
import type { z } from "zod";
import { GatewayError, badRequest } from "./errors";
import { writeHead } from "./response-head";

// A body this much over the limit is not drained to its end: the connection is cut instead.
const drainLimitBytes = 64 * 1024 * 1024;

/**
 * Reads the request body up to `limitBytes`. A larger body is read to its end but not kept,
 * so the caller gets a proper 413 instead of a reset connection.
 */
export function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? "0");
  // A small request usually arrives whole with its head, and by the handler's first await Node
  // has parsed its body into the stream's buffer. Taking it from there skips the stream's flowing
  // mode and its process.nextTick hops.
  if (declared > 0 && declared <= limitBytes && req.readableFlowing === null && req.readableLength === declared) {
    return Promise.resolve(req.read() as Buffer);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = declared > limitBytes;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) tooLarge = true;
      if (!tooLarge) chunks.push(chunk);
      if (size > limitBytes + drainLimitBytes) req.destroy();
    });
    req.on("end", () => {
      if (tooLarge) {
        reject(payloadTooLarge(limitBytes));
        return;
      }
      resolve(chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks, size));
    });
    req.on("error", reject);
  });
}

export function payloadTooLarge(limitBytes: number): GatewayError {
  return new GatewayError(
    413,
    "invalid_request_error",
    `Request body is larger than the gateway's limit of ${limitBytes} bytes (general_settings.max_request_size_mb).`,
  );
}

/** Parses a JSON object body; anything else is the caller's mistake, answered 400. */
export function parseJsonObject(body: Buffer): Record<string, unknown> {
  if (body.length === 0) throw badRequest("Request body is empty; expected a JSON object.");
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch (err) {
    throw badRequest(`Request body is not valid JSON: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw badRequest("Request body must be a JSON object.");
  }
  return parsed as Record<string, unknown>;
}

/**
 * Validates with `schema`; the first problem becomes a 400 naming the field as `param` (under
 * `at`, when `value` is a part of the body).
 */
export function validate<S extends z.ZodType>(schema: S, value: unknown, at?: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = [...(at ? [at] : []), ...(issue?.path ?? [])].join(".");
  throw badRequest(field ? `${field}: ${issue?.message ?? "invalid"}` : (issue?.message ?? "invalid request"), field || null);
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value);
  writeHead(res, status, { ...headers, "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

export function queryOf(url: string): URLSearchParams {
  const index = url.indexOf("?");
  return new URLSearchParams(index < 0 ? "" : url.slice(index + 1));
}

export function pathOf(url: string): string {
  const index = url.indexOf("?");
  const path = index < 0 ? url : url.slice(0, index);
  return path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
}
