import { z } from "zod";
import { requestCookieJar, serializeCookie } from "../auth/cookies";
import type { CookieJar, CookieToSet } from "../auth/types";
import { log } from "../log";
import { recordHttpRequest } from "../metrics";
import { newRequestId, sanitizeRequestId, withRequestId } from "../request-id";
import { ApiError } from "./errors";

export interface RequestContext {
  requestId: string;
  /** The request's cookies; what is set on it is set on the response, errors included. */
  cookies: CookieJar & { toSet: CookieToSet[] };
}

export function json(body: unknown, init: { status?: number; headers?: HeadersInit } = {}): Response {
  return Response.json(body, { status: init.status ?? 200, headers: init.headers });
}

/** What Next.js passes a route handler besides the request: the dynamic segments' values. */
export interface RouteSegments {
  params?: Promise<Record<string, string | string[] | undefined>>;
}

/**
 * Wraps a route handler: one request id per request (taken from `x-request-id` when a proxy set
 * it, and carried by async context to every log line and gateway call made for it), ApiErrors
 * answered as `{"error":{type,message,request_id}}` with their status, anything else logged with
 * its stack and answered with a generic 500 that reveals nothing. Each request is logged once
 * and timed under its route pattern (`/api/x/[id]`), never its raw URL.
 */
export function route(handler: (request: Request, ctx: RequestContext) => Promise<Response>) {
  return async (request: Request, segments?: RouteSegments): Promise<Response> => {
    const started = performance.now();
    const requestId = sanitizeRequestId(request.headers.get("x-request-id")) ?? newRequestId();
    return withRequestId(requestId, async () => {
      const ctx: RequestContext = { requestId, cookies: requestCookieJar(request.headers.get("cookie")) };
      let response: Response;
      try {
        response = await handler(request, ctx);
      } catch (err) {
        response = errorResponse(err, ctx.requestId, request);
      }
      response.headers.set("x-request-id", ctx.requestId);
      for (const cookie of ctx.cookies.toSet) response.headers.append("set-cookie", serializeCookie(cookie));
      const pattern = routePattern(new URL(request.url).pathname, await segments?.params?.catch(() => undefined));
      const seconds = (performance.now() - started) / 1000;
      recordHttpRequest(pattern, request.method, response.status, seconds);
      log.info({ method: request.method, route: pattern, status: response.status, durationMs: Math.round(seconds * 10_000) / 10 }, "request");
      return response;
    });
  };
}

/**
 * The route pattern of a path: each dynamic segment's value replaced by its `[name]`, so a
 * metric label has one value per route, not one per reference or access code.
 */
export function routePattern(pathname: string, params: Record<string, string | string[] | undefined> | undefined): string {
  if (!params) return pathname;
  const segments = pathname.split("/");
  for (const [name, value] of Object.entries(params)) {
    if (Array.isArray(value)) {
      const start = segments.length - value.length;
      if (start > 0) segments.splice(start, value.length, `[...${name}]`);
      continue;
    }
    if (value === undefined) continue;
    const index = segments.findLastIndex((segment) => safeDecode(segment) === value);
    if (index > 0) segments[index] = `[${name}]`;
  }
  return segments.join("/");
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export function errorResponse(err: unknown, requestId: string, request?: Request): Response {
  if (err instanceof ApiError) {
    const headers: Record<string, string> = {};
    if (err.extra.retryAfterSeconds !== undefined) headers["retry-after"] = String(err.extra.retryAfterSeconds);
    return json(
      { error: { type: err.type, message: err.message, request_id: requestId, ...(err.extra.field ? { field: err.extra.field } : {}) } },
      { status: err.status, headers },
    );
  }
  log.error({ err, requestId, method: request?.method, path: request ? new URL(request.url).pathname : undefined }, "unhandled error");
  return json(
    { error: { type: "internal_error", message: "Something went wrong on our side. Try again; if it persists, quote the request id.", request_id: requestId } },
    { status: 500 },
  );
}

const maxBodyBytes = 64 * 1024;

/**
 * Reads and validates a JSON body. Malformed JSON, a body over 64 KiB and schema violations are
 * 4xx ApiErrors whose message names the offending field.
 */
export async function readJson<S extends z.ZodType>(request: Request, schema: S): Promise<z.infer<S>> {
  // Only JSON: a page on another site can post a form or text/plain with the user's cookies and
  // no preflight, but not application/json. (SameSite=Lax does not tell ports apart.)
  const type = request.headers.get("content-type")?.split(";")[0]?.trim().toLowerCase();
  if (type !== "application/json") {
    throw new ApiError("unsupported_media_type", `Content-Type must be application/json${type ? `, not ${type}` : ""}`);
  }
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > maxBodyBytes) throw new ApiError("payload_too_large", `Request body is larger than ${maxBodyBytes} bytes`);
  const text = await request.text();
  if (Buffer.byteLength(text) > maxBodyBytes) throw new ApiError("payload_too_large", `Request body is larger than ${maxBodyBytes} bytes`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ApiError("invalid_request", "Request body must be valid JSON");
  }
  return parseOrThrow(schema, body);
}

export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.join(".") ?? "";
  const message = field ? `${field}: ${issue?.message}` : (issue?.message ?? "Invalid request");
  throw new ApiError("invalid_request", message, field ? { field } : {});
}
