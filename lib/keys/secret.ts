import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from "node:crypto";

/**
 * Key material. A key's secret is `sk-` + 32 random bytes (base64url, 43 characters). It is shown
 * to its owner once; at rest it exists only encrypted, and only until the gateway confirms it.
 * The gateway and our `litellm_key_id` know it by its SHA-256 (LiteLLM's `token`).
 */

const secretBytes = 32;
const cipherVersion = "v1";

export function generateKeySecret(): string {
  return `sk-${randomBytes(secretBytes).toString("base64url")}`;
}

/** LiteLLM's token for a key: the SHA-256 hex of the whole secret. */
export function keyToken(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

/** The last four characters, kept for display. */
export function secretHint(secret: string): string {
  return secret.slice(-4);
}

export function maskedKey(hint: string | null): string {
  return hint ? `sk-…${hint}` : "sk-…";
}

/**
 * The AES-256 key, derived from KEY_ENCRYPTION_SECRET with HKDF, so any sufficiently long
 * operator-chosen string yields a uniformly random 32-byte key.
 */
function encryptionKey(keyEncryptionSecret: string): Buffer {
  return Buffer.from(hkdfSync("sha256", keyEncryptionSecret, "creditgate", "virtual-key-secret", 32));
}

/**
 * AES-256-GCM with a fresh 12-byte IV. The row id is authenticated data: a ciphertext moved to
 * another row does not decrypt.
 */
export function encryptKeySecret(secret: string, rowId: string, keyEncryptionSecret: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", encryptionKey(keyEncryptionSecret), iv);
  cipher.setAAD(Buffer.from(rowId));
  const ciphertext = Buffer.concat([cipher.update(secret, "utf8"), cipher.final()]);
  return [cipherVersion, iv, cipher.getAuthTag(), ciphertext].map((part) => (typeof part === "string" ? part : part.toString("base64url"))).join(".");
}

export function decryptKeySecret(sealed: string, rowId: string, keyEncryptionSecret: string): string {
  const [version, iv, tag, ciphertext] = sealed.split(".");
  if (version !== cipherVersion || !iv || !tag || !ciphertext) throw new Error("not a creditgate key ciphertext");
  const decipher = createDecipheriv("aes-256-gcm", encryptionKey(keyEncryptionSecret), Buffer.from(iv, "base64url"));
  decipher.setAAD(Buffer.from(rowId));
  decipher.setAuthTag(Buffer.from(tag, "base64url"));
  return Buffer.concat([decipher.update(Buffer.from(ciphertext, "base64url")), decipher.final()]).toString("utf8");
}
