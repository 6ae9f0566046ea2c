import { startEmbeddedPostgres } from "../lib/db/embedded";

/** The benchmark's database in its own process, so it does not share the load generator's CPU. */
const postgres = await startEmbeddedPostgres();
process.stdout.write(`${JSON.stringify({ url: postgres.url })}\n`);
const stop = () => {
  void postgres.stop().then(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
