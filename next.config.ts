import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // The embedded database and the Postgres driver are Node-only; keep them out of the bundle.
  serverExternalPackages: ["@electric-sql/pglite", "@electric-sql/pglite-socket", "postgres", "pino"],
  poweredByHeader: false,
};

export default nextConfig;
