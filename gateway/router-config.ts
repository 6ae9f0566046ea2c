import { z } from "zod";
import type { Deployment } from "./config";

/**
 * The router's part of LiteLLM's config: retries, fallbacks and cooldowns, read from
 * `router_settings` and (as LiteLLM also accepts) `litellm_settings`, router_settings winning.
 */

// LiteLLM writes fallbacks as a list of one-entry maps: [{"gpt-4o": ["claude-3"]}]; a single
// name instead of a list is accepted too.
const fallbackList = z.array(
  z.record(z.string(), z.union([z.string().min(1), z.array(z.string().min(1))])),
);

/**
 * LiteLLM's RetryPolicy: retries by the kind of failure, replacing num_retries for it. A kind
 * with a count is retried that often even when it is not retried otherwise (a 400, a 401).
 * Unknown fields are refused, so a misspelt one does not silently leave the default in place.
 */
const retryCount = z.coerce.number().int().min(0).optional();
export const retryPolicySchema = z.strictObject({
  BadRequestErrorRetries: retryCount,
  AuthenticationErrorRetries: retryCount,
  TimeoutErrorRetries: retryCount,
  RateLimitErrorRetries: retryCount,
  ContentPolicyViolationErrorRetries: retryCount,
  InternalServerErrorRetries: retryCount,
});
export type RetryPolicy = z.infer<typeof retryPolicySchema>;

/** The fields litellm_settings may carry for the router. */
export const litellmRouterFields = {
  num_retries: z.coerce.number().int().min(0).optional(),
  fallbacks: fallbackList.optional(),
  context_window_fallbacks: fallbackList.optional(),
  content_policy_fallbacks: fallbackList.optional(),
  default_fallbacks: z.array(z.string().min(1)).optional(),
};

export const routerSettingsSchema = z.looseObject({
  routing_strategy: z.string().optional(),
  routing_strategy_args: z.looseObject({ lowest_latency_buffer: z.coerce.number().min(0).optional() }).optional(),
  num_retries: z.coerce.number().int().min(0).optional(),
  timeout: z.coerce.number().positive().optional(),
  stream_timeout: z.coerce.number().positive().optional(),
  retry_after: z.coerce.number().min(0).optional(),
  allowed_fails: z.coerce.number().int().min(0).optional(),
  cooldown_time: z.coerce.number().min(0).optional(),
  max_fallbacks: z.coerce.number().int().min(0).optional(),
  fallbacks: fallbackList.optional(),
  context_window_fallbacks: fallbackList.optional(),
  content_policy_fallbacks: fallbackList.optional(),
  default_fallbacks: z.array(z.string().min(1)).optional(),
  retry_policy: retryPolicySchema.optional(),
  model_group_retry_policy: z.record(z.string(), retryPolicySchema).optional(),
});

export type FallbackMap = ReadonlyMap<string, readonly string[]>;

/** LiteLLM's routing strategies this router implements. */
export const routingStrategies = [
  "simple-shuffle",
  "least-busy",
  "latency-based-routing",
  "usage-based-routing-v2",
  "usage-based-routing",
  "cost-based-routing",
] as const;
export type RoutingStrategy = (typeof routingStrategies)[number];

export interface RouterSettings {
  /** How a group's deployment is chosen for each request. */
  strategy: RoutingStrategy;
  /** latency-based-routing: deployments within this share of the lowest latency are shuffled among. */
  lowestLatencyBuffer: number;
  /** Retries within a model group after the first attempt (LiteLLM's default for the proxy is 0 here; see README). */
  numRetries: number;
  /** The shortest wait before retrying the same deployment, in ms. */
  retryAfterMs: number;
  /** Failures a deployment may have in a minute before it cools down. */
  allowedFails: number;
  cooldownMs: number;
  maxFallbacks: number;
  /** Model group → groups to try, in order, when it fails; `*` applies to every group without its own entry. */
  fallbacks: FallbackMap;
  contextWindowFallbacks: FallbackMap;
  contentPolicyFallbacks: FallbackMap;
  /** router_settings.retry_policy: retries by kind of failure, for every group without its own. */
  retryPolicy: RetryPolicy | undefined;
  /** router_settings.model_group_retry_policy: a group's own, replacing retry_policy for it. */
  groupRetryPolicies: ReadonlyMap<string, RetryPolicy>;
}

