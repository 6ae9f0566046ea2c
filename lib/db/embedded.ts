import { createServer, type Server, type Socket } from "node:net";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketHandler, type PGLiteSocketHandlerOptions } from "@electric-sql/pglite-socket";

/**
 * The embedded Postgres: PGlite (Postgres compiled to WASM, one backend session) served on a
 * local TCP port with @electric-sql/pglite-socket's protocol handler, so every part of the
 * product talks to it through the same driver as to any Postgres server.
 *
 * pglite-socket's own server multiplexes connections message by message. With the extended
 * query protocol that interleaves one client's Parse with another's Bind ("bind message supplies
 * 1 parameters, but prepared statement "" requires 0"), so we keep its handler (framing,
 * startup, SSL refusal, cancel) and schedule whole batches instead: a client's messages up to
 * and including its Sync (or a simple Query) run together, and while a client has a transaction
 * open, or has parsed the unnamed statement without executing it yet (postgres.js describes a
 * statement in one Sync batch and binds it in the next), only that client's batches run.
 */

type QueueOption = PGLiteSocketHandlerOptions["queryQueue"];

// Messages of the extended protocol that Postgres answers only at the next Sync.
const deferredMessageTypes = new Set(["P", "B", "D", "E", "C"].map((c) => c.charCodeAt(0)));
const PARSE = "P".charCodeAt(0);
const EXECUTE = "E".charCodeAt(0);

interface Batch {
  clientId: number;
  message: Uint8Array;
  /** Parses a statement it does not execute: the next batch of this client will bind it. */
  leavesStatementOpen: boolean;
  onData: (data: Uint8Array) => void;
  resolve: (bytes: number) => void;
  reject: (err: Error) => void;
}

class SyncBatchQueue {
  private readonly pending = new Map<number, Uint8Array[]>();
  private queue: Batch[] = [];
  private running = false;
  private sessionOwner: number | null = null;

  constructor(private readonly db: PGlite) {}

  enqueue(clientId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
    const type = message[0] ?? 0;
    if (deferredMessageTypes.has(type)) {
      const parts = this.pending.get(clientId) ?? [];
      parts.push(message);
      this.pending.set(clientId, parts);
      return Promise.resolve(0);
    }
    const parts = this.pending.get(clientId) ?? [];
    this.pending.delete(clientId);
    parts.push(message);
    const types = new Set(parts.map((part) => part[0]));
    const leavesStatementOpen = types.has(PARSE) && !types.has(EXECUTE);
    return new Promise((resolve, reject) => {
      this.queue.push({ clientId, message: concat(parts), leavesStatementOpen, onData, resolve, reject });
      void this.drain();
    });
  }

  getQueueLength(): number {
    return this.queue.length;
  }

  clearQueueForHandler(clientId: number): void {
    this.pending.delete(clientId);
    this.queue = this.queue.filter((batch) => {
      if (batch.clientId !== clientId) return true;
      batch.reject(new Error("client disconnected"));
      return false;
    });
  }

  async clearTransactionIfNeeded(clientId: number): Promise<void> {
    if (this.sessionOwner !== clientId) return;
    this.sessionOwner = null;
    if (this.db.isInTransaction()) await this.db.exec("rollback");
    void this.drain();
  }

  private next(): Batch | undefined {
    const owner = this.sessionOwner;
    const index = owner === null ? 0 : this.queue.findIndex((batch) => batch.clientId === owner);
    if (index < 0 || index >= this.queue.length) return undefined;
    return this.queue.splice(index, 1)[0];
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (let batch = this.next(); batch; batch = this.next()) {
        const current = batch;
        let bytes = 0;
        try {
          await this.db.runExclusive(() =>
            this.db.execProtocolRawStream(current.message, {
              onRawData: (data) => {
                bytes += data.length;
                current.onData(data);
              },
            }),
          );
          const keepsSession = this.db.isInTransaction() || current.leavesStatementOpen;
          this.sessionOwner = keepsSession ? current.clientId : null;
          current.resolve(bytes);
        } catch (err) {
          current.reject(err instanceof Error ? err : new Error(String(err)));
        }
      }
    } finally {
      this.running = false;
    }
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1 && parts[0]) return parts[0];
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export interface EmbeddedPostgres {
  /** postgres://… URL any Postgres client can use. */
  url: string;
  port: number;
  db: PGlite;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Folder for the data files; omit for an in-memory database. */
  dataDir?: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgres> {
  const db = await PGlite.create(options.dataDir ?? "memory://");
  const queue = new SyncBatchQueue(db);
  const sockets = new Set<Socket>();
  const handlers = new Set<PGLiteSocketHandler>();
  const host = options.host ?? "127.0.0.1";

  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    const handler = new PGLiteSocketHandler({
      // Structurally what the handler calls: enqueue, clearQueueForHandler, clearTransactionIfNeeded.
      queryQueue: queue as unknown as QueueOption,
      closeOnDetach: true,
    });
    handlers.add(handler);
    handler.addEventListener("close", () => handlers.delete(handler));
    handler.addEventListener("error", () => handlers.delete(handler));
    handler.attach(socket).catch(() => socket.destroy());
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("embedded Postgres has no TCP address");

  return {
    url: `postgres://postgres:postgres@${host}:${address.port}/postgres`,
    port: address.port,
    db,
    async stop() {
      for (const handler of handlers) handler.detach(true);
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await db.close();
    },
  };
}
