import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "../gateway/log";
import { createAppLogger } from "./log";
import { withRequestId } from "./request-id";

/** A pino destination that keeps each JSON line. */
function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      done();
    },
  });
  return { stream, lines, parsed: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

const secrets = {
  key: "sk-live-key-aaaaaaaaaaaaaaaaaaaa",
  masterKey: "sk-master-bbbbbbbbbbbbbbbbbbbb",
  password: "correct horse battery staple",
  paystack: "sk_test_cccccccccccccccccccccccc",
  cookie: "creditgate_session=eyJhbGciOiJIUzI1NiJ9.dddd",
};

/** Every way a secret reaches a log call by mistake: fields, nested objects, header bags. */
function logCarelessly(log: { info: (object: object, message: string) => void }) {
  log.info({ key: secrets.key, api_key: secrets.key, master_key: secrets.masterKey, masterKey: secrets.masterKey }, "top level");
  log.info({ body: { password: secrets.password, secret: secrets.paystack, token: secrets.key } }, "nested");
  log.info({ headers: { authorization: `Bearer ${secrets.key}`, cookie: secrets.cookie, "x-paystack-signature": "abc123signature" } }, "headers");
  log.info({ req: { headers: { authorization: `Bearer ${secrets.masterKey}`, "x-litellm-api-key": secrets.key } } }, "request headers");
  log.info({ env: { secretKey: secrets.paystack, secret_key: secrets.paystack, apiKey: secrets.key } }, "config");
}

describe.each([
  ["the app's logger", (stream: Writable) => createAppLogger({ level: "info", service: "test" }, stream)],
  ["the gateway's logger", (stream: Writable) => createLogger("info", stream)],
])("%s", (_name, make) => {
  it("redacts keys, master keys, passwords, Paystack secrets, cookies and auth headers wherever they sit", () => {
    const out = capture();
    logCarelessly(make(out.stream));
    expect(out.lines).toHaveLength(5);
    const text = out.lines.join("\n");
    for (const value of [...Object.values(secrets), "abc123signature"]) expect(text).not.toContain(value);
    expect(text).toContain("[redacted]");
    expect(out.parsed()[2]).toMatchObject({ headers: { authorization: "[redacted]", cookie: "[redacted]" }, msg: "headers" });
  });

  it("keeps the fields that are not secret", () => {
    const out = capture();
    make(out.stream).info({ path: "/v1/chat/completions", status: 200, keyId: "3f2a9c1d" }, "request");
    expect(out.parsed()[0]).toMatchObject({ path: "/v1/chat/completions", status: 200, keyId: "3f2a9c1d", msg: "request" });
  });
});

describe("the app's logger and request ids", () => {
  it("stamps every line written while a request is handled with its request id, and no other", async () => {
    const out = capture();
    const log = createAppLogger({ level: "info" }, out.stream);
    await withRequestId("req-123", async () => {
      await Promise.resolve();
      log.info("inside");
    });
    log.info("outside");
    const [inside, outside] = out.parsed();
    expect(inside).toMatchObject({ requestId: "req-123", msg: "inside" });
    expect(outside).not.toHaveProperty("requestId");
  });
});
