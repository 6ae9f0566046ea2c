import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { sanitizeRequestId } from "../lib/request-id";
import type { Logger } from "./log";
import { pathOf } from "./http";
import { callIdOf, setRequestId } from "./response-head";

/**
 * One request id per request: the caller's `x-request-id` when it is short and plain (the app
 * sends its own, so one id follows a change from the browser to the gateway), a fresh one
 * otherwise. It is answered in the `x-request-id` header and logged once per request, when the
 * response is done. `x-litellm-call-id` stays LiteLLM's per-call id; both are on the log line.
 */

// Probes and scrapes arrive every few seconds; their lines are debug, so info stays readable.
const quietPaths = new Set(["/health/liveliness", "/health/liveness", "/health/readiness", "/metrics"]);

export function beginRequest(log: Logger, req: IncomingMessage, res: ServerResponse): void {
  const started = performance.now();
  const requestId = sanitizeRequestId(headerValue(req.headers["x-request-id"])) ?? randomUUID();
  setRequestId(res, requestId);
  // Above info (LOG_LEVEL=warn) no line would be written: skip the listener too.
  if (!log.isLevelEnabled("info")) return;
  res.once("close", () => {
    const path = pathOf(req.url ?? "/");
    const callId = callIdOf(res);
    // One shape for every line; pino leaves out the fields that are undefined.
    const line = {
      requestId,
      method: req.method,
      path,
      status: res.statusCode,
      durationMs: Math.round((performance.now() - started) * 10) / 10,
      callId: typeof callId === "string" ? callId : undefined,
      aborted: res.writableFinished ? undefined : true,
    };
    if (quietPaths.has(path)) log.debug(line, "request");
    else log.info(line, "request");
  });
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
