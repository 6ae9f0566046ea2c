import { cp } from "node:fs/promises";
import path from "node:path";
import { build } from "esbuild";

/**
 * Bundles the gateway into one ES module, `gateway/dist/main.mjs`, with its migrations beside it
 * (store.ts finds them next to the code). Production and the benchmark run the bundle with plain
 * `node`: no TypeScript loader thread, about 30 MB less resident memory, and start-up in a
 * fraction of the time. Packages stay external, resolved from node_modules as usual.
 */

const root = path.resolve(import.meta.dirname, "..");
export const gatewayBundle = path.join(root, "gateway/dist/main.mjs");

/**
 * How `npm run gateway` runs the bundle (package.json and the Docker files repeat these; tests
 * keep them equal). Without an explicit old-space limit, V8 on a machine with plenty of memory
 * lets the old generation fill with garbage to ~80 MB before collecting it; any explicit limit
 * scales its starting allowance down, and 512 MB leaves room for large key caches and an outage's
 * spend-log queue. Smaller semi-spaces (8 MB instead of 16) trim the young generation. Measured
 * with `npm run bench:gateway` at 50 connections: ~200 MB resident without these, ~130 MB with.
 */
export const gatewayNodeFlags = ["--enable-source-maps", "--max-semi-space-size=8", "--max-old-space-size=512"] as const;

export async function buildGateway(): Promise<string> {
  const outdir = path.dirname(gatewayBundle);
  await build({
    entryPoints: [path.join(root, "gateway/main.ts")],
    outfile: gatewayBundle,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    sourcemap: "linked",
    logLevel: "warning",
  });
  await cp(path.join(root, "gateway/migrations"), path.join(outdir, "migrations"), { recursive: true });
  return gatewayBundle;
}

if (import.meta.filename === process.argv[1]) {
  await buildGateway();
}
