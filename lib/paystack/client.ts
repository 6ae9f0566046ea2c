import { request } from "undici";
import { z } from "zod";
import { initializeResponseSchema, verifyResponseSchema, type PaystackTransaction } from "./schemas";

/**
 * The two Paystack calls we make, on undici against a configurable base URL, with timeouts
 * and zod-parsed answers. `paystack-sdk` hard-codes https://api.paystack.co and has no timeout,
 * so it could reach neither our test server nor the local simulator without patching fetch.
 */
export class PaystackError extends Error {
  constructor(
    message: string,
    /** HTTP status, or undefined when no answer arrived (timeout, refused connection). */
    readonly status?: number,
  ) {
    super(message);
    this.name = "PaystackError";
  }
}

export interface PaystackClientOptions {
  baseUrl: string;
  secretKey: string;
  timeoutMs?: number;
}

export interface InitializeInput {
  email: string;
  amountSubunits: number;
  currency: string;
  reference: string;
  callbackUrl: string;
  metadata?: Record<string, unknown>;
}

export interface PaystackClient {
  initialize(input: InitializeInput): Promise<{ authorizationUrl: string; accessCode: string; reference: string }>;
  /** The transaction as Paystack holds it; a PaystackError when Paystack does not answer with one. */
  verify(reference: string): Promise<PaystackTransaction>;
}

export function createPaystackClient(options: PaystackClientOptions): PaystackClient {
  const base = options.baseUrl.replace(/\/+$/, "");
  const timeoutMs = options.timeoutMs ?? 10_000;

  async function call<S extends z.ZodType>(method: "GET" | "POST", path: string, schema: S, body?: unknown): Promise<z.infer<S>> {
    let response;
    try {
      response = await request(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${options.secretKey}`,
          accept: "application/json",
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new PaystackError(`Paystack did not answer ${method} ${path}: ${(err as Error).message}`);
    }
    const text = await response.body.text().catch(() => "");
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new PaystackError(`Paystack answered ${method} ${path} with ${response.statusCode} and a body that is not JSON`, response.statusCode);
    }
    if (response.statusCode < 200 || response.statusCode >= 300) {
      const message = z.object({ message: z.string() }).safeParse(parsed);
      throw new PaystackError(
        `Paystack answered ${method} ${path} with ${response.statusCode}${message.success ? `: ${message.data.message}` : ""}`,
        response.statusCode,
      );
    }
    const result = schema.safeParse(parsed);
    if (!result.success) {
      throw new PaystackError(`Paystack's answer to ${method} ${path} is not what its API documents: ${result.error.issues[0]?.message ?? "invalid"}`, response.statusCode);
    }
    return result.data;
  }

  return {
    async initialize(input) {
      const { data } = await call("POST", "/transaction/initialize", initializeResponseSchema, {
        email: input.email,
        amount: String(input.amountSubunits),
        currency: input.currency,
        reference: input.reference,
        callback_url: input.callbackUrl,
        metadata: input.metadata ?? {},
      });
      return { authorizationUrl: data.authorization_url, accessCode: data.access_code, reference: data.reference };
    },
    async verify(reference) {
      const { data } = await call("GET", `/transaction/verify/${encodeURIComponent(reference)}`, verifyResponseSchema);
      return data;
    },
  };
}
