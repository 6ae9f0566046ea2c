import pino from "pino";
import { redactCensor, redactedPaths } from "./redact";
import { currentRequestId } from "./request-id";

export { redactedPaths };

/**
 * The one logger of the app, the worker and the CLI: JSON lines, with secrets and key material
 * removed by configuration so that a careless log call cannot leak them. A line written while a
 * request is handled carries its request id.
 */
export function createAppLogger(options: { level?: string; service?: string } = {}, destination?: pino.DestinationStream): pino.Logger {
  return pino(
    {
      level: options.level ?? process.env.LOG_LEVEL ?? "info",
      base: { service: options.service ?? process.env.CREDITGATE_SERVICE ?? "app" },
      redact: { paths: redactedPaths, censor: redactCensor },
      mixin() {
        const requestId = currentRequestId();
        return requestId ? { requestId } : {};
      },
    },
    destination,
  );
}

/** LOG_FILE sends the lines to a file instead of stdout (appended, written synchronously). */
function defaultDestination(): pino.DestinationStream | undefined {
  const file = process.env.LOG_FILE;
  return file ? pino.destination({ dest: file, sync: true, mkdir: true }) : undefined;
}

export const log = createAppLogger({}, defaultDestination());
