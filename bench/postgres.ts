import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startEmbeddedPostgres } from "../lib/db/embedded";

/**
 * The benchmark's database in its own process, so it does not share the load generator's CPU:
 * the embedded Postgres as `npm run dev` runs it by default, with its data in files (there
 * .data/pglite, here a temporary folder removed at the end).
 */
const dataDir = mkdtempSync(path.join(tmpdir(), "creditgate-bench-pglite-"));
const postgres = await startEmbeddedPostgres({ dataDir });
process.stdout.write(`${JSON.stringify({ url: postgres.url })}\n`);
const stop = () => {
  void postgres.stop().then(() => {
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  });
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
