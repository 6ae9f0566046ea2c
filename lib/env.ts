import { z } from "zod";

/**
 * Every environment variable the product reads, validated once at start-up.
 *
 * Each part (app, gateway, worker, CLI) parses the subset it needs, so a gateway does not
 * demand the app's session secret. A bad value stops the process with a message that names
 * the variable; an optional feature whose variables are absent is off and says so.
 */

const secret = (what: string) =>
  z.string().min(32, `${what} must be at least 32 characters (generate one with: openssl rand -hex 32)`);

const httpUrl = z
  .url({ protocol: /^https?$/, message: "must be an http(s) URL" })
  .transform((value) => value.replace(/\/+$/, ""));

const port = z.coerce.number().int().min(1).max(65535);

const emailList = z
  .string()
  .default("")
  .transform((value) =>
    value
      .split(",")
      .map((email) => email.trim().toLowerCase())
      .filter((email) => email.length > 0),
  )
  .pipe(z.array(z.email({ message: "must be a comma-separated list of email addresses" })));

export const envFields = {
  DATABASE_URL: z.url({
    protocol: /^postgres(ql)?$/,
    error: (issue) => (issue.input === undefined ? "is required" : "must be a postgres:// URL"),
  }),
  REDIS_URL: z.url({ protocol: /^rediss?$/, message: "must be a redis:// URL" }).optional(),
  LITELLM_BASE_URL: httpUrl.default("http://127.0.0.1:4001"),
  LITELLM_MASTER_KEY: z
    .string()
    .startsWith("sk-", "must start with sk- (LiteLLM's rule for master keys)")
    .min(8, "is too short")
    .optional(),
  GATEWAY_PUBLIC_URL: httpUrl.default("http://localhost:4000"),
  GATEWAY_CONFIG: z.string().min(1).default("gateway/config.local.yaml"),
  PAYSTACK_SECRET_KEY: z.string().regex(/^sk_(test|live)_\w+$/, "must look like sk_test_… or sk_live_…").optional(),
  PAYSTACK_PUBLIC_KEY: z.string().regex(/^pk_(test|live)_\w+$/, "must look like pk_test_… or pk_live_…").optional(),
  PAYSTACK_BASE_URL: httpUrl.default("https://api.paystack.co"),
  PAYSTACK_SIMULATOR: z.enum(["off", "on"]).optional(),
  PAYMENTS_CURRENCY: z.string().regex(/^[A-Z]{3}$/, "must be a 3-letter currency code such as USD or NGN").default("USD"),
  PAYMENTS_PRICE_PER_CREDIT: z.coerce.number().int().positive("must be a positive whole number of the currency's subunit").default(1),
  PAYMENTS_PACKS: z
    .string()
    .default("1000,2500,5000,10000")
    .transform((value) => value.split(",").map((part) => Number(part.trim())).filter((credits) => credits !== 0))
    .pipe(z.array(z.number().int().positive("must be a comma-separated list of whole numbers of credits")).min(1, "must name at least one pack")),
  PAYMENTS_MIN_CREDITS: z.coerce.number().int().positive().default(500),
  PAYMENTS_MAX_CREDITS: z.coerce.number().int().positive().default(100_000),
  APP_URL: httpUrl.default("http://localhost:3000"),
  AUTH_MODE: z.enum(["local", "supabase"]).default("local"),
  AUTH_JWT_SECRET: secret("AUTH_JWT_SECRET").optional(),
  NEXT_PUBLIC_SUPABASE_URL: httpUrl.optional(),
  NEXT_PUBLIC_SUPABASE_ANON_KEY: z.string().min(1).optional(),
  KEY_ENCRYPTION_SECRET: secret("KEY_ENCRYPTION_SECRET"),
  ADMIN_EMAILS: emailList,
  PORT: port.default(3000),
  GATEWAY_PORT: port.default(4000),
  GATEWAY_ADMIN_PORT: port.default(4001),
  GATEWAY_HOST: z.string().min(1).default("0.0.0.0"),
  GATEWAY_ADMIN_HOST: z.string().min(1).default("127.0.0.1"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  // Optional bearer token for GET /api/metrics; unset, the endpoint is open (keep it private).
  METRICS_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  // The worker's own Prometheus endpoint (GET /metrics); unset, the worker serves none.
  WORKER_METRICS_PORT: port.optional(),
  WORKER_METRICS_HOST: z.string().min(1).default("127.0.0.1"),
} as const;

export const appEnvSchema = z
  .object({
    DATABASE_URL: envFields.DATABASE_URL,
    LITELLM_BASE_URL: envFields.LITELLM_BASE_URL,
    LITELLM_MASTER_KEY: envFields.LITELLM_MASTER_KEY,
    GATEWAY_PUBLIC_URL: envFields.GATEWAY_PUBLIC_URL,
    PAYSTACK_SECRET_KEY: envFields.PAYSTACK_SECRET_KEY,
    PAYSTACK_PUBLIC_KEY: envFields.PAYSTACK_PUBLIC_KEY,
    PAYSTACK_BASE_URL: envFields.PAYSTACK_BASE_URL,
    PAYSTACK_SIMULATOR: envFields.PAYSTACK_SIMULATOR,
    PAYMENTS_CURRENCY: envFields.PAYMENTS_CURRENCY,
    PAYMENTS_PRICE_PER_CREDIT: envFields.PAYMENTS_PRICE_PER_CREDIT,
    PAYMENTS_PACKS: envFields.PAYMENTS_PACKS,
    PAYMENTS_MIN_CREDITS: envFields.PAYMENTS_MIN_CREDITS,
    PAYMENTS_MAX_CREDITS: envFields.PAYMENTS_MAX_CREDITS,
    APP_URL: envFields.APP_URL,
    AUTH_MODE: envFields.AUTH_MODE,
    AUTH_JWT_SECRET: envFields.AUTH_JWT_SECRET,
    NEXT_PUBLIC_SUPABASE_URL: envFields.NEXT_PUBLIC_SUPABASE_URL,
    NEXT_PUBLIC_SUPABASE_ANON_KEY: envFields.NEXT_PUBLIC_SUPABASE_ANON_KEY,
    KEY_ENCRYPTION_SECRET: envFields.KEY_ENCRYPTION_SECRET,
    ADMIN_EMAILS: envFields.ADMIN_EMAILS,
    PORT: envFields.PORT,
    LOG_LEVEL: envFields.LOG_LEVEL,
    METRICS_TOKEN: envFields.METRICS_TOKEN,
  })
  .superRefine((env, ctx) => {
    if (env.AUTH_MODE === "local" && !env.AUTH_JWT_SECRET) {
      ctx.addIssue({
        code: "custom",
        path: ["AUTH_JWT_SECRET"],
        message: "is required when AUTH_MODE=local (it signs session cookies)",
      });
    }
    if (env.PAYMENTS_MIN_CREDITS > env.PAYMENTS_MAX_CREDITS) {
      ctx.addIssue({ code: "custom", path: ["PAYMENTS_MIN_CREDITS"], message: "must not exceed PAYMENTS_MAX_CREDITS" });
    }
    if (env.AUTH_MODE === "supabase") {
      for (const name of ["NEXT_PUBLIC_SUPABASE_URL", "NEXT_PUBLIC_SUPABASE_ANON_KEY"] as const) {
        if (!env[name]) {
          ctx.addIssue({ code: "custom", path: [name], message: "is required when AUTH_MODE=supabase" });
        }
      }
    }
  });

export type AppEnv = z.infer<typeof appEnvSchema>;

export class EnvError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid environment:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "EnvError";
  }
}

/** Parses `source` with `schema`, turning every problem into a line that names its variable. */
export function parseEnv<S extends z.ZodType>(
  schema: S,
  source: Record<string, string | undefined> = process.env,
): z.infer<S> {
  // An empty string means "unset": shells and .env files often export VAR= for absent values.
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== ""));
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  throw new EnvError(
    result.error.issues.map((issue) => `${issue.path.join(".") || "environment"}: ${issue.message}`),
  );
}

let appEnvCache: AppEnv | undefined;

/** The app's environment, parsed on first use and then cached for the life of the process. */
export function appEnv(): AppEnv {
  appEnvCache ??= parseEnv(appEnvSchema);
  return appEnvCache;
}

/** Prints the problem and exits: for process entry points, where a bad env must stop start-up. */
export function exitOnEnvError(err: unknown): never {
  if (err instanceof EnvError) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}
