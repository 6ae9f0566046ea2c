import type { OutgoingHttpHeaders, ServerResponse } from "node:http";

/**
 * The ids a response carries, kept on the response object rather than set as headers in
 * advance: a header set with `setHeader` before `writeHead` sends Node down its slow path, which
 * re-validates, lower-cases and copies every header of the response.
 */

const requestIds = Symbol("creditgate.requestId");
const callIds = Symbol("creditgate.callId");

interface Tagged {
  [requestIds]?: string;
  [callIds]?: string;
}

export function setRequestId(res: ServerResponse, requestId: string): void {
  (res as ServerResponse & Tagged)[requestIds] = requestId;
}

/** The id `request-log.ts` gave this request ("" for a response it never saw). */
export function requestIdOf(res: ServerResponse): string {
  return (res as ServerResponse & Tagged)[requestIds] ?? "";
}

/** LiteLLM's per-call id (`x-litellm-call-id`) of an LLM call, for the request's log line. */
export function setCallId(res: ServerResponse, callId: string): void {
  (res as ServerResponse & Tagged)[callIds] = callId;
}

export function callIdOf(res: ServerResponse): string | undefined {
  return (res as ServerResponse & Tagged)[callIds];
}

/**
 * `res.writeHead` with the request's `x-request-id` added to `headers`: an object, or name,
 * value pairs in a flat list (either fresh, since it is changed).
 */
export function writeHead(
  res: ServerResponse,
  status: number,
  headers: OutgoingHttpHeaders | string[],
): void {
  const requestId = requestIdOf(res);
  if (requestId !== "") {
    if (Array.isArray(headers)) headers.push("x-request-id", requestId);
    else headers["x-request-id"] = requestId;
  }
  res.writeHead(status, headers);
}
