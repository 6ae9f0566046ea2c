import { z } from "zod";
import { ApiError } from "../http/errors";
import type { PaymentServices } from "./services";
import { simulatorByReference, simulatorCreate, simulatorTransactionJson } from "./simulator";

/**
 * The simulator's side of Paystack's API: the same paths, bearer secret key, request fields and
 * answers as https://api.paystack.co, so the app's Paystack client talks to it unchanged.
 */
function requireBearer(services: PaymentServices, request: Request) {
  if (request.headers.get("authorization") !== `Bearer ${services.secretKey}`) {
    throw new ApiError("unauthorized", "Invalid key");
  }
}

const initializeBodySchema = z.object({
  email: z.email(),
  amount: z.union([z.string().regex(/^\d+$/), z.number().int()]).transform(Number).pipe(z.number().int().positive()),
  currency: z.string().regex(/^[A-Z]{3}$/),
  reference: z.string().regex(/^[\w.=-]+$/),
  callback_url: z.url().optional(),
});

export function simulatorInitialize(services: PaymentServices, request: Request, body: unknown) {
  requireBearer(services, request);
  const parsed = initializeBodySchema.safeParse(body);
  if (!parsed.success) return { status: 400, body: { status: false, message: `Invalid ${parsed.error.issues[0]?.path.join(".") ?? "request"}` } };
  const created = simulatorCreate({
    reference: parsed.data.reference,
    email: parsed.data.email,
    amount: parsed.data.amount,
    currency: parsed.data.currency,
    callbackUrl: parsed.data.callback_url ?? null,
  });
  if (created === "duplicate") return { status: 400, body: { status: false, message: "Duplicate Transaction Reference" } };
  return {
    status: 200,
    body: {
      status: true,
      message: "Authorization URL created",
      data: {
        authorization_url: `${services.appUrl}/payments/simulator/checkout/${created.accessCode}`,
        access_code: created.accessCode,
        reference: created.reference,
      },
    },
  };
}

export function simulatorVerify(services: PaymentServices, request: Request, reference: string) {
  requireBearer(services, request);
  const transaction = simulatorByReference(reference);
  if (!transaction) return { status: 400, body: { status: false, message: "Transaction reference not found" } };
  return { status: 200, body: { status: true, message: "Verification successful", data: simulatorTransactionJson(transaction) } };
}
