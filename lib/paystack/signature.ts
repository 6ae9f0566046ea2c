import { createHmac, timingSafeEqual } from "node:crypto";

/** Paystack signs each webhook body with HMAC-SHA512 of the raw bytes, keyed with the secret key. */
export function signPaystackBody(rawBody: string | Buffer, secretKey: string): string {
  return createHmac("sha512", secretKey).update(rawBody).digest("hex");
}

/**
 * Whether `signature` (the `x-paystack-signature` header) is the HMAC-SHA512 of exactly these
 * bytes. The comparison is constant-time over equal-length buffers; anything that is not 128
 * hex characters (a missing header, a SHA-256 digest, a timestamped form) fails before it.
 */
export function verifyPaystackSignature(rawBody: string | Buffer, signature: string | null | undefined, secretKey: string): boolean {
  if (!signature) return false;
  const given = signature.trim().toLowerCase();
  if (!/^[0-9a-f]{128}$/.test(given)) return false;
  const expected = Buffer.from(signPaystackBody(rawBody, secretKey), "hex");
  return timingSafeEqual(expected, Buffer.from(given, "hex"));
}
