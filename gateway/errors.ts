import type { ServerResponse } from "node:http";
import { writeHead } from "./response-head";

/**
 * The one error type of the gateway. Every failure a caller can see is one of these, answered in
 * OpenAI's envelope `{"error":{"message","type","param","code"}}` so SDKs parse it; `code` is the
 * status as a string, as LiteLLM sends it.
 */
export class GatewayError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "GatewayError";
  }
}

// Types follow recent LiteLLM, which derives them from the status when nothing more specific fits.
export const badRequest = (message: string, param: string | null = null) =>
  new GatewayError(400, "invalid_request_error", message, param);

export const notFound = (message: string, param: string | null = null) =>
  new GatewayError(404, "not_found_error", message, param);

export const authError = (message: string, type = "auth_error", param: string | null = null) =>
  new GatewayError(401, type, message, param);

export const forbidden = (message: string, type = "permission_error", param: string | null = null) =>
  new GatewayError(403, type, message, param);

export const conflict = (message: string, param: string | null = null) =>
  new GatewayError(409, "conflict_error", message, param);

export function errorBody(err: GatewayError): string {
  return JSON.stringify({
    error: { message: err.message, type: err.type, param: err.param, code: String(err.status) },
  });
}

/** Writes `err` as the response (in `format`'s shape), unless the response has already begun (a stream). */
export function sendError(res: ServerResponse, err: GatewayError, format: (err: GatewayError) => string = errorBody): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const body = format(err);
  writeHead(res, err.status, {
    ...err.headers,
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}

export const internalError = () =>
  new GatewayError(500, "internal_server_error", "Internal server error. The gateway logged the details.");
