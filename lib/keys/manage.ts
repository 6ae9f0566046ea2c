import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { Sql } from "../db/client";
import { withServiceTransaction, withUserTransaction, type UserClaims } from "../db/transactions";
import { ApiError } from "../http/errors";
import type { LiteLLMClient } from "../litellm/client";
import { claimDueKeyRows, pushKey, type SyncContext } from "../sync/push";
import { encryptKeySecret, generateKeySecret, keyToken, maskedKey, secretHint } from "./secret";

/** LiteLLM's durations: 30s, 30m, 30h, 30d, 1mo, and the seeds' daily / weekly / monthly. */
export const budgetDurationSchema = z
  .string()
  .regex(/^([1-9]\d{0,4}(s|m|h|d|mo)|daily|weekly|monthly)$/, "must be like 30s, 30m, 30h, 30d, 1mo, daily, weekly or monthly");

const limitFields = {
  alias: z.string().trim().min(1, "must not be empty").max(64, "must be at most 64 characters"),
  // The range first: 1e20 is "too big", not "not whole cents" (it is past the safe integers).
  max_budget: z.number().min(0).max(100_000_000).int("must be whole cents").nullable(), // cents
  budget_duration: budgetDurationSchema.nullable(),
  rpm_limit: z.number().int().min(1).max(1_000_000).nullable(),
  tpm_limit: z.number().int().min(1).max(1_000_000_000).nullable(),
  models: z.array(z.string().trim().min(1).max(200)).max(100).refine((list) => new Set(list).size === list.length, "must not repeat a model"),
};

export const createKeySchema = z
  .object({
    alias: limitFields.alias,
    max_budget: limitFields.max_budget.optional(),
    budget_duration: limitFields.budget_duration.optional(),
    rpm_limit: limitFields.rpm_limit.optional(),
    tpm_limit: limitFields.tpm_limit.optional(),
    models: limitFields.models.optional(),
  })
  .strict();

/** Any of the create fields, plus the key's id: only the fields present change. */
export const updateKeySchema = z
  .object({ id: z.uuid({ message: "must be a key id" }) })
  .extend(createKeySchema.partial().shape)
  .strict()
  .refine((body) => Object.keys(body).length > 1, {
    message: "nothing to change: send at least one of alias, max_budget, budget_duration, rpm_limit, tpm_limit, models",
  });

export const keyIdSchema = z.object({ id: z.uuid({ message: "must be a key id" }) }).strict();

export type CreateKeyInput = z.infer<typeof createKeySchema>;
export type UpdateKeyInput = z.infer<typeof updateKeySchema>;

export interface KeyView {
  id: string;
  alias: string | null;
  key: string;
  max_budget: number | null;
  budget_duration: string | null;
  rpm_limit: number | null;
  tpm_limit: number | null;
  models: string[];
  spend: number;
  remaining: number | null;
  status: "active" | "exhausted" | "revoked";
  sync_status: "pending" | "synced" | "failed";
  last_synced_at: Date | null;
  sync_attempts: number;
  last_sync_error: string | null;
  next_sync_at: Date | null;
  created_at: Date;
}

interface KeyRecord {
  id: string;
  alias: string | null;
  secret_hint: string | null;
  max_budget: number | null;
  budget_duration: string | null;
  rpm_limit: number | null;
  tpm_limit: number | null;
  models: string[];
  spend_cents: number;
  revoked_at: Date | null;
  sync_status: KeyView["sync_status"];
  last_synced_at: Date | null;
  sync_attempts: number;
  last_sync_error: string | null;
  next_sync_at: Date | null;
  created_at: Date;
}

/** The API's view of a key row: masked, in cents, with the parts of sync state a user can act on. */
export function keyView(row: KeyRecord): KeyView {
  const remaining = row.max_budget === null ? null : Math.max(0, row.max_budget - row.spend_cents);
  return {
    id: row.id,
    alias: row.alias,
    key: maskedKey(row.secret_hint),
    max_budget: row.max_budget,
    budget_duration: row.budget_duration,
    rpm_limit: row.rpm_limit,
    tpm_limit: row.tpm_limit,
    models: row.models,
    spend: row.spend_cents,
    remaining,
    status: row.revoked_at ? "revoked" : remaining === 0 ? "exhausted" : "active",
    sync_status: row.sync_status,
    last_synced_at: row.last_synced_at,
    sync_attempts: row.sync_attempts,
    last_sync_error: row.last_sync_error,
    next_sync_at: row.next_sync_at,
    created_at: row.created_at,
  };
}

