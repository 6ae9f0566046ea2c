import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import OpenAI from "openai";

export const masterKey = "sk-test-master-0123456789";

const root = path.resolve(import.meta.dirname, "../../..");

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** Polls `check` until it returns a value, failing after `timeoutMs`: no fixed sleeps. */
export async function waitFor<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${lastError instanceof Error ? `: ${lastError.message}` : ""}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export interface RunningGateway {
  publicUrl: string;
  adminUrl: string;
  output(): string;
  /** SIGTERM and wait for the process to exit (it flushes spend first). */
  stop(): Promise<number | null>;
  process: ChildProcess;
}

export interface GatewayOptions {
  config: string;
  databaseUrl: string;
  env?: Record<string, string>;
  /** Serve public and admin routes on one port. */
  samePort?: boolean;
  /** Fixed ports, to start a gateway again where its clients expect it. */
  ports?: { public: number; admin: number };
  /** Node's arguments; by default the TypeScript source under tsx. */
  command?: string[];
}

/** Starts the real gateway process (`gateway/main.ts`) and waits until it is alive. */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const dir = await mkdtemp(path.join(tmpdir(), "gateway-test-"));
  const configPath = path.join(dir, "config.yaml");
  await writeFile(configPath, options.config);
  const port = options.ports?.public ?? (await freePort());
  const adminPort = options.ports?.admin ?? (options.samePort ? port : await freePort());
  const child = spawn(process.execPath, options.command ?? ["--import", "tsx", "gateway/main.ts"], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: "test",
      DATABASE_URL: options.databaseUrl,
      LITELLM_MASTER_KEY: masterKey,
      GATEWAY_CONFIG: configPath,
      GATEWAY_PORT: String(port),
      GATEWAY_ADMIN_PORT: String(adminPort),
      GATEWAY_HOST: "127.0.0.1",
      GATEWAY_ADMIN_HOST: "127.0.0.1",
      LOG_LEVEL: "warn",
      ...options.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, "exit");
  const publicUrl = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}:\n${output}`);
      const res = await fetch(`${publicUrl}/health/liveliness`);
      return res.ok ? true : undefined;
    },
    30_000,
    "the gateway to be alive",
  ).catch((err: unknown) => {
    child.kill("SIGKILL");
    throw new Error(`${(err as Error).message}\n${output}`);
  });
  return {
    publicUrl,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    output: () => output,
    process: child,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      const [code] = (await exited) as [number | null];
      return code;
    },
  };
}

/** Runs the gateway expecting it to refuse to start; resolves with its exit code and output. */
export async function runGatewayExpectingFailure(
  env: Record<string, string | undefined>,
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "gateway/main.ts"], {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: "test", ...env } as NodeJS.ProcessEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, output };
}

/**
 * A key holder's view of a gateway started in `beforeAll` (hence the getter): fresh keys made
 * with the master key, the official openai client for a key, and a key's recorded spend.
 */
export function keyHolder(gateway: () => RunningGateway) {
  return {
    async newKey(fields: Record<string, unknown> = {}): Promise<string> {
      const res = await fetch(`${gateway().adminUrl}/key/generate`, {
        method: "POST",
        headers: { authorization: `Bearer ${masterKey}`, "content-type": "application/json" },
        body: JSON.stringify(fields),
      });
      return ((await res.json()) as { key: string }).key;
    },
    client(key: string): OpenAI {
      return new OpenAI({ apiKey: key, baseURL: `${gateway().publicUrl}/v1`, maxRetries: 0 });
    },
    async keySpend(key: string): Promise<number> {
      const res = await fetch(`${gateway().publicUrl}/key/info`, { headers: { authorization: `Bearer ${key}` } });
      return ((await res.json()) as { info: { spend: number } }).info.spend;
    },
  };
}

/**
 * A chat stream read to its end: the text, the last finish_reason, the usage chunk, and what it
 * threw when the gateway reported an error inside the stream.
 */
export async function readChatStream(stream: AsyncIterable<OpenAI.ChatCompletionChunk>): Promise<{
  text: string;
  finish: string | null;
  usage: OpenAI.CompletionUsage | undefined;
  error: unknown;
}> {
  const read = { text: "", finish: null as string | null, usage: undefined as OpenAI.CompletionUsage | undefined, error: undefined as unknown };
  try {
    for await (const chunk of stream) {
      read.text += chunk.choices[0]?.delta.content ?? "";
      read.finish = chunk.choices[0]?.finish_reason ?? read.finish;
      if (chunk.usage) read.usage = chunk.usage;
    }
  } catch (err) {
    read.error = err;
  }
  return read;
}
