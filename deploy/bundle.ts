/**
 * Bundles the Node programs that run outside Next.js (gateway, sync worker, migrations, CLI)
 * into self-contained ES modules, so the services image (deploy/Dockerfile.gateway) needs
 * neither node_modules nor tsx: `tsx deploy/bundle.ts <outDir>`.
 *
 * The output is laid out like the repository because two modules find their SQL files from
 * their own location (`import.meta.dirname`): gateway/store.ts reads `./migrations` and
 * lib/db/migrate.ts reads `../../supabase/…`. Each bundle keeps its source's folder depth under
 * `dist/`, and the data files are copied to where those paths then point.
 */
import { cp, mkdir, rm } from "node:fs/promises";
import path from "node:path";
import { build } from "esbuild";

const root = path.resolve(import.meta.dirname, "..");

/** The programs, by the path of their source; each becomes `dist/<same path>.mjs`. */
export const entryPoints = [
  "gateway/main.ts",
  "scripts/worker.ts",
  "scripts/migrate.ts",
  "cli/main.ts",
] as const;

/** Data files read at run time, copied to the path their reader computes from the bundle. */
const dataFiles: readonly { from: string; to: string }[] = [
  { from: "gateway/migrations", to: "dist/gateway/migrations" },
  { from: "supabase/migrations", to: "supabase/migrations" },
  { from: "supabase/bootstrap", to: "supabase/bootstrap" },
  { from: "cli/tiers.yaml", to: "dist/cli/tiers.yaml" },
];

// CommonJS dependencies (pino, prom-client) call require() for Node's built-ins, which an ES
// module bundle does not have; this gives them the real one.
const requireShim =
  "import { createRequire as __creditgateRequire } from 'node:module'; const require = __creditgateRequire(import.meta.url);";

export async function bundleServices(outDir: string): Promise<void> {
  await rm(outDir, { recursive: true, force: true });
  await build({
    absWorkingDir: root,
    entryPoints: entryPoints.map((entry) => path.join(root, entry)),
    outbase: root,
    outdir: path.join(outDir, "dist"),
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    banner: { js: requireShim },
    sourcemap: "linked",
    logLevel: "warning",
  });
  for (const file of dataFiles) {
    await mkdir(path.dirname(path.join(outDir, file.to)), { recursive: true });
    await cp(path.join(root, file.from), path.join(outDir, file.to), { recursive: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const outDir = process.argv[2];
  if (!outDir) {
    console.error("usage: tsx deploy/bundle.ts <outDir>");
    process.exit(2);
  }
  await bundleServices(path.resolve(outDir));
  console.log(`bundled ${entryPoints.join(", ")} into ${outDir}`);
}
