import { z } from "zod";

/**
 * The gateway's rows as they come out of Postgres (postgres.js returns `numeric` as text and
 * `timestamptz` as Date), parsed so a column change cannot leak unnoticed into the API.
 * Field names are LiteLLM's, because the admin API answers with them.
 */

const dollars = z
  .union([z.string(), z.number()])
  .transform((value) => Number(value))
  .pipe(z.number().finite());
const optionalDollars = dollars.nullable();
const json = z.record(z.string(), z.unknown());

export const keyRowSchema = z.object({
  token: z.string(),
  key_name: z.string(),
  key_alias: z.string().nullable(),
  user_id: z.string().nullable(),
  team_id: z.string().nullable(),
  models: z.array(z.string()),
  aliases: json,
  max_budget: optionalDollars,
  spend: dollars,
  budget_duration: z.string().nullable(),
  budget_reset_at: z.date().nullable(),
  expires: z.date().nullable(),
  tpm_limit: z.number().int().nullable(),
  rpm_limit: z.number().int().nullable(),
  max_parallel_requests: z.number().int().nullable(),
  metadata: json,
  blocked: z.boolean().nullable(),
  created_by: z.string().nullable(),
  updated_by: z.string().nullable(),
  created_at: z.date(),
  updated_at: z.date(),
});
export type KeyRow = z.infer<typeof keyRowSchema>;

export const userRowSchema = z.object({
  user_id: z.string(),
  user_email: z.string().nullable(),
  user_alias: z.string().nullable(),
  user_role: z.string(),
  max_budget: optionalDollars,
  spend: dollars,
  budget_duration: z.string().nullable(),
  budget_reset_at: z.date().nullable(),
  models: z.array(z.string()),
  tpm_limit: z.number().int().nullable(),
  rpm_limit: z.number().int().nullable(),
  max_parallel_requests: z.number().int().nullable(),
  metadata: json,
  created_at: z.date(),
  updated_at: z.date(),
});
export type UserRow = z.infer<typeof userRowSchema>;

export const teamRowSchema = z.object({
  team_id: z.string(),
  team_alias: z.string().nullable(),
  models: z.array(z.string()),
  max_budget: optionalDollars,
  spend: dollars,
  budget_duration: z.string().nullable(),
  budget_reset_at: z.date().nullable(),
  tpm_limit: z.number().int().nullable(),
  rpm_limit: z.number().int().nullable(),
  max_parallel_requests: z.number().int().nullable(),
  blocked: z.boolean(),
  metadata: json,
  created_at: z.date(),
  updated_at: z.date(),
});
export type TeamRow = z.infer<typeof teamRowSchema>;

export const memberRowSchema = z.object({
  team_id: z.string(),
  user_id: z.string(),
  role: z.enum(["admin", "user"]),
  max_budget_in_team: optionalDollars,
  spend: dollars,
  user_email: z.string().nullable().optional(),
});
export type MemberRow = z.infer<typeof memberRowSchema>;

export const spendLogRowSchema = z.object({
  request_id: z.string(),
  call_type: z.string(),
  api_key: z.string(),
  spend: dollars,
  total_tokens: z.number().int(),
  prompt_tokens: z.number().int(),
  completion_tokens: z.number().int(),
  start_time: z.date(),
  end_time: z.date(),
  model: z.string(),
  model_id: z.string().nullable(),
  model_group: z.string(),
  custom_llm_provider: z.string(),
  api_base: z.string().nullable(),
  user_id: z.string().nullable(),
  team_id: z.string().nullable(),
  end_user: z.string().nullable(),
  status: z.enum(["success", "failure"]),
  metadata: json,
});
export type SpendLogRow = z.infer<typeof spendLogRowSchema>;
