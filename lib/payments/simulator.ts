import { createHmac, randomBytes } from "node:crypto";
import { signPaystackBody } from "../paystack/signature";

/**
 * The local Paystack test simulator: what Paystack holds about a transaction, kept in this
 * process's memory (a restart forgets unpaid checkouts, which a test checkout can afford).
 * It must not touch the database: a fulfil holds its payment row's transaction while it
 * verifies, and the embedded database serves one transaction at a time.
 */
export interface SimulatedTransaction {
  id: number;
  reference: string;
  accessCode: string;
  email: string;
  amount: number;
  currency: string;
  callbackUrl: string | null;
  status: "ongoing" | "success" | "abandoned";
  paidAt: Date | null;
  createdAt: Date;
}

interface SimulatorState {
  byReference: Map<string, SimulatedTransaction>;
  byAccessCode: Map<string, SimulatedTransaction>;
  nextId: number;
}

const globalKey = Symbol.for("creditgate.paystackSimulator");

function state(): SimulatorState {
  const holder = globalThis as unknown as Record<symbol, SimulatorState | undefined>;
  holder[globalKey] ??= { byReference: new Map(), byAccessCode: new Map(), nextId: 4_000_000_000 };
  return holder[globalKey];
}

/**
 * The simulator's secret key, derived from this installation's key-encryption secret so it is
 * stable across restarts, local, and never a real Paystack key.
 */
export function simulatorSecretKey(keyEncryptionSecret: string): string {
  return `sk_test_simulator_${createHmac("sha256", keyEncryptionSecret).update("creditgate paystack simulator").digest("hex").slice(0, 40)}`;
}

export function simulatorCreate(input: { reference: string; email: string; amount: number; currency: string; callbackUrl: string | null }): SimulatedTransaction | "duplicate" {
  const store = state();
  if (store.byReference.has(input.reference)) return "duplicate";
  const transaction: SimulatedTransaction = {
    ...input,
    id: store.nextId++,
    accessCode: randomBytes(9).toString("hex"),
    status: "ongoing",
    paidAt: null,
    createdAt: new Date(),
  };
  store.byReference.set(transaction.reference, transaction);
  store.byAccessCode.set(transaction.accessCode, transaction);
  return transaction;
}

export const simulatorByReference = (reference: string) => state().byReference.get(reference);
export const simulatorByAccessCode = (accessCode: string) => state().byAccessCode.get(accessCode);

/** The transaction in Paystack's wire format (verify's `data`, and charge.success's). */
export function simulatorTransactionJson(transaction: SimulatedTransaction) {
  return {
    id: transaction.id,
    domain: "test",
    status: transaction.status,
    reference: transaction.reference,
    amount: transaction.amount,
    requested_amount: transaction.amount,
    message: null,
    gateway_response: transaction.status === "success" ? "Successful" : transaction.status === "abandoned" ? "The transaction was not completed" : "Pending",
    paid_at: transaction.paidAt?.toISOString() ?? null,
    created_at: transaction.createdAt.toISOString(),
    channel: "card",
    currency: transaction.currency,
    metadata: "",
    fees: 0,
    customer: { email: transaction.email },
    authorization: { channel: "card", card_type: "visa", last4: "4081", bank: "TEST BANK (simulator)" },
  };
}

/**
 * "Pay": the transaction succeeds and, as Paystack does, a signed charge.success goes to the
 * webhook. Returns where to send the browser next (the callback URL with the reference).
 */
export async function simulatorPay(transaction: SimulatedTransaction, options: { webhookUrl: string; secretKey: string }): Promise<{ webhookStatus: number | null }> {
  if (transaction.status === "ongoing") {
    transaction.status = "success";
    transaction.paidAt = new Date();
  }
  const body = JSON.stringify({ event: "charge.success", data: simulatorTransactionJson(transaction) });
  try {
    const response = await fetch(options.webhookUrl, {
      method: "POST",
      headers: { "content-type": "application/json", "x-paystack-signature": signPaystackBody(body, options.secretKey) },
      body,
      signal: AbortSignal.timeout(30_000),
    });
    await response.body?.cancel();
    return { webhookStatus: response.status };
  } catch {
    // Paystack would retry; the callback verifies anyway, so the payment is credited there.
    return { webhookStatus: null };
  }
}

export function simulatorCancel(transaction: SimulatedTransaction): void {
  if (transaction.status === "ongoing") transaction.status = "abandoned";
}

export function callbackRedirect(transaction: SimulatedTransaction, fallback: string): string {
  const url = new URL(transaction.callbackUrl ?? fallback);
  url.searchParams.set("trxref", transaction.reference);
  url.searchParams.set("reference", transaction.reference);
  return url.toString();
}
