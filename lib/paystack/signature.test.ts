import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { signPaystackBody, verifyPaystackSignature } from "./signature";

const secret = "sk_test_0123456789abcdef";
const body = '{"event":"charge.success","data":{"reference":"cg-1","amount":100000}}';

describe("Paystack webhook signatures", () => {
  it("accepts the hex HMAC-SHA512 of the raw body keyed with the secret key, in either case", () => {
    const signature = createHmac("sha512", secret).update(body).digest("hex");
    expect(signPaystackBody(body, secret)).toBe(signature);
    expect(verifyPaystackSignature(body, signature, secret)).toBe(true);
    expect(verifyPaystackSignature(Buffer.from(body), signature.toUpperCase(), secret)).toBe(true);
  });

  it.each([
    ["missing", null],
    ["empty", ""],
    ["signed with another key", createHmac("sha512", "sk_test_other").update(body).digest("hex")],
    ["SHA-256", createHmac("sha256", secret).update(body).digest("hex")],
    ["base64 instead of hex", createHmac("sha512", secret).update(body).digest("base64")],
    ["timestamped", `t=1700000000,v1=k1:${createHmac("sha512", secret).update(body).digest("hex")}`],
    ["over a re-serialised body", createHmac("sha512", secret).update(JSON.stringify(JSON.parse(body), null, 1)).digest("hex")],
  ])("refuses a signature that is %s", (_name, signature) => {
    expect(verifyPaystackSignature(body, signature, secret)).toBe(false);
  });
});
