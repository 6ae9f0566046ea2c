import { createServer, connect, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "../../lib/db/embedded";
import { chatBody } from "./support/harness";
import { masterKey, startGateway, type RunningGateway } from "./support/gateway";
import { startUpstream, testConfig, upstreamKey, type FakeUpstream } from "./support/upstream";

/**
 * A TCP relay in front of Postgres that can stop answering: the connections stay open and
 * everything sent on them is dropped, as with a database that hangs rather than refuses.
 */
interface Relay {
  url: string;
  hang(): void;
  close(): Promise<void>;
}

async function startRelay(databaseUrl: string): Promise<Relay> {
  const target = new URL(databaseUrl);
  const sockets = new Set<Socket>();
  let hung = false;
  const server: Server = createServer((client) => {
    const database = connect(Number(target.port), target.hostname);
    for (const [from, to] of [
      [client, database],
      [database, client],
    ] as const) {
      sockets.add(from);
      from.on("data", (chunk) => {
        if (!hung) to.write(chunk);
      });
      from.on("error", () => to.destroy());
      from.on("close", () => to.destroy());
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("relay has no address");
  const url = new URL(databaseUrl);
  url.port = String(address.port);
  return {
    url: url.toString(),
    hang: () => {
      hung = true;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let postgres: EmbeddedPostgres;
let upstream: FakeUpstream;
let relay: Relay;
let gateway: RunningGateway;

beforeAll(async () => {
  postgres = await startEmbeddedPostgres();
  upstream = await startUpstream();
  relay = await startRelay(postgres.url);
  gateway = await startGateway({ config: testConfig(upstream.url), databaseUrl: relay.url, env: { TEST_UPSTREAM_KEY: upstreamKey } });
});

afterAll(async () => {
  gateway?.process.kill("SIGKILL");
  await relay?.close();
  await upstream?.close();
  await postgres?.stop();
});

const chat = (key: string) =>
  fetch(`${gateway.publicUrl}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify(chatBody()),
  });

describe("shutdown with a database that stopped answering", () => {
  it("exits at SIGTERM instead of waiting on it, and reports the spend it could not write", { timeout: 60_000 }, async () => {
    const generated = await fetch(`${gateway.adminUrl}/key/generate`, {
      method: "POST",
      headers: { authorization: `Bearer ${masterKey}`, "content-type": "application/json" },
      body: JSON.stringify({ max_budget: 10 }),
    });
    const { key } = (await generated.json()) as { key: string };
    // The first call loads the key from Postgres; after that the key is served from memory.
    expect((await chat(key)).status).toBe(200);

    relay.hang();
    expect((await chat(key)).status).toBe(200);

    const code = await gateway.stop();
    expect(code).toBe(0);
    const lines = gateway
      .output()
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { msg?: string; unwritten?: number; database?: string });
    const report = lines.find((line) => line.msg === "spend not written to Postgres at shutdown");
    expect(report?.database).toBe("not answering");
    // At least the hung call's spend-log row and its key's spend.
    expect(report?.unwritten).toBeGreaterThanOrEqual(2);
    expect(gateway.output()).not.toContain("TypeError");
  });
});