const recordColumns = `id, alias, secret_hint, max_budget, budget_duration, rpm_limit, tpm_limit, models,
  spend_cents, revoked_at, sync_status, last_synced_at, sync_attempts, last_sync_error, next_sync_at, created_at`;

/** The caller's real keys (not the signup placeholder), newest first, read under RLS. */
export async function listKeys(sql: Sql, claims: UserClaims): Promise<KeyView[]> {
  const rows = await withUserTransaction(sql, claims, (tx) =>
    // RLS guarantees the scope; the explicit user filter lets the planner use the user index
    // instead of evaluating the policy on every row.
    tx.unsafe<KeyRecord[]>(
      `select ${recordColumns} from public.virtual_keys where user_id = $1 and not is_placeholder order by created_at desc`,
      [claims.sub],
    ),
  );
  return rows.map(keyView);
}

/**
 * The models a key may name: the gateway's list, refreshed at most once a minute. When the
 * gateway cannot be asked and nothing is known yet, answers null and the push will tell.
 */
export function createModelCatalog(client: LiteLLMClient, ttlMs = 60_000) {
  let known: { models: string[]; at: number } | undefined;
  return {
    async offered(): Promise<string[] | null> {
      if (known && Date.now() - known.at < ttlMs) return known.models;
      try {
        known = { models: await client.models(), at: Date.now() };
      } catch {
        // Gateway down: keep the last list we had, however old.
      }
      return known?.models ?? null;
    },
  };
}
export type ModelCatalog = ReturnType<typeof createModelCatalog>;

async function assertModelsOffered(catalog: ModelCatalog, models: string[] | undefined) {
  if (!models || models.length === 0) return;
  const offered = await catalog.offered();
  if (!offered) return;
  const unknown = models.filter((model) => !offered.includes(model));
  if (unknown.length > 0) {
    throw new ApiError("invalid_request", `models: the gateway does not offer ${unknown.join(", ")}`, { field: "models" });
  }
}

export interface KeyServices {
  sql: Sql;
  sync: SyncContext;
  models: ModelCatalog;
  keyEncryptionSecret: string;
}

export interface KeyChange {
  key: KeyView;
  /** Present after a create: shown to the owner once, stored nowhere in plaintext. */
  secret?: string;
  /** What to tell the user when the gateway has not confirmed the change yet. */
  message?: string;
}

/**
 * Creates a key: the signup placeholder becomes the first one. The secret is generated here,
 * stored encrypted until the gateway confirms it, and the change is queued in the same
 * transaction; then one immediate push is tried. If it fails the key still exists locally,
 * pending, and the worker converges it.
 */
export async function createKey(services: KeyServices, userId: string, input: CreateKeyInput): Promise<KeyChange> {
  await assertModelsOffered(services.models, input.models);
  const secret = generateKeySecret();
  const id = await withServiceTransaction(services.sql, async (tx) => {
    const [placeholder] = await tx<{ id: string }[]>`
      select id from public.virtual_keys where user_id = ${userId} and is_placeholder for update`;
    const rowId = placeholder?.id ?? randomUUID();
    const fields = {
      alias: input.alias,
      secret_hint: secretHint(secret),
      secret_ciphertext: encryptKeySecret(secret, rowId, services.keyEncryptionSecret),
      litellm_key_id: keyToken(secret),
    };
    if (placeholder) {
      await tx`
        update public.virtual_keys set
          alias = ${fields.alias}, secret_hint = ${fields.secret_hint}, secret_ciphertext = ${fields.secret_ciphertext},
          litellm_key_id = ${fields.litellm_key_id}, is_placeholder = false,
          max_budget = ${input.max_budget === undefined ? tx`max_budget` : input.max_budget},
          budget_duration = ${input.budget_duration === undefined ? tx`budget_duration` : input.budget_duration},
          rpm_limit = ${input.rpm_limit === undefined ? tx`rpm_limit` : input.rpm_limit},
          tpm_limit = ${input.tpm_limit === undefined ? tx`tpm_limit` : input.tpm_limit},
          models = ${input.models ?? []},
          desired_version = desired_version + 1, sync_status = 'pending', next_sync_at = now(),
          sync_attempts = 0, last_sync_error = null, created_at = now()
        where id = ${rowId}`;
    } else {
      await tx`
        insert into public.virtual_keys (id, user_id, alias, secret_hint, secret_ciphertext, litellm_key_id, models,
          max_budget, budget_duration, rpm_limit, tpm_limit)
        values (${rowId}, ${userId}, ${fields.alias}, ${fields.secret_hint}, ${fields.secret_ciphertext}, ${fields.litellm_key_id},
          ${input.models ?? []},
          ${input.max_budget === undefined ? 1000 : input.max_budget},
          ${input.budget_duration === undefined ? "30d" : input.budget_duration},
          ${input.rpm_limit === undefined ? 100 : input.rpm_limit},
          ${input.tpm_limit === undefined ? 10_000 : input.tpm_limit})`;
    }
    return rowId;
  });
  return { ...(await pushNow(services, id, userId)), secret };
}

