import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { signPaystackBody } from "../../lib/paystack/signature";

/**
 * A small local HTTP server speaking Paystack's wire format for the two calls we make
 * (POST /transaction/initialize, GET /transaction/verify/:reference): bearer secret key,
 * `{status, message, data}` envelopes, amounts in the currency's subunit. Tests decide what
 * happens to each transaction (paid, paid short, in another currency, failed) and can make
 * verify answer with an error.
 */
export interface FakeTransaction {
  id: number;
  reference: string;
  email: string;
  amount: number;
  currency: string;
  status: "ongoing" | "success" | "failed" | "abandoned";
  paidAt: string | null;
  domain: "test" | "live";
}

export interface FakePaystack {
  url: string;
  secretKey: string;
  transactions: Map<string, FakeTransaction>;
  /** How many times verify was called, per reference. */
  verifyCalls: Map<string, number>;
  /** The customer pays; `override` changes what Paystack then reports (amount, currency…). */
  pay(reference: string, override?: Partial<Pick<FakeTransaction, "amount" | "currency" | "status" | "domain">>): FakeTransaction;
  /** Verify answers this HTTP status with Paystack's error envelope for this reference. */
  failVerify(reference: string, status: number): void;
  /** A webhook body for an event about this transaction, as Paystack sends it. */
  eventBody(event: string, reference: string, data?: Record<string, unknown>): string;
  sign(body: string): string;
  close(): Promise<void>;
}

const readBody = async (req: IncomingMessage) => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
};

export function transactionJson(transaction: FakeTransaction) {
  return {
    id: transaction.id,
    domain: transaction.domain,
    status: transaction.status,
    reference: transaction.reference,
    receipt_number: null,
    amount: transaction.amount,
    message: null,
    gateway_response: transaction.status === "success" ? "Successful" : "Declined",
    paid_at: transaction.paidAt,
    created_at: new Date().toISOString(),
    channel: "card",
    currency: transaction.currency,
    ip_address: "127.0.0.1",
    metadata: "",
    fees: 0,
    fees_split: null,
    authorization: { authorization_code: "AUTH_fake", bin: "408408", last4: "4081", channel: "card", bank: "TEST BANK", reusable: true },
    customer: { id: 1, email: transaction.email, customer_code: "CUS_fake", metadata: null },
    plan: null,
    split: {},
    order_id: null,
    paidAt: transaction.paidAt,
    requested_amount: transaction.amount,
    pos_transaction_data: null,
    source: null,
  };
}

export async function startFakePaystack(): Promise<FakePaystack> {
  const secretKey = `sk_test_${randomBytes(20).toString("hex")}`;
  const transactions = new Map<string, FakeTransaction>();
  const verifyCalls = new Map<string, number>();
  const verifyFailures = new Map<string, number>();
  let nextId = 4_099_260_516;

  const server: Server = createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    void (async () => {
      if (req.headers.authorization !== `Bearer ${secretKey}`) return send(401, { status: false, message: "Invalid key" });
      const url = new URL(req.url ?? "/", "http://localhost");
      if (req.method === "POST" && url.pathname === "/transaction/initialize") {
        const body = JSON.parse(await readBody(req)) as { email: string; amount: string; currency: string; reference: string };
        if (transactions.has(body.reference)) return send(400, { status: false, message: "Duplicate Transaction Reference" });
        const accessCode = randomBytes(8).toString("hex");
        transactions.set(body.reference, {
          id: nextId++,
          reference: body.reference,
          email: body.email,
          amount: Number(body.amount),
          currency: body.currency,
          status: "ongoing",
          paidAt: null,
          domain: "test",
        });
        return send(200, {
          status: true,
          message: "Authorization URL created",
          data: { authorization_url: `https://checkout.paystack.com/${accessCode}`, access_code: accessCode, reference: body.reference },
        });
      }
      const verify = /^\/transaction\/verify\/(.+)$/.exec(url.pathname);
      if (req.method === "GET" && verify?.[1]) {
        const reference = decodeURIComponent(verify[1]);
        verifyCalls.set(reference, (verifyCalls.get(reference) ?? 0) + 1);
        const failure = verifyFailures.get(reference);
        if (failure) return send(failure, { status: false, message: "An error occurred" });
        const transaction = transactions.get(reference);
        if (!transaction) return send(400, { status: false, message: "Transaction reference not found" });
        return send(200, { status: true, message: "Verification successful", data: transactionJson(transaction) });
      }
      send(404, { status: false, message: "Not found" });
    })().catch((err: unknown) => send(500, { status: false, message: String(err) }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    secretKey,
    transactions,
    verifyCalls,
    pay(reference, override = {}) {
      const transaction = transactions.get(reference);
      if (!transaction) throw new Error(`fake Paystack never initialized ${reference}`);
      Object.assign(transaction, { status: "success", paidAt: new Date().toISOString() }, override);
      return transaction;
    },
    failVerify(reference, status) {
      verifyFailures.set(reference, status);
    },
    eventBody(event, reference, data) {
      const transaction = transactions.get(reference);
      const payload = data ?? (transaction ? transactionJson(transaction) : { reference, status: "success", amount: 100, currency: "USD" });
      return JSON.stringify({ event, data: payload });
    },
    sign: (body) => signPaystackBody(body, secretKey),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
