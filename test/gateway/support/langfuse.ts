import { createServer, type Server } from "node:http";
import { listenLocal } from "./fake-server";

/**
 * A stand-in for Langfuse's ingestion API on a local port: `POST /api/public/ingestion` with
 * basic auth (public key : secret key) and a `{batch: [{id, type, timestamp, body}]}` body,
 * answered 207 with per-event `successes`, as Langfuse documents it. Keeps what it received.
 */

export interface IngestionEvent {
  id: string;
  type: string;
  timestamp: string;
  body: Record<string, unknown>;
}

export interface FakeLangfuse {
  url: string;
  publicKey: string;
  secretKey: string;
  events: IngestionEvent[];
  /** Raw request bodies, to search for text that must not be sent. */
  rawBodies: string[];
  /** Requests refused for wrong credentials. */
  unauthorized: number;
  close(): Promise<void>;
}

export async function startFakeLangfuse(): Promise<FakeLangfuse> {
  const publicKey = "pk-lf-test-public";
  const secretKey = "sk-lf-test-secret-0123456789";
  const expected = `Basic ${Buffer.from(`${publicKey}:${secretKey}`).toString("base64")}`;
  const state = { events: [] as IngestionEvent[], rawBodies: [] as string[], unauthorized: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      if (req.method !== "POST" || req.url !== "/api/public/ingestion") {
        res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ message: "not found" }));
        return;
      }
      if (req.headers.authorization !== expected) {
        state.unauthorized += 1;
        res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ message: "Invalid credentials" }));
        return;
      }
      const raw = Buffer.concat(chunks).toString("utf8");
      state.rawBodies.push(raw);
      const { batch } = JSON.parse(raw) as { batch: IngestionEvent[] };
      state.events.push(...batch);
      res.writeHead(207, { "content-type": "application/json" });
      res.end(JSON.stringify({ successes: batch.map((event) => ({ id: event.id, status: 201 })), errors: [] }));
    });
  });
  const listening = await listenLocal(server);
  return {
    url: `${listening.origin}`,
    publicKey,
    secretKey,
    get events() {
      return state.events;
    },
    get rawBodies() {
      return state.rawBodies;
    },
    get unauthorized() {
      return state.unauthorized;
    },
    close: listening.close,
  };
}
