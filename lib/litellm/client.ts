import { errors as undiciErrors, Pool } from "undici";
import { z } from "zod";

/**
 * A typed client of the LiteLLM admin API, used against our gateway and a real LiteLLM proxy
 * alike. Money crosses this edge as dollars (LiteLLM's floats) and is integer cents on our side.
 *
 * Every failure is a GatewayError that says whether trying again can help: network errors,
 * timeouts, 5xx and 429 are retryable; any other 4xx is permanent and carries the gateway's own
 * message, because retrying a request the gateway refused will not change its mind.
 */

export class GatewayError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
  ) {
    super(message);
    this.name = "GatewayError";
  }
}

export interface LiteLLMClientOptions {
  /** Admin listener of our gateway, or a LiteLLM proxy; may carry a path prefix. */
  baseUrl: string;
  masterKey: string;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  connections?: number;
}

export const centsToDollars = (cents: number): number => cents / 100;
/** Spend comes back as fractional dollars; cents are rounded to the nearest cent for display. */
export const dollarsToCents = (dollars: number): number => Math.round(dollars * 100);

export interface KeyLimits {
  alias?: string | null;
  maxBudgetCents?: number | null;
  budgetDuration?: string | null;
  rpmLimit?: number | null;
  tpmLimit?: number | null;
  /** Empty means every model the gateway offers. */
  models?: string[];
  metadata?: Record<string, unknown>;
}

const keyResponseSchema = z.object({ token: z.string().min(1) }).passthrough();

const keyInfoSchema = z.object({
  key: z.string(),
  info: z
    .object({
      key_alias: z.string().nullable().optional(),
      spend: z.number().nullable().optional(),
      max_budget: z.number().nullable().optional(),
      budget_duration: z.string().nullable().optional(),
      rpm_limit: z.number().nullable().optional(),
      tpm_limit: z.number().nullable().optional(),
      models: z.array(z.string()).nullable().optional(),
      user_id: z.string().nullable().optional(),
      blocked: z.boolean().nullable().optional(),
    })
    .passthrough(),
});

const userInfoSchema = z.object({
  user_id: z.string().nullable().optional(),
  user_info: z
    .object({
      user_id: z.string().optional(),
      max_budget: z.number().nullable().optional(),
      spend: z.number().nullable().optional(),
    })
    .passthrough()
    .nullable()
    .optional(),
});

const modelsSchema = z.object({ data: z.array(z.object({ id: z.string() }).passthrough()) });

const spendLogRowSchema = z
  .object({
    request_id: z.string(),
    api_key: z.string().nullable().optional(),
    user: z.string().nullable().optional(),
    model: z.string().nullable().optional(),
    spend: z.number().nullable().optional(),
    prompt_tokens: z.number().nullable().optional(),
    completion_tokens: z.number().nullable().optional(),
    total_tokens: z.number().nullable().optional(),
    startTime: z.string(),
    status: z.string().nullable().optional(),
  })
  .passthrough();
export type SpendLogRow = z.infer<typeof spendLogRowSchema>;

export interface KeyInfo {
  alias: string | null;
  spendCents: number;
  maxBudgetCents: number | null;
  budgetDuration: string | null;
  rpmLimit: number | null;
  tpmLimit: number | null;
  models: string[];
  userId: string | null;
  blocked: boolean;
}

