import { z } from "zod";
import { CliError, exitCodes } from "./output";

/**
 * Flag values, validated with zod in the command's action so a bad value is one line naming
 * the flag and exit code 2, before anything is sent to the gateway.
 */

/** Dollars on the command line (as in the seeds and LiteLLM), integer cents inside. */
export const dollarsFlag = z
  .string()
  .trim()
  .regex(/^\d+(\.\d{1,2})?$/, "must be an amount in dollars, like 50 or 12.50")
  .transform((value) => Math.round(Number(value) * 100))
  .refine((cents) => Number.isSafeInteger(cents), "is too large");

// Real LiteLLM knows only Ns/Nm/Nh/Nd/1mo; the seeds write daily, weekly and monthly.
const durationWords: Record<string, string> = { daily: "1d", weekly: "7d", monthly: "1mo" };

export const durationFlag = z
  .string()
  .trim()
  .toLowerCase()
  .transform((value) => durationWords[value] ?? value)
  .refine((value) => /^(\d+[smhdw]|1mo)$/.test(value) && !/^0+[smhdw]$/.test(value), "must be daily, weekly, monthly, or like 30d, 12h, 1mo");

export const modelsFlag = z
  .string()
  .transform((value, ctx) => {
    try {
      return JSON.parse(value) as unknown;
    } catch {
      ctx.addIssue({ code: "custom", message: `must be a JSON array of model names, like '["model-cheap"]' (got ${value})` });
      return z.NEVER;
    }
  })
  .pipe(z.array(z.string().trim().min(1), { message: `must be a JSON array of model names, like '["model-cheap"]'` }));

export const limitFlag = z
  .string()
  .trim()
  .regex(/^\d+$/, "must be a whole number")
  .transform(Number)
  .refine((value) => value > 0 && Number.isSafeInteger(value), "must be a positive whole number");

export const emailFlag = z.string().trim().toLowerCase().pipe(z.email({ message: "must be an email address" }));

export const idFlag = z.string().trim().min(1, "must not be empty");

/**
 * Parses commander's options with `schema`; the first problem names its flag (`budget` →
 * `--budget`, `userId` → `--user-id`).
 */
export function parseFlags<S extends z.ZodType>(schema: S, options: unknown): z.infer<S> {
  const result = schema.safeParse(options);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const key = String(issue?.path[0] ?? "");
  const flag = key.startsWith("<") ? key : `--${key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;
  throw new CliError(`${flag}: ${issue?.message ?? "is invalid"}`, exitCodes.usage);
}

/** Dollars for people (tables) from cents; JSON output keeps LiteLLM's dollars as numbers. */
export function dollars(cents: number | null, json: boolean | undefined): string | number | null {
  if (cents === null) return json ? null : "no limit";
  return json ? cents / 100 : `$${(cents / 100).toFixed(2)}`;
}
