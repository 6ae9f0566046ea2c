import { hash as digest } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { Gateway } from "./context";
import type { KeyContext } from "./directory";
import { GatewayError, authError } from "./errors";

/** Who is calling: the master key (the proxy admin) or a virtual key with what it draws on. */
export type Caller = { kind: "master"; hash: string } | { kind: "key"; hash: string; context: KeyContext };

/** The identifier LiteLLM stores for a key: SHA-256 hex of the whole secret. */
export function hashKey(secret: string): string {
  // The one-shot form: a Hash object per request costs about three times as much.
  return digest("sha256", secret, "hex");
}

/** A key given raw (`sk-…`) or already hashed, as admin routes accept either. */
export function tokenOf(keyOrHash: string): string {
  return keyOrHash.startsWith("sk-") ? hashKey(keyOrHash) : keyOrHash;
}

/** `sk-...abcd`: enough to recognise a key in a list, too little to use it. */
export function abbreviateKey(secret: string): string {
  return `sk-...${secret.slice(-4)}`;
}

function masked(value: string): string {
  return value.length <= 8 ? "****" : `${value.slice(0, 4)}****${value.slice(-4)}`;
}

/**
 * The key a request carries, looked for where LiteLLM looks (user_api_key_auth.get_api_key):
 * the configured custom header, `Authorization: Bearer`, `x-litellm-api-key`, then the headers
 * other SDKs use (`api-key`, `x-api-key`, `x-goog-api-key`, `Ocp-Apim-Subscription-Key`).
 */
export function presentedKey(headers: IncomingHttpHeaders, customHeader: string | undefined): string {
  const custom = customHeader ? headers[customHeader] : undefined;
  if (typeof custom === "string" && custom !== "") return custom.replace(/^Bearer\s+/i, "").trim();
  const authorization = headers.authorization;
  if (typeof authorization === "string" && authorization !== "") {
    const match = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    if (!match?.[1]) {
      throw authError("Authentication Error, Malformed API Key passed in. Ensure Key has `Bearer ` prefix.");
    }
    return match[1].trim();
  }
  for (const name of ["x-litellm-api-key", "api-key", "x-api-key", "x-goog-api-key", "ocp-apim-subscription-key"]) {
    const value = headers[name];
    if (typeof value === "string" && value !== "") return value.replace(/^Bearer\s+/i, "").trim();
  }
  throw authError("Authentication Error, No api key passed in.");
}

/**
 * Compares two hex digests in time that does not depend on where they differ, as
 * crypto.timingSafeEqual would, without decoding both into buffers on every request.
 */
export function sameHash(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i += 1) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}

/**
 * Checks the key in LiteLLM's order: well-formed → the master key, or an existing key → not
 * blocked → not expired. Every refusal is a 401; no message contains more than the key's last
 * four characters.
 */
export async function authenticate(gateway: Gateway, headers: IncomingHttpHeaders): Promise<Caller> {
  const secret = presentedKey(headers, gateway.settings.keyHeaderName);
  const hash = hashKey(secret);
  if (sameHash(hash, gateway.masterKeyHash)) return { kind: "master", hash };
  if (!secret.startsWith("sk-")) {
    throw authError(
      `Authentication Error, LiteLLM Virtual Key expected. Received=${masked(secret)}, expected to start with 'sk-'.`,
    );
  }
  const context = gateway.directory.cachedKey(hash) ?? (await gateway.directory.loadKey(hash));
  if (!context) {
    throw authError(
      `Authentication Error, Invalid proxy server token passed. Received API Key = ${abbreviateKey(secret)}, Key Hash (Token) =${hash}. Unable to find token in cache or \`LiteLLM_VerificationTokenTable\``,
      "token_not_found_in_db",
      "key",
    );
  }
  const { key } = context;
  if (key.blocked === true) {
    throw authError("Authentication Error, Key is blocked. Update via `/key/unblock` if you're an admin.");
  }
  const now = new Date();
  if (key.expires && key.expires.getTime() < now.getTime()) {
    throw authError(
      `Authentication Error - Expired Key. Key Expiry time ${key.expires.toISOString()} and current time ${now.toISOString()}`,
      "expired_key",
      abbreviateKey(secret),
    );
  }
  return { kind: "key", hash, context };
}

/** Admin routes: the master key, or a key whose user is a proxy admin. */
export function requireAdmin(caller: Caller, route: string): void {
  if (caller.kind === "master") return;
  if (caller.context.user?.user_role === "proxy_admin") return;
  const role = caller.context.user?.user_role ?? "unknown";
  const userId = caller.context.key.user_id ?? "unknown";
  throw new GatewayError(
    401,
    "auth_error",
    `Authentication Error, Only proxy admin can be used to generate, delete, update info for new keys/users/teams. Route=${route}. Your role=${role}. Your user_id=${userId}`,
  );
}
