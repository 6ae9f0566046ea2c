import pino from "pino";

/**
 * The one logger: JSON lines, with secrets and key material removed by configuration so that a
 * careless log call cannot leak them.
 */
export const redactedPaths = [
  "password",
  "*.password",
  "secret",
  "*.secret",
  "key",
  "*.key",
  "token",
  "*.token",
  "authorization",
  "*.authorization",
  "headers.authorization",
  "headers.cookie",
  'headers["x-litellm-api-key"]',
  'headers["x-paystack-signature"]',
  "cookie",
  "*.cookie",
  "masterKey",
  "*.masterKey",
  "encrypted_password",
  "*.encrypted_password",
  "secret_ciphertext",
  "*.secret_ciphertext",
];

export const log = pino({
  level: process.env.LOG_LEVEL ?? "info",
  base: { service: process.env.CREDITGATE_SERVICE ?? "app" },
  redact: { paths: redactedPaths, censor: "[redacted]" },
});