export function createLiteLLMClient(options: LiteLLMClientOptions) {
  const base = new URL(options.baseUrl);
  const prefix = base.pathname.replace(/\/+$/, "");
  const requestTimeoutMs = options.requestTimeoutMs ?? 5_000;
  const pool = new Pool(base.origin, {
    connections: options.connections ?? 16,
    connect: { timeout: options.connectTimeoutMs ?? 2_000 },
    headersTimeout: requestTimeoutMs,
    bodyTimeout: requestTimeoutMs,
    keepAliveTimeout: 30_000,
  });

  async function call<S extends z.ZodType>(
    method: "GET" | "POST",
    path: string,
    schema: S,
    body?: unknown,
    query?: Record<string, string | undefined>,
  ): Promise<z.infer<S>> {
    const search = new URLSearchParams(
      Object.entries(query ?? {}).filter((entry): entry is [string, string] => entry[1] !== undefined),
    ).toString();
    let response;
    try {
      response = await pool.request({
        method,
        path: `${prefix}${path}${search ? `?${search}` : ""}`,
        headers: {
          authorization: `Bearer ${options.masterKey}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(requestTimeoutMs),
      });
    } catch (err) {
      throw networkError(err, `${base.origin}${prefix}${path}`);
    }
    const text = await response.body.text().catch((err: unknown) => {
      throw networkError(err, `${base.origin}${prefix}${path}`);
    });
    if (response.statusCode >= 400) throw statusError(response.statusCode, text, path);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new GatewayError(`${path}: the gateway answered ${response.statusCode} with a body that is not JSON`, true, response.statusCode);
    }
    const result = schema.safeParse(parsed);
    if (!result.success) {
      throw new GatewayError(`${path}: unexpected response shape (${result.error.issues[0]?.message ?? "invalid"})`, false, response.statusCode);
    }
    return result.data;
  }

  function keyFields(limits: KeyLimits): Record<string, unknown> {
    const fields: Record<string, unknown> = {};
    if (limits.alias !== undefined) fields.key_alias = limits.alias;
    if (limits.maxBudgetCents !== undefined) fields.max_budget = limits.maxBudgetCents === null ? null : centsToDollars(limits.maxBudgetCents);
    if (limits.budgetDuration !== undefined) fields.budget_duration = limits.budgetDuration;
    if (limits.rpmLimit !== undefined) fields.rpm_limit = limits.rpmLimit;
    if (limits.tpmLimit !== undefined) fields.tpm_limit = limits.tpmLimit;
    if (limits.models !== undefined) fields.models = limits.models;
    if (limits.metadata !== undefined) fields.metadata = limits.metadata;
    return fields;
  }

  return {
    baseUrl: `${base.origin}${prefix}`,

    async liveliness(): Promise<void> {
      await call("GET", "/health/liveliness", z.unknown());
    },

    /** Model names the gateway offers (the master key sees all of them). */
    async models(): Promise<string[]> {
      const body = await call("GET", "/v1/models", modelsSchema);
      return body.data.map((model) => model.id);
    },

    /** Registers a key whose secret we generated; answers the gateway's token (the hash). */
    async generateKey(input: KeyLimits & { secret: string; userId: string }): Promise<{ token: string }> {
      const body = await call("POST", "/key/generate", keyResponseSchema, {
        key: input.secret,
        user_id: input.userId,
        ...keyFields(input),
      });
      return { token: body.token };
    },

    /** Sets the key's limits to exactly these values (absolute, so a repeat changes nothing). */
    async updateKey(token: string, limits: KeyLimits): Promise<void> {
      await call("POST", "/key/update", z.unknown(), { key: token, ...keyFields(limits) });
    },

    /** Deletes the key; a key the gateway no longer has counts as deleted. */
    async deleteKey(token: string): Promise<void> {
      try {
        await call("POST", "/key/delete", z.unknown(), { keys: [token] });
      } catch (err) {
        if (err instanceof GatewayError && err.status === 404) return;
        throw err;
      }
    },

    /** The key as the gateway has it, or null when it has none. */
    async keyInfo(token: string): Promise<KeyInfo | null> {
      try {
        const { info } = await call("GET", "/key/info", keyInfoSchema, undefined, { key: token });
        return {
          alias: info.key_alias ?? null,
          spendCents: dollarsToCents(info.spend ?? 0),
          maxBudgetCents: info.max_budget === null || info.max_budget === undefined ? null : dollarsToCents(info.max_budget),
          budgetDuration: info.budget_duration ?? null,
          rpmLimit: info.rpm_limit ?? null,
          tpmLimit: info.tpm_limit ?? null,
          models: info.models ?? [],
          userId: info.user_id ?? null,
          blocked: info.blocked === true,
        };
      } catch (err) {
        if (err instanceof GatewayError && err.status === 404) return null;
        throw err;
      }
    },

    /**
     * Makes the gateway user exist with exactly this budget (no reset): update, and create when
     * the gateway does not know the user yet. Never lets /user/new create a key of its own.
     */
    async upsertUser(input: { userId: string; email?: string; maxBudgetCents: number }): Promise<void> {
      const fields = { user_id: input.userId, max_budget: centsToDollars(input.maxBudgetCents), budget_duration: null };
      const exists = (await this.userInfo(input.userId)) !== null;
      if (exists) {
        await call("POST", "/user/update", z.unknown(), fields);
        return;
      }
      try {
        await call("POST", "/user/new", z.unknown(), { ...fields, user_email: input.email, auto_create_key: false });
      } catch (err) {
        // Another push created it between our look-up and our create: update instead.
        if (!(err instanceof GatewayError && err.status === 409)) throw err;
        await call("POST", "/user/update", z.unknown(), fields);
      }
    },

    async userInfo(userId: string): Promise<{ maxBudgetCents: number | null; spendCents: number } | null> {
      try {
        const body = await call("GET", "/user/info", userInfoSchema, undefined, { user_id: userId });
        const info = body.user_info;
        if (!info) return null;
        return {
          maxBudgetCents: info.max_budget === null || info.max_budget === undefined ? null : dollarsToCents(info.max_budget),
          spendCents: dollarsToCents(info.spend ?? 0),
        };
      } catch (err) {
        if (err instanceof GatewayError && err.status === 404) return null;
        throw err;
      }
    },

    /** Spend-log rows (not summarised) for a user or key between two dates, inclusive. */
    async spendLogs(filter: { userId?: string; token?: string; startDate: string; endDate: string }): Promise<SpendLogRow[]> {
      return call("GET", "/spend/logs", z.array(spendLogRowSchema), undefined, {
        user_id: filter.userId,
        api_key: filter.token,
        start_date: filter.startDate,
        end_date: filter.endDate,
        summarize: "false",
      });
    },

    close(): Promise<void> {
      return pool.close();
    },
  };
}

export type LiteLLMClient = ReturnType<typeof createLiteLLMClient>;

function networkError(err: unknown, url: string): GatewayError {
  if (err instanceof GatewayError) return err;
  const code = (err as { code?: string }).code;
  const name = err instanceof Error ? err.name : "";
  if (name === "TimeoutError" || name === "AbortError" || err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError) {
    return new GatewayError(`the gateway at ${url} did not answer in time`, true);
  }
  if (err instanceof undiciErrors.ConnectTimeoutError) return new GatewayError(`could not connect to the gateway at ${url} in time`, true);
  return new GatewayError(`cannot reach the gateway at ${url}${code ? ` (${code})` : ""}`, true);
}

/** LiteLLM's error bodies come in several shapes; this finds the human message in any of them. */
function statusError(status: number, text: string, path: string): GatewayError {
  let message = text.slice(0, 300);
  try {
    const body = JSON.parse(text) as { error?: unknown; detail?: unknown; message?: unknown };
    const error = body.error ?? body.detail ?? body.message;
    if (typeof error === "string") message = error;
    else if (error && typeof error === "object") {
      const inner = (error as { message?: unknown; error?: unknown }).message ?? (error as { error?: unknown }).error;
      if (typeof inner === "string") message = inner;
    }
  } catch {
    // not JSON: keep the text
  }
  const retryable = status >= 500 || status === 429;
  const hint = status === 401 ? " (check LITELLM_MASTER_KEY)" : "";
  return new GatewayError(`${path}: gateway answered ${status}: ${message}${hint}`, retryable, status);
}
