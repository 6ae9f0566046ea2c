import { z } from "zod";
import { isValidDuration } from "../budget";
import { badRequest, GatewayError } from "../errors";
import { validate } from "../http";

/** Request fields shared by keys, users and teams, as LiteLLM's request models define them. */

export const nullableString = z.string().nullable().optional();
export const limit = z.number().int().min(0).nullable().optional();
export const dollars = z
  .number()
  .nullable()
  .optional()
  .refine((value) => value === undefined || value === null || value >= 0, {
    message: "cannot be negative",
  });
export const duration = z
  .string()
  .nullable()
  .optional()
  .refine((value) => value === undefined || value === null || isValidDuration(value), {
    message: "must be a duration like 30s, 30m, 30h, 30d, 1mo, daily, weekly or monthly",
  });
export const modelList = z.array(z.string().min(1)).optional();
export const metadata = z.record(z.string(), z.unknown()).optional();

/** LiteLLM answers a negative max_budget with its own message; keep it. */
export function checkBudget(body: Record<string, unknown>): void {
  const value = body.max_budget;
  if (typeof value === "number" && value < 0) throw badRequest(`max_budget cannot be negative. Received: ${value}`, "max_budget");
}

export function parseBody<S extends z.ZodType>(schema: S, body: Record<string, unknown>): z.infer<S> {
  return validate(schema, body);
}

/** Query-string pagination with LiteLLM's bounds. */
export function pageOf(query: URLSearchParams, sizeName: string, defaultSize: number): { page: number; size: number } {
  const schema = z.object({
    page: z.coerce.number().int().min(1).default(1),
    size: z.coerce.number().int().min(1).max(100).default(defaultSize),
  });
  return validate(schema, { page: query.get("page") ?? undefined, size: query.get(sizeName) ?? undefined });
}

/** Postgres unique-violation, for turning a lost race into the same 4xx as the pre-check. */
export function isUniqueViolation(err: unknown): boolean {
  return err !== null && typeof err === "object" && "code" in err && err.code === "23505";
}

export function isGatewayError(err: unknown): err is GatewayError {
  return err instanceof GatewayError;
}
