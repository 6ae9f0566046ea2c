import pino from "pino";
import { redactCensor, redactedPaths } from "../lib/redact";

export type Logger = pino.Logger;

/**
 * JSON logs on stdout. The redaction paths are a second line of defence: no code path logs a
 * key, but a header object or request body passed by mistake must not print one either.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ name: "gateway", level, redact: { paths: redactedPaths, censor: redactCensor } }, destination);
}
