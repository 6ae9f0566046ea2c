/**
 * Log fields that may hold secrets or key material, removed by pino's redaction in every
 * process (app, worker, gateway). A second line of defence: no code path logs a key on purpose,
 * but a header object or request body passed by mistake must not print one either.
 */
const secretFields = [
  "password",
  "secret",
  "key",
  "api_key",
  "apiKey",
  "master_key",
  "masterKey",
  "token",
  "access_token",
  "refresh_token",
  "authorization",
  "cookie",
  "secretKey",
  "secret_key",
  "encrypted_password",
  "secret_ciphertext",
  "ciphertext",
];

const secretHeaders = ["authorization", "cookie", "set-cookie", "x-litellm-api-key", "x-paystack-signature", "api-key", "x-api-key"];

export const redactedPaths: string[] = [
  ...secretFields.flatMap((field) => [field, `*.${field}`]),
  ...secretHeaders.flatMap((header) => [`headers["${header}"]`, `*.headers["${header}"]`]),
];

export const redactCensor = "[redacted]";
