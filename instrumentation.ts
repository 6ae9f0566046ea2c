/**
 * Runs once when the Next.js server starts: the environment is validated here, so a missing or
 * malformed variable stops the server with a message naming it instead of failing a request.
 */
export async function register() {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { appEnv, exitOnEnvError } = await import("./lib/env");
  try {
    appEnv();
  } catch (err) {
    exitOnEnvError(err);
  }
}
