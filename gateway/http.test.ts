import { createServer, request, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { GatewayError } from "./errors";
import { readBody } from "./http";

/** A server whose handler first yields (as the gateway's does) and then reads the body. */
let server: Server | null = null;

async function serve(limitBytes: number): Promise<{ port: number; bodies: Promise<Buffer | GatewayError>[] }> {
  const bodies: Promise<Buffer | GatewayError>[] = [];
  server = createServer((req: IncomingMessage, res) => {
    const body = (async () => {
      await Promise.resolve();
      return readBody(req, limitBytes).catch((err: unknown) => err as GatewayError);
    })();
    bodies.push(body);
    void body.then((value) => {
      res.writeHead(value instanceof GatewayError ? value.status : 200);
      res.end(value instanceof GatewayError ? "" : value);
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as AddressInfo).port, bodies };
}

/** Sends `parts` with `gapMs` between them, so that later parts arrive after the handler ran. */
function send(port: number, parts: string[], gapMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const length = parts.reduce((sum, part) => sum + Buffer.byteLength(part), 0);
    const req = request({ port, method: "POST", path: "/", headers: { "content-length": length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", reject);
    void (async () => {
      for (const [index, part] of parts.entries()) {
        if (index > 0) await new Promise((wait) => setTimeout(wait, gapMs));
        req.write(part);
      }
      req.end();
    })();
  });
}

afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve));
  server = null;
});

describe("readBody", () => {
  it("a body that arrived with the head is returned whole", async () => {
    const { port } = await serve(1_000);
    expect(await send(port, ['{"model":"m","messages":[]}'], 0)).toEqual({ status: 200, body: '{"model":"m","messages":[]}' });
  });

  it("a body that arrives in parts after the head is returned whole", async () => {
    const { port } = await serve(1_000);
    expect(await send(port, ['{"model":', '"m",', '"messages":[]}'], 30)).toEqual({ status: 200, body: '{"model":"m","messages":[]}' });
  });

  it("an empty body is an empty buffer", async () => {
    const { port } = await serve(1_000);
    expect(await send(port, [], 0)).toEqual({ status: 200, body: "" });
  });

  it("a body over the limit is a 413, whether it arrived with the head or after it", async () => {
    const { port, bodies } = await serve(10);
    expect((await send(port, ["x".repeat(11)], 0)).status).toBe(413);
    expect((await send(port, ["x".repeat(6), "x".repeat(6)], 30)).status).toBe(413);
    const refused = await Promise.all(bodies);
    expect(refused.every((value) => value instanceof GatewayError && value.message.includes("limit of 10 bytes"))).toBe(true);
  });

  it("the connection stays usable after a body over the limit that arrived whole", async () => {
    const { port } = await serve(10);
    expect((await send(port, ["x".repeat(50)], 0)).status).toBe(413);
    expect(await send(port, ["small"], 0)).toEqual({ status: 200, body: "small" });
  });
});
