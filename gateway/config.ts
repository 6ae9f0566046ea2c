import { readFile } from "node:fs/promises";
import { createHmac } from "node:crypto";
import { stringify as canonicalJson } from "safe-stable-stringify";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { checkTimeZone, isValidDuration } from "./budget";
import { findBuiltInPrice } from "./prices";
import { awsParamsSchema, resolveAws, type AwsSettings } from "./providers/bedrock/settings";
import { litellmRouterFields, resolveRouterSettings, routerSettingsSchema, type RouterSettings } from "./router-config";

function isKnownTimeZone(timeZone: string): boolean {
  try {
    checkTimeZone(timeZone);
    return true;
  } catch {
    return false;
  }
}

/**
 * The gateway reads LiteLLM's config.yaml format, so a config written for a real LiteLLM proxy
 * runs here unchanged (for the providers we support) and the other way round.
 */

const cost = z.coerce.number().min(0);
const positiveInt = z.coerce.number().int().positive();
const bool = z.union([z.boolean(), z.enum(["true", "false"]).transform((value) => value === "true")]);

const litellmParamsSchema = z.looseObject({
  model: z.string().min(1),
  api_base: z.string().optional(),
  api_key: z.string().optional(),
  timeout: z.coerce.number().positive().optional(),
  stream_timeout: z.coerce.number().positive().optional(),
  num_retries: z.coerce.number().int().min(0).optional(),
  // Priority within the group: only the lowest order among available deployments is routed to.
  order: z.coerce.number().int().min(0).optional(),
  // Seconds out of the rotation after failing, over router_settings.cooldown_time (0: never).
  cooldown_time: z.coerce.number().min(0).optional(),
  // Load-balancing weights for simple-shuffle (LiteLLM's order of preference: weight, rpm, tpm).
  weight: z.coerce.number().positive().optional(),
  rpm: z.coerce.number().positive().optional(),
  tpm: z.coerce.number().positive().optional(),
  input_cost_per_token: cost.optional(),
  output_cost_per_token: cost.optional(),
  cache_read_input_token_cost: cost.optional(),
  cache_creation_input_token_cost: cost.optional(),
  mock_response: z.string().optional(),
  mock_latency_ms: z.coerce.number().min(0).optional(),
  ...awsParamsSchema.shape,
});

const modelInfoSchema = z.looseObject({
  id: z.string().optional(),
  mode: z.enum(["chat", "completion", "embedding"]).optional(),
  access_groups: z.array(z.string()).optional(),
  input_cost_per_token: cost.optional(),
  output_cost_per_token: cost.optional(),
  cache_read_input_token_cost: cost.optional(),
  cache_creation_input_token_cost: cost.optional(),
  max_output_tokens: positiveInt.optional(),
  max_tokens: positiveInt.optional(),
  base_model: z.string().optional(),
  output_vector_size: positiveInt.optional(),
  // Where LiteLLM keeps `order` for models added through its API; litellm_params.order wins.
  order: z.coerce.number().int().min(0).optional(),
});

export const configSchema = z.object({
  model_list: z
    .array(
      z.object({
        model_name: z.string().min(1),
        litellm_params: litellmParamsSchema,
        model_info: modelInfoSchema.optional(),
      }),
    )
    .default([]),
  litellm_settings: z
    .looseObject({
      request_timeout: z.coerce.number().positive().optional(),
      ...litellmRouterFields,
      max_budget: z.coerce.number().min(0).optional(),
      budget_duration: z
        .string()
        .refine(isValidDuration, { message: "must be a duration like 30s, 30m, 30h, 30d, 1mo, daily, weekly or monthly" })
        .optional(),
      always_include_stream_usage: bool.optional(),
      timezone: z
        .string()
        .refine(isKnownTimeZone, { message: "must be an IANA time zone such as UTC or US/Eastern" })
        .optional(),
    })
    .default({}),
  general_settings: z
    .looseObject({
      master_key: z.string().optional(),
      proxy_batch_write_at: z.coerce.number().positive().optional(),
      max_request_size_mb: z.coerce.number().positive().optional(),
      disable_spend_logs: bool.optional(),
      require_auth_for_metrics_endpoint: bool.optional(),
      litellm_key_header_name: z.string().optional(),
      health_check_interval: z.coerce.number().positive().optional(),
      background_health_checks: bool.optional(),
    })
    .default({}),
  router_settings: routerSettingsSchema.default({}),
  environment_variables: z.record(z.string(), z.unknown()).optional(),
});

