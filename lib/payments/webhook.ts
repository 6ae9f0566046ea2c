import { ApiError } from "../http/errors";
import { recordWebhook, webhookResultOf } from "../metrics";
import { verifyPaystackSignature } from "../paystack/signature";
import { webhookEventSchema } from "../paystack/schemas";
import { dispatchEvent, type EventOutcome } from "./events";
import type { PaymentServices } from "./services";

/** Paystack's events are a few kilobytes; anything near this is not one. */
export const maxWebhookBytes = 1024 * 1024;

/**
 * The raw bytes of the body, at most `maxWebhookBytes` of them: the signature covers the bytes
 * exactly as sent, so nothing may parse or re-serialise them first.
 */
export async function readRawBody(request: Request, limit = maxWebhookBytes): Promise<Buffer> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > limit) throw new ApiError("payload_too_large", `Webhook body is larger than ${limit} bytes`);
  if (!request.body) return Buffer.alloc(0);
  const reader = request.body.getReader();
  const chunks: Buffer[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw new ApiError("payload_too_large", `Webhook body is larger than ${limit} bytes`);
    }
    chunks.push(Buffer.from(value));
  }
  return Buffer.concat(chunks);
}

/**
 * An authentic Paystack event, handled: wrong content type, oversized body → 4xx; a signature
 * that is missing or does not match these bytes → 401 before anything is parsed; malformed JSON
 * or an envelope without `event`/`data` → 400. Nothing is written on any of these paths.
 */
export async function receiveWebhook(services: PaymentServices, request: Request): Promise<EventOutcome & { event: string }> {
  try {
    const result = await handleWebhook(services, request);
    recordWebhook(webhookResultOf(result));
    return result;
  } catch (err) {
    recordWebhook(err instanceof ApiError && err.status < 500 ? "rejected" : "error");
    throw err;
  }
}

async function handleWebhook(services: PaymentServices, request: Request): Promise<EventOutcome & { event: string }> {
  const contentType = request.headers.get("content-type") ?? "";
  if (!/^application\/json\s*(;|$)/i.test(contentType)) {
    throw new ApiError("invalid_request", "Webhook body must be application/json", { field: "content-type" });
  }
  const raw = await readRawBody(request);
  if (!verifyPaystackSignature(raw, request.headers.get("x-paystack-signature"), services.secretKey)) {
    throw new ApiError("unauthorized", "x-paystack-signature is missing or does not match the body");
  }
  let body: unknown;
  try {
    body = JSON.parse(raw.toString("utf8"));
  } catch {
    throw new ApiError("invalid_request", "Webhook body must be valid JSON");
  }
  const envelope = webhookEventSchema.safeParse(body);
  if (!envelope.success) {
    const field = envelope.error.issues[0]?.path.join(".") || "body";
    throw new ApiError("invalid_request", `${field}: a Paystack event has a string "event" and an object "data"`, { field });
  }
  const result = await dispatchEvent(services, envelope.data);
  await services.sql`
    insert into public.payment_events (event, reference, outcome, needs_review, payload)
    values (${envelope.data.event}, ${result.reference}, ${result.outcome}, ${result.needsReview}, ${services.sql.json(envelope.data as never)})`;
  return { ...result, event: envelope.data.event };
}
