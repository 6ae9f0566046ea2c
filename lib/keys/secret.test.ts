import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { decryptKeySecret, encryptKeySecret, generateKeySecret, keyToken, maskedKey, secretHint } from "./secret";

const kek = "k".repeat(64);

describe("key secrets", () => {
  it("are sk- followed by 32 random bytes in base64url, never twice the same", () => {
    const secrets = new Set(Array.from({ length: 1000 }, generateKeySecret));
    expect(secrets.size).toBe(1000);
    for (const secret of secrets) expect(secret).toMatch(/^sk-[A-Za-z0-9_-]{43}$/);
  });

  it("are known to the gateway by their SHA-256 hex, as LiteLLM's token", () => {
    const secret = generateKeySecret();
    expect(keyToken(secret)).toBe(createHash("sha256").update(secret).digest("hex"));
    expect(keyToken(secret)).toMatch(/^[0-9a-f]{64}$/);
  });

  it("are displayed masked with their last four characters", () => {
    expect(maskedKey(secretHint("sk-abcdefgh1234"))).toBe("sk-…1234");
    expect(maskedKey(null)).toBe("sk-…");
  });

  it("round-trip through encryption, and the ciphertext does not contain them", () => {
    const secret = generateKeySecret();
    const sealed = encryptKeySecret(secret, "row-1", kek);
    expect(sealed).not.toContain(secret.slice(3));
    expect(decryptKeySecret(sealed, "row-1", kek)).toBe(secret);
  });

  it("encrypt to a different ciphertext each time", () => {
    const secret = generateKeySecret();
    expect(encryptKeySecret(secret, "row-1", kek)).not.toBe(encryptKeySecret(secret, "row-1", kek));
  });

  it.each([
    ["another row's id", (sealed: string) => decryptKeySecret(sealed, "row-2", kek)],
    ["another encryption secret", (sealed: string) => decryptKeySecret(sealed, "row-1", "x".repeat(64))],
    ["a tampered ciphertext", (sealed: string) => decryptKeySecret(`${sealed.slice(0, -2)}AA`, "row-1", kek)],
    ["garbage", () => decryptKeySecret("not.a.cipher", "row-1", kek)],
  ])("refuse to decrypt with %s", (_case, attempt) => {
    const sealed = encryptKeySecret(generateKeySecret(), "row-1", kek);
    expect(() => attempt(sealed)).toThrow();
  });
});
