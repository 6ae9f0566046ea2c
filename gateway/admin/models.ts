import type { Deployment } from "../config";
import { ok, type Route, type RouteCall } from "../routes";

/** /v1/models and /model/info — what a caller may use, never budget-checked. */

function visibleModels(call: RouteCall): Set<string> {
  const { gateway, caller } = call;
  return new Set(gateway.models.visibleTo(caller?.kind === "key" ? caller.context : null));
}

async function listModels(call: RouteCall) {
  const visible = visibleModels(call);
  return {
    object: "list",
    // LiteLLM's constants for created and owned_by.
    data: [...visible].map((id) => ({ id, object: "model", created: 1677610602, owned_by: "openai" })),
  };
}

function modelInfo(deployment: Deployment) {
  return {
    model_name: deployment.modelName,
    litellm_params: deployment.publicParams,
    model_info: {
      ...deployment.publicInfo,
      id: deployment.id,
      db_model: false,
      key: deployment.upstreamModel,
      mode: deployment.mode,
      max_tokens: deployment.maxOutputTokens,
      max_output_tokens: deployment.maxOutputTokens,
      input_cost_per_token: deployment.inputCostPerToken,
      output_cost_per_token: deployment.outputCostPerToken,
      // LiteLLM's model map has these as null for a model without prompt-cache prices.
      cache_read_input_token_cost: deployment.cacheReadCostPerToken ?? null,
      cache_creation_input_token_cost: deployment.cacheWriteCostPerToken ?? null,
      litellm_provider: deployment.provider,
      access_groups: deployment.accessGroups,
    },
  };
}

async function listModelInfo(call: RouteCall) {
  const visible = visibleModels(call);
  const wanted = call.query.get("litellm_model_id");
  const data = call.gateway.models.deployments
    .filter((deployment) => visible.has(deployment.modelName))
    .filter((deployment) => wanted === null || deployment.id === wanted)
    .map(modelInfo);
  return { data };
}

const models: Route = { method: "GET", access: "key", public: true, handle: async (call) => ok(await listModels(call)) };
const info: Route = { method: "GET", access: "key", public: true, handle: async (call) => ok(await listModelInfo(call)) };

export const modelRoutes: Record<string, Route> = {
  "/v1/models": models,
  "/models": models,
  "/model/info": info,
  "/v1/model/info": info,
};