export type GatewayConfigFile = z.infer<typeof configSchema>;

export type ProviderName = "openai" | "anthropic" | "mock" | "bedrock" | "ollama" | "ollama_chat";

/** One upstream a public model name routes to; several deployments of one name share the load. */
export interface Deployment {
  id: string;
  modelName: string;
  provider: ProviderName;
  /** The model name the upstream knows, without our provider prefix. */
  upstreamModel: string;
  apiBase: string;
  apiKey: string | undefined;
  mode: "chat" | "completion" | "embedding";
  /** US dollars per token. */
  inputCostPerToken: number;
  outputCostPerToken: number;
  /** Prompt-cache prices; undefined bills those tokens at the input price. */
  cacheReadCostPerToken: number | undefined;
  cacheWriteCostPerToken: number | undefined;
  maxOutputTokens: number;
  accessGroups: string[];
  timeoutMs: number;
  /** Streams only: how long the first chunk may take (later gaps are bounded by timeoutMs). */
  streamTimeoutMs: number;
  /** litellm_params.num_retries: retries of this deployment's group, over the global setting. */
  numRetries: number | undefined;
  /** Share of its group's traffic under simple-shuffle (weight, else rpm, else tpm; 1 when none). */
  weight: number;
  /**
   * `order`: priority within its group (lower first). While any available deployment of the
   * group has one, only those with the lowest are routed to; those without one only when none has.
   */
  order: number | undefined;
  /** litellm_params.cooldown_time in ms: this deployment's time out of the rotation, over the router's. */
  cooldownMs: number | undefined;
  /** The deployment's own capacity (`litellm_params.rpm` / `tpm`), which usage- and cost-based routing keep under. */
  rpmLimit: number | undefined;
  tpmLimit: number | undefined;
  mockResponse: string | undefined;
  mockLatencyMs: number;
  embeddingDimensions: number;
  /** Region, endpoint and credentials of a `bedrock/` deployment. */
  aws: AwsSettings | undefined;
  /** What /model/info shows: the config's params without the upstream's credentials. */
  publicParams: Record<string, unknown>;
  publicInfo: Record<string, unknown>;
}

export interface GatewaySettings {
  masterKey: string;
  deployments: Deployment[];
  /** Retries, fallbacks and cooldowns across deployments (router_settings / litellm_settings). */
  router: RouterSettings;
  /** Seconds between spend flushes to Postgres. */
  batchWriteSeconds: number;
  maxRequestBytes: number;
  disableSpendLogs: boolean;
  requireAuthForMetrics: boolean;
  keyHeaderName: string | undefined;
  healthCheckIntervalSeconds: number;
  /** Probe the deployments every interval instead of when /health is asked. */
  backgroundHealthChecks: boolean;
  alwaysIncludeStreamUsage: boolean;
  /** Global proxy budget in US dollars, if any, and the period it resets on. */
  maxBudget: number | undefined;
  budgetDuration: string | null;
  /** The clock budget resets are aligned to. */
  timeZone: string;
}

/** Environment variables a config may refer to (a plain record, so tests need not fake a whole ProcessEnv). */
export type ConfigEnv = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

