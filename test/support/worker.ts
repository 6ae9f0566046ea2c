import { spawn, type ChildProcess, type StdioOptions } from "node:child_process";
import path from "node:path";
import { masterKey, type RunningGateway } from "../gateway/support/gateway";

const root = path.resolve(import.meta.dirname, "../..");

/**
 * The sync worker as its own process (`scripts/worker.ts` under tsx), pushing to `gateway` from
 * `databaseUrl`; `env` adds or overrides variables (lease, idle time, metrics port, log level).
 */
export function spawnWorker(options: {
  databaseUrl: string;
  gateway: RunningGateway;
  keyEncryptionSecret: string | undefined;
  env: Record<string, string>;
  stdio: StdioOptions;
}): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", "scripts/worker.ts"], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: "test",
      DATABASE_URL: options.databaseUrl,
      LITELLM_BASE_URL: options.gateway.adminUrl,
      LITELLM_MASTER_KEY: masterKey,
      KEY_ENCRYPTION_SECRET: options.keyEncryptionSecret,
      ...options.env,
    },
    stdio: options.stdio,
  });
}