type RouterSection = z.infer<typeof routerSettingsSchema>;
type LitellmSection = {
  [K in keyof typeof litellmRouterFields]?: z.infer<(typeof litellmRouterFields)[K]>;
};

function toMap(
  list: z.infer<typeof fallbackList> | undefined,
  names: ReadonlySet<string>,
  setting: string,
  fail: (message: string) => Error,
): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const entry of list ?? []) {
    for (const [group, targets] of Object.entries(entry)) {
      if (group !== "*" && !names.has(group)) {
        throw fail(`${setting}: "${group}" is not a model_name of model_list`);
      }
      const list = typeof targets === "string" ? [targets] : targets;
      for (const target of list) {
        if (!names.has(target))
          throw fail(
            `${setting}: fallback "${target}" of "${group}" is not a model_name of model_list`,
          );
      }
      map.set(group, [...(map.get(group) ?? []), ...list.filter((target) => target !== group)]);
    }
  }
  return map;
}

export function resolveRouterSettings(
  router: RouterSection,
  litellm: LitellmSection,
  deployments: readonly Deployment[],
  fail: (message: string) => Error,
): RouterSettings {
  const names = new Set(deployments.map((deployment) => deployment.modelName));
  const fallbacks = toMap(router.fallbacks ?? litellm.fallbacks, names, "fallbacks", fail);
  // default_fallbacks: LiteLLM's fallbacks for every group that has none of its own.
  const defaults = router.default_fallbacks ?? litellm.default_fallbacks;
  if (defaults && !fallbacks.has("*")) {
    for (const target of defaults) {
      if (!names.has(target))
        throw fail(`default_fallbacks: "${target}" is not a model_name of model_list`);
    }
    fallbacks.set("*", defaults);
  }
  const strategy = router.routing_strategy ?? "simple-shuffle";
  if (!(routingStrategies as readonly string[]).includes(strategy)) {
    // Refused rather than silently shuffled: the operator chose it for a reason.
    throw fail(
      `router_settings.routing_strategy: "${strategy}" is not supported here (supported: ${routingStrategies.join(", ")})`,
    );
  }
  return {
    strategy: strategy as RoutingStrategy,
    lowestLatencyBuffer: router.routing_strategy_args?.lowest_latency_buffer ?? 0,
    numRetries: router.num_retries ?? litellm.num_retries ?? 0,
    retryAfterMs: (router.retry_after ?? 0) * 1000,
    // LiteLLM's defaults: 3 failures a minute, then 5 seconds out of the rotation.
    allowedFails: router.allowed_fails ?? 3,
    cooldownMs: (router.cooldown_time ?? 5) * 1000,
    maxFallbacks: router.max_fallbacks ?? 5,
    fallbacks,
    contextWindowFallbacks: toMap(
      router.context_window_fallbacks ?? litellm.context_window_fallbacks,
      names,
      "context_window_fallbacks",
      fail,
    ),
    contentPolicyFallbacks: toMap(
      router.content_policy_fallbacks ?? litellm.content_policy_fallbacks,
      names,
      "content_policy_fallbacks",
      fail,
    ),
    retryPolicy: router.retry_policy,
    groupRetryPolicies: new Map(
      Object.entries(router.model_group_retry_policy ?? {}).map(([group, policy]) => {
        if (!names.has(group)) throw fail(`model_group_retry_policy: "${group}" is not a model_name of model_list`);
        return [group, policy];
      }),
    ),
  };
}