const envReference = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces `os.environ/VAR` (LiteLLM's form, a whole value) and `${VAR}` / `${VAR:-default}`
 * (docker-compose's form, anywhere in a string). A reference to an unset variable stops start-up
 * naming it, instead of sending an empty API key upstream.
 */
export function interpolateEnv(value: unknown, env: ConfigEnv, path = "config"): unknown {
  if (typeof value === "string") {
    const whole = /^os\.environ\/([A-Za-z_][A-Za-z0-9_]*)$/.exec(value.trim());
    if (whole?.[1]) {
      const found = env[whole[1]];
      if (found === undefined || found === "") throw new ConfigError(`${path}: environment variable ${whole[1]} is not set`);
      return found;
    }
    return value.replace(envReference, (_match, name: string, fallback: string | undefined) => {
      const found = env[name];
      if (found !== undefined && found !== "") return found;
      if (fallback !== undefined) return fallback;
      throw new ConfigError(`${path}: environment variable ${name} is not set`);
    });
  }
  if (Array.isArray(value)) return value.map((item, index) => interpolateEnv(item, env, `${path}[${index}]`));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, interpolateEnv(item, env, `${path}.${key}`)]),
    );
  }
  return value;
}

export async function loadConfigFile(file: string, env: ConfigEnv): Promise<GatewayConfigFile> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new ConfigError(`cannot read GATEWAY_CONFIG ${file}: ${(err as Error).message}`);
  }
  return parseConfigText(text, env, file);
}

export function parseConfigText(text: string, env: ConfigEnv, file = "config.yaml"): GatewayConfigFile {
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (err) {
    throw new ConfigError(`${file} is not valid YAML: ${(err as Error).message}`);
  }
  // environment_variables in the file are defaults that the process environment overrides.
  const fileEnv = z.object({ environment_variables: z.record(z.string(), z.unknown()).optional() }).safeParse(raw);
  const declared = fileEnv.success ? (fileEnv.data.environment_variables ?? {}) : {};
  const mergedEnv: ConfigEnv = { ...stringValues(declared), ...env };
  const result = configSchema.safeParse(interpolateEnv(raw, mergedEnv));
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `  - ${issue.path.join(".") || "(root)"}: ${issue.message}`);
    throw new ConfigError(`${file} is not a valid gateway config:\n${problems.join("\n")}`);
  }
  return result.data;
}

function stringValues(record: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(record).flatMap(([key, value]) =>
      typeof value === "string" || typeof value === "number" ? [[key, String(value)]] : [],
    ),
  );
}

const defaultOpenAiBase = "https://api.openai.com/v1";
const defaultOllamaBase = "http://localhost:11434";
const defaultAnthropicBase = "https://api.anthropic.com";

