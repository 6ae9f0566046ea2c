import pino from "pino";

export type Logger = pino.Logger;

/**
 * JSON logs on stdout. The redaction paths are a second line of defence: no code path logs a
 * key, but a header object or request body passed by mistake must not print one either.
 */
export function createLogger(level: string): Logger {
  return pino({
    name: "gateway",
    level,
    redact: {
      paths: ["authorization", "*.authorization", "headers.authorization", "key", "*.key", "api_key", "*.api_key", "masterKey", "*.masterKey"],
      censor: "[redacted]",
    },
  });
}
