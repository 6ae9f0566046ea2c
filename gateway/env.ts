import { z } from "zod";
import { envFields, parseEnv } from "../lib/env";

const redisNode = z.object({ host: z.string().min(1), port: z.number().int().min(1).max(65535) });

/**
 * `host:port,host:port`, or LiteLLM's JSON list of `[host, port]` pairs or `{"host", "port"}`
 * objects. A node without a port is on `defaultPort`.
 */
const nodeList = (defaultPort: number) =>
  z.string().transform((value, context) => {
    const trimmed = value.trim();
    let items: unknown[];
    if (trimmed.startsWith("[")) {
      try {
        items = z.array(z.unknown()).parse(JSON.parse(trimmed));
      } catch {
        context.addIssue({ code: "custom", message: "must be host:port,host:port or a JSON list of [host, port] pairs or {host, port} objects" });
        return z.NEVER;
      }
    } else {
      items = trimmed.split(",").map((item) => item.trim()).filter((item) => item !== "");
    }
    const nodes = items.map((item) => {
      if (Array.isArray(item)) return { host: item[0], port: Number(item[1]) };
      if (item !== null && typeof item === "object" && "host" in item) {
        const node = item as { host: unknown; port?: unknown };
        return { host: node.host, port: node.port === undefined ? defaultPort : Number(node.port) };
      }
      const [host, port] = String(item).split(":");
      return { host, port: port === undefined ? defaultPort : Number(port) };
    });
    const parsed = z.array(redisNode).min(1).safeParse(nodes);
    if (!parsed.success) {
      context.addIssue({ code: "custom", message: "must name at least one node as host:port (port 1–65535)" });
      return z.NEVER;
    }
    return parsed.data;
  });

export type RedisNode = z.infer<typeof redisNode>;

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
  // Redis behind Sentinel instead of REDIS_URL: the sentinels to ask, the name of the master
  // they watch (LiteLLM's service_name), and the passwords of the sentinels and of Redis.
  REDIS_SENTINEL_NODES: nodeList(26379).optional(),
  REDIS_SERVICE_NAME: z.string().min(1).default("mymaster"),
  REDIS_SENTINEL_PASSWORD: z.string().optional(),
  REDIS_USERNAME: z.string().optional(),
  REDIS_PASSWORD: z.string().optional(),
  // A Redis Cluster instead: some of its nodes (LiteLLM's REDIS_CLUSTER_NODES); the rest are found.
  REDIS_CLUSTER_NODES: nodeList(6379).optional(),
  // Keys of this deployment in a Redis shared with others (or with parallel test runs).
  REDIS_KEY_PREFIX: z.string().min(1).max(100).default("creditgate:"),
}).superRefine((env, context) => {
  const set = (["REDIS_URL", "REDIS_SENTINEL_NODES", "REDIS_CLUSTER_NODES"] as const).filter((name) => env[name] !== undefined);
  if (set.length <= 1) return;
  context.addIssue({
    code: "custom",
    path: [set[1] ?? "REDIS_URL"],
    message: `set one of REDIS_URL (one Redis), REDIS_SENTINEL_NODES (Redis behind Sentinel) and REDIS_CLUSTER_NODES (a Redis Cluster), not ${set.join(" and ")}`,
  });
});

export type GatewayEnv = z.infer<typeof gatewayEnvSchema>;

export function gatewayEnv(source: Record<string, string | undefined> = process.env): GatewayEnv {
  return parseEnv(gatewayEnvSchema, source);
}