function providerOf(model: string): { provider: ProviderName; upstreamModel: string } {
  const slash = model.indexOf("/");
  const prefix = slash > 0 ? model.slice(0, slash) : "";
  const rest = slash > 0 ? model.slice(slash + 1) : model;
  if (prefix === "openai" || prefix === "hosted_vllm") return { provider: "openai", upstreamModel: rest };
  if (prefix === "mock" || model === "mock") return { provider: "mock", upstreamModel: rest || "mock" };
  // LiteLLM's `bedrock/converse/<id>` and `bedrock/invoke/<id>` name the API; every one goes through Converse here.
  if (prefix === "bedrock") return { provider: "bedrock", upstreamModel: rest.replace(/^(?:converse|invoke)\//, "") };
  if (prefix === "ollama" || prefix === "ollama_chat") return { provider: prefix, upstreamModel: rest };
  // LiteLLM reads a bare claude-* name as Anthropic's.
  if (prefix === "anthropic") return { provider: "anthropic", upstreamModel: rest };
  if (prefix === "" && model.startsWith("claude-")) return { provider: "anthropic", upstreamModel: model };
  // LiteLLM treats a bare gpt-*/o*/text-embedding-* name as OpenAI's.
  if (prefix === "" && /^(gpt-|o\d|text-embedding-|chatgpt-|davinci|babbage)/.test(model)) {
    return { provider: "openai", upstreamModel: model };
  }
  throw new ConfigError(
    `model "${model}": provider "${prefix || model}" is not supported by this gateway yet (supported: openai/<name> for any OpenAI-compatible server, anthropic/<name>, bedrock/<model-id>, ollama/<name>, ollama_chat/<name>, mock/<name>)`,
  );
}

function awsOf(params: z.infer<typeof litellmParamsSchema>, where: string): AwsSettings {
  try {
    return resolveAws(params, process.env);
  } catch (err) {
    throw new ConfigError(`${where}: ${(err as Error).message}`);
  }
}

/**
 * The id of a deployment the config gives none (`model_info.id`): the same on every instance that
 * reads the same config, as LiteLLM derives its ids from a deployment's parameters, so that
 * instances can tell each other about a deployment (its cooldowns) and spend logs name it the same
 * across restarts. An HMAC under the master key rather than a plain hash: the parameters include
 * the upstream's API key, and the id is shown in every answer's `x-litellm-model-id`. A second
 * deployment with the very same parameters gets `-2`, and so on.
 */
function derivedId(masterKey: string, modelName: string, params: unknown, taken: ReadonlySet<string>): string {
  const base = createHmac("sha256", masterKey).update(canonicalJson([modelName, params]) ?? "").digest("hex");
  let id = base;
  for (let copy = 2; taken.has(id); copy += 1) id = `${base}-${copy}`;
  return id;
}

export function resolveSettings(config: GatewayConfigFile, envMasterKey: string | undefined): GatewaySettings {
  const configured = config.general_settings.master_key;
  const masterKey = configured ?? envMasterKey;
  if (!masterKey) {
    throw new ConfigError(
      "no master key: set LITELLM_MASTER_KEY (or general_settings.master_key). Without one LiteLLM lets every caller act as admin; this gateway refuses to start instead.",
    );
  }
  if (!masterKey.startsWith("sk-") || masterKey.length < 8) {
    throw new ConfigError("the master key must start with sk- and be at least 8 characters");
  }

  // LiteLLM's precedence: the deployment's own timeout, then router_settings, then request_timeout.
  const requestTimeoutSeconds = config.router_settings.timeout ?? config.litellm_settings.request_timeout ?? 600;
  const ids = new Set<string>();
  const deployments = config.model_list.map((entry, index) => {
    const params = entry.litellm_params;
    const info = entry.model_info ?? {};
    const { provider, upstreamModel } = providerOf(params.model);
    const builtIn = findBuiltInPrice(info.base_model ?? params.model) ?? findBuiltInPrice(entry.model_name);
    // A local Ollama model costs nothing unless the config prices it.
    const localPrice = provider === "ollama" || provider === "ollama_chat" ? 0 : undefined;
    const ownInputPrice = info.input_cost_per_token !== undefined || params.input_cost_per_token !== undefined;
    const inputCostPerToken =
      info.input_cost_per_token ?? params.input_cost_per_token ?? builtIn?.inputCostPerToken ?? localPrice;
    const outputCostPerToken =
      info.output_cost_per_token ?? params.output_cost_per_token ?? builtIn?.outputCostPerToken ?? localPrice;
    const mode = info.mode ?? builtIn?.mode ?? (/embed/i.test(entry.model_name) ? "embedding" : "chat");
    if (inputCostPerToken === undefined || (outputCostPerToken === undefined && mode !== "embedding")) {
      throw new ConfigError(
        `model_list[${index}] "${entry.model_name}" has no price: set model_info.input_cost_per_token and output_cost_per_token (US dollars per token; 0 for a free model), or model_info.base_model to a known model. An unpriced model would be free and never trip a budget.`,
      );
    }
    if (provider === "anthropic" && !params.api_key) {
      throw new ConfigError(
        `model_list[${index}] "${entry.model_name}": anthropic needs litellm_params.api_key (for example os.environ/ANTHROPIC_API_KEY)`,
      );
    }
    const {
      api_key: _apiKey,
      aws_access_key_id: _awsKeyId,
      aws_secret_access_key: _awsSecret,
      aws_session_token: _awsToken,
      ...publicParams
    } = params;
    const aws = provider === "bedrock" ? awsOf(params, `model_list[${index}] "${entry.model_name}"`) : undefined;
    const id = info.id ?? derivedId(masterKey, entry.model_name, params, ids);
    if (ids.has(id)) {
      throw new ConfigError(`model_list[${index}] "${entry.model_name}": model_info.id ${id} is already the id of another deployment`);
    }
    ids.add(id);
    const deployment: Deployment = {
      id,
      modelName: entry.model_name,
      provider,
      upstreamModel,
      apiBase: (
        aws?.endpoint ??
        params.api_base ??
        (provider === "ollama" || provider === "ollama_chat"
          ? defaultOllamaBase
          : provider === "anthropic"
            ? defaultAnthropicBase
            : defaultOpenAiBase)
      ).replace(/\/+$/, ""),
      apiKey: params.api_key,
      mode,
      inputCostPerToken,
      outputCostPerToken: outputCostPerToken ?? 0,
      // A config that sets its own input price without cache prices is not given the built-in
      // model's cache prices: they are a share of a price it has replaced.
      cacheReadCostPerToken:
        info.cache_read_input_token_cost ?? params.cache_read_input_token_cost ?? (ownInputPrice ? undefined : builtIn?.cacheReadCostPerToken),
      cacheWriteCostPerToken:
        info.cache_creation_input_token_cost ??
        params.cache_creation_input_token_cost ??
        (ownInputPrice ? undefined : builtIn?.cacheWriteCostPerToken),
      maxOutputTokens: info.max_output_tokens ?? info.max_tokens ?? builtIn?.maxOutputTokens ?? 4_096,
      accessGroups: info.access_groups ?? [],
      timeoutMs: (params.timeout ?? requestTimeoutSeconds) * 1000,
      streamTimeoutMs: (params.stream_timeout ?? config.router_settings.stream_timeout ?? params.timeout ?? requestTimeoutSeconds) * 1000,
      numRetries: params.num_retries,
      weight: params.weight ?? params.rpm ?? params.tpm ?? 1,
      order: params.order ?? info.order,
      cooldownMs: params.cooldown_time === undefined ? undefined : params.cooldown_time * 1000,
      rpmLimit: params.rpm,
      tpmLimit: params.tpm,
      mockResponse: params.mock_response,
      mockLatencyMs: params.mock_latency_ms ?? 0,
      embeddingDimensions: info.output_vector_size ?? 1536,
      aws,
      publicParams,
      publicInfo: info,
    };
    return deployment;
  });

  const general = config.general_settings;
  return {
    masterKey,
    deployments,
    router: resolveRouterSettings(config.router_settings, config.litellm_settings, deployments, (message) => new ConfigError(message)),
    batchWriteSeconds: general.proxy_batch_write_at ?? 10,
    maxRequestBytes: Math.round((general.max_request_size_mb ?? 10) * 1024 * 1024),
    disableSpendLogs: general.disable_spend_logs ?? false,
    requireAuthForMetrics: general.require_auth_for_metrics_endpoint ?? false,
    keyHeaderName: general.litellm_key_header_name?.toLowerCase(),
    healthCheckIntervalSeconds: general.health_check_interval ?? 30,
    backgroundHealthChecks: general.background_health_checks ?? false,
    alwaysIncludeStreamUsage: config.litellm_settings.always_include_stream_usage ?? false,
    maxBudget: config.litellm_settings.max_budget,
    budgetDuration: config.litellm_settings.budget_duration ?? null,
    timeZone: config.litellm_settings.timezone ?? "UTC",
  };
}
