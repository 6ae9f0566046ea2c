import { describe, expect, it } from "vitest";
import { hashKey, sameHash, tokenOf } from "./auth";

describe("key hashing", () => {
  it("a key's token is the SHA-256 hex LiteLLM stores for it", () => {
    // sha256("sk-1234"), LiteLLM's documented example master key.
    expect(hashKey("sk-1234")).toBe("88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b");
  });

  it("admin routes take a key raw or already hashed and mean the same token", () => {
    const token = hashKey("sk-abc");
    expect(tokenOf("sk-abc")).toBe(token);
    expect(tokenOf(token)).toBe(token);
  });
});

describe("digest comparison", () => {
  const digest = hashKey("sk-master");

  it("equal digests match", () => {
    expect(sameHash(digest, hashKey("sk-master"))).toBe(true);
  });

  it("digests differing anywhere, or of another length, do not", () => {
    for (const at of [0, 31, 63]) {
      const flipped = digest.slice(0, at) + (digest[at] === "0" ? "1" : "0") + digest.slice(at + 1);
      expect(sameHash(flipped, digest)).toBe(false);
    }
    expect(sameHash(digest.slice(0, 62), digest)).toBe(false);
    expect(sameHash("", digest)).toBe(false);
  });
});
