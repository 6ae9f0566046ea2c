import { z } from "zod";
import { envFields, parseEnv } from "../lib/env";

/** The gateway's slice of the product's environment (lib/env.ts holds the field definitions). */
export const gatewayEnvSchema = z.object({
  DATABASE_URL: envFields.DATABASE_URL,
  LITELLM_MASTER_KEY: envFields.LITELLM_MASTER_KEY,
  GATEWAY_CONFIG: envFields.GATEWAY_CONFIG,
  GATEWAY_PORT: envFields.GATEWAY_PORT,
  GATEWAY_ADMIN_PORT: envFields.GATEWAY_ADMIN_PORT,
  GATEWAY_HOST: envFields.GATEWAY_HOST,
  GATEWAY_ADMIN_HOST: envFields.GATEWAY_ADMIN_HOST,
  LOG_LEVEL: envFields.LOG_LEVEL,
  REDIS_URL: envFields.REDIS_URL,
  // Keys of this deployment in a Redis shared with others (or with parallel test runs).
  REDIS_KEY_PREFIX: z.string().min(1).max(100).default("creditgate:"),
});

export type GatewayEnv = z.infer<typeof gatewayEnvSchema>;

export function gatewayEnv(source: NodeJS.ProcessEnv = process.env): GatewayEnv {
  return parseEnv(gatewayEnvSchema, source);
}