export async function updateKey(services: KeyServices, userId: string, input: UpdateKeyInput): Promise<KeyChange> {
  await assertModelsOffered(services.models, input.models);
  const changed = await withServiceTransaction(services.sql, async (tx) => {
    const [row] = await tx`
      select id from public.virtual_keys
      where id = ${input.id} and user_id = ${userId} and not is_placeholder and revoked_at is null
      for update`;
    if (!row) return false;
    await tx`
      update public.virtual_keys set
        alias = ${input.alias === undefined ? tx`alias` : input.alias},
        max_budget = ${input.max_budget === undefined ? tx`max_budget` : input.max_budget},
        budget_duration = ${input.budget_duration === undefined ? tx`budget_duration` : input.budget_duration},
        rpm_limit = ${input.rpm_limit === undefined ? tx`rpm_limit` : input.rpm_limit},
        tpm_limit = ${input.tpm_limit === undefined ? tx`tpm_limit` : input.tpm_limit},
        models = ${input.models === undefined ? tx`models` : input.models},
        desired_version = desired_version + 1, sync_status = 'pending', next_sync_at = now(),
        sync_attempts = 0, last_sync_error = null
      where id = ${input.id}`;
    return true;
  });
  // Another user's key and a missing key answer alike: existence is not revealed.
  if (!changed) throw new ApiError("not_found", "No such key", { field: "id" });
  return pushNow(services, input.id, userId);
}

export async function revokeKey(services: KeyServices, userId: string, id: string): Promise<KeyChange> {
  const [row] = await services.sql`
    update public.virtual_keys set
      revoked_at = coalesce(revoked_at, now()),
      desired_version = desired_version + case when revoked_at is null then 1 else 0 end,
      sync_status = case when revoked_at is null then 'pending' else sync_status end,
      next_sync_at = case when revoked_at is null then now() else next_sync_at end
    where id = ${id} and user_id = ${userId} and not is_placeholder
    returning id`;
  if (!row) throw new ApiError("not_found", "No such key", { field: "id" });
  return pushNow(services, id, userId);
}

/** Pushes one key now if no worker holds it, and answers its state afterwards. */
export async function pushNow(services: KeyServices, id: string, ownerId?: string): Promise<KeyChange> {
  const [claimed] = await claimDueKeyRows(services.sync, 1, id);
  if (claimed) await pushKey(services.sync, claimed);
  const [row] = await services.sql.unsafe<(KeyRecord & { user_id: string })[]>(
    `select ${recordColumns}, user_id from public.virtual_keys where id = $1`,
    [id],
  );
  if (!row || (ownerId && row.user_id !== ownerId)) throw new ApiError("not_found", "No such key", { field: "id" });
  const key = keyView(row);
  if (key.sync_status === "synced") return { key };
  return {
    key,
    message: "Saved. The gateway has not confirmed this change yet; it will be applied automatically as soon as the gateway is reachable.",
  };
}

export const syncRequestSchema = z
  .object({ keyId: z.uuid({ message: "must be a key id" }), action: z.enum(["create", "update"]) })
  .strict();

export const syncFilterSchema = z.object({ status: z.enum(["pending", "synced", "failed"]).optional() });

export interface KeySyncState {
  id: string;
  user_id: string;
  sync_status: KeyView["sync_status"];
  last_synced_at: Date | null;
  attempts: number;
  last_error: string | null;
  next_attempt_at: Date | null;
}

/** Sync state of one user's keys, or (for admins, userId null) of everyone's. */
export async function keySyncStates(sql: Sql, userId: string | null, status?: KeySyncState["sync_status"]): Promise<KeySyncState[]> {
  return sql<KeySyncState[]>`
    select id, user_id, sync_status, last_synced_at, sync_attempts as attempts, last_sync_error as last_error,
           next_sync_at as next_attempt_at
    from public.virtual_keys
    where not is_placeholder
      ${userId ? sql`and user_id = ${userId}` : sql``}
      ${status ? sql`and sync_status = ${status}` : sql``}
    order by created_at desc
    limit 1000`;
}
