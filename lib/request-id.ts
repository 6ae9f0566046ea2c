import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";

/**
 * The request id of the work in progress, carried by async context so the logger and the
 * gateway client can attach it without every function passing it along. One id per request at
 * the edge (the app's route wrapper), forwarded to the gateway as `x-request-id`.
 */

const current = new AsyncLocalStorage<string>();

/** An id a caller sent is kept only if it is short and plain: it ends up in logs and headers. */
export function sanitizeRequestId(value: string | null | undefined): string | undefined {
  return value && /^[\w.:-]{1,128}$/.test(value) ? value : undefined;
}

export function newRequestId(): string {
  return randomUUID();
}

export function withRequestId<T>(requestId: string, work: () => T): T {
  return current.run(requestId, work);
}

export function currentRequestId(): string | undefined {
  return current.getStore();
}
