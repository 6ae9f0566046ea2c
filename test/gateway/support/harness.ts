import OpenAI from "openai";
import { afterAll, beforeAll } from "vitest";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "../../../lib/db/embedded";
import { masterKey, startGateway, type RunningGateway } from "./gateway";
import { startUpstream, testConfig, upstreamKey, type FakeUpstream } from "./upstream";

export interface Harness {
  gateway: RunningGateway;
  upstream: FakeUpstream;
  postgres: EmbeddedPostgres;
  /** Calls the admin listener with the master key (or `as`); answers status and parsed body. */
  admin(path: string, body?: unknown, as?: string): Promise<{ status: number; body: unknown; headers: Headers }>;
  /** Calls the public listener. */
  call(path: string, init: { key?: string; body?: unknown; raw?: string; method?: string }): Promise<{ status: number; body: unknown; headers: Headers }>;
  client(key: string): OpenAI;
  /** A fresh key for this test, with whatever limits it asks for. */
  newKey(fields?: Record<string, unknown>): Promise<{ key: string; token: string }>;
  restart(): Promise<void>;
}

async function answer(res: Response) {
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON (metrics text): keep the text.
  }
  return { status: res.status, body, headers: res.headers };
}

/** One Postgres, one fake upstream and one real gateway process for the test file. */
export function withGateway(
  options: { extraConfig?: string; samePort?: boolean; config?: (upstreamUrl: string) => string } = {},
): Harness {
  const state: Partial<Pick<Harness, "gateway" | "upstream" | "postgres">> = {};
  const start = async () => {
    if (!state.postgres || !state.upstream) throw new Error("harness not started");
    state.gateway = await startGateway({
      config: options.config ? options.config(state.upstream.url) : testConfig(state.upstream.url, options.extraConfig),
      databaseUrl: state.postgres.url,
      env: { TEST_UPSTREAM_KEY: upstreamKey },
      samePort: options.samePort,
    });
  };
  beforeAll(async () => {
    state.postgres = await startEmbeddedPostgres();
    state.upstream = await startUpstream();
    await start();
  });
  afterAll(async () => {
    await state.gateway?.stop();
    await state.upstream?.close();
    await state.postgres?.stop();
  });
  const need = <K extends keyof typeof state>(name: K): NonNullable<(typeof state)[K]> => {
    const value = state[name];
    if (!value) throw new Error(`${name} not started`);
    return value as NonNullable<(typeof state)[K]>;
  };
  const harness: Harness = {
    get gateway() {
      return need("gateway");
    },
    get upstream() {
      return need("upstream");
    },
    get postgres() {
      return need("postgres");
    },
    async admin(path, body, as = masterKey) {
      const res = await fetch(`${need("gateway").adminUrl}${path}`, {
        method: body === undefined ? "GET" : "POST",
        headers: { authorization: `Bearer ${as}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return answer(res);
    },
    async call(path, init) {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (init.key) headers.authorization = `Bearer ${init.key}`;
      const res = await fetch(`${need("gateway").publicUrl}${path}`, {
        method: init.method ?? (init.body === undefined && init.raw === undefined ? "GET" : "POST"),
        headers,
        body: init.raw ?? (init.body === undefined ? undefined : JSON.stringify(init.body)),
      });
      return answer(res);
    },
    client(key) {
      return new OpenAI({ apiKey: key, baseURL: `${need("gateway").publicUrl}/v1`, maxRetries: 0 });
    },
    async newKey(fields = {}) {
      const res = await harness.admin("/key/generate", fields);
      if (res.status !== 200) throw new Error(`key/generate failed: ${res.status} ${JSON.stringify(res.body)}`);
      const body = res.body as { key: string; token: string };
      return { key: body.key, token: body.token };
    },
    async restart() {
      await need("gateway").stop();
      await start();
    },
  };
  return harness;
}

export interface ErrorEnvelope {
  error: { message: string; type: string; param: string | null; code: string };
}

export function errorOf(body: unknown): ErrorEnvelope["error"] {
  const envelope = body as ErrorEnvelope;
  return envelope.error;
}

/** A small chat request; `extra` adds fields such as max_tokens (typed loosely for error tests). */
export function chatBody(model = "gpt-test", extra: { max_tokens?: number; padding?: string } = {}) {
  return { model, messages: [{ role: "user" as const, content: "Say hello" }], ...extra };
}
