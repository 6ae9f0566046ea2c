import { z } from "zod";

/** Paystack's transaction statuses (verify's `data.status`). */
export const transactionStatusSchema = z.enum(["abandoned", "failed", "ongoing", "pending", "processing", "queued", "reversed", "success"]);

/** The fields of Paystack's transaction object we rely on; the rest passes through untouched. */
export const paystackTransactionSchema = z
  .object({
    id: z.union([z.number(), z.string()]).transform((id) => String(id)),
    domain: z.string().optional(),
    status: transactionStatusSchema,
    reference: z.string().min(1),
    amount: z.number().int().nonnegative(),
    requested_amount: z.number().int().nonnegative().nullable().optional(),
    currency: z.string(),
    paid_at: z.string().nullable().optional(),
    gateway_response: z.string().nullable().optional(),
  })
  .passthrough();

export type PaystackTransaction = z.infer<typeof paystackTransactionSchema>;

export const initializeResponseSchema = z.object({
  status: z.literal(true),
  message: z.string(),
  data: z.object({ authorization_url: z.url(), access_code: z.string(), reference: z.string() }),
});

export const verifyResponseSchema = z.object({ status: z.literal(true), message: z.string(), data: paystackTransactionSchema });

/** A webhook envelope: `{event, data}`; each event's handler parses `data` itself. */
export const webhookEventSchema = z.object({
  event: z.string().min(1).max(100),
  data: z.record(z.string(), z.unknown()),
});

export type PaystackWebhookEvent = z.infer<typeof webhookEventSchema>;

/** `refund.processed` data: the refunded transaction's reference, and the amount refunded. */
export const refundDataSchema = z
  .object({
    id: z.union([z.number(), z.string()]).transform((id) => String(id)).optional(),
    amount: z.number().int().positive(),
    currency: z.string(),
    status: z.string().optional(),
    transaction_reference: z.string().min(1).optional(),
    refund_reference: z.string().min(1).nullable().optional(),
    transaction: z.object({ reference: z.string().min(1) }).passthrough().optional(),
  })
  .passthrough()
  .refine((data) => data.transaction_reference ?? data.transaction?.reference, { message: "needs transaction_reference" });
