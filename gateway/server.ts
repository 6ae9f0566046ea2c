import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { authenticate, requireAdmin } from "./auth";
import { keyRoutes } from "./admin/keys";
import { modelRoutes } from "./admin/models";
import { spendRoutes } from "./admin/spend";
import { teamRoutes } from "./admin/teams";
import { userRoutes } from "./admin/users";
import type { Gateway } from "./context";
import { GatewayError, internalError, sendError } from "./errors";
import { parseJsonObject, pathOf, queryOf, readBody, sendJson } from "./http";
import { handleLlmRequest, pathModelDialect } from "./llm";
import { requestLineLogger } from "./log";
import { MessagesDialect } from "./messages";
import { handleCountTokens } from "./messages/count-tokens";
import type { LlmRoute } from "./providers/types";
import { beginRequest } from "./request-log";
import { writeHead } from "./response-head";
import { ResponsesDialect } from "./responses";
import { ok, type Route, type RouteCall } from "./routes";

export const gatewayVersion = "creditgate-gateway/0.1.0";

function llmRoute(route: LlmRoute): Route {
  return {
    method: "POST",
    access: "none", // handleLlmRequest authenticates, so its failures are counted in the metrics.
    public: true,
    handle: async (call) => {
      await handleLlmRequest(call.gateway, call.req, call.res, route, call.path);
      return "written";
    },
  };
}

// Anthropic's format (Claude Code and the Anthropic SDKs), through the same checks.
const messagesRoute: Route = {
  method: "POST",
  access: "none",
  public: true,
  handle: async (call) => {
    await handleLlmRequest(call.gateway, call.req, call.res, "chat", call.path, new MessagesDialect(call.req.headers));
    return "written";
  },
};

// OpenAI's Responses API (the openai clients' responses.create, Codex, the Agents SDK), translated to chat.
const responsesRoute: Route = {
  method: "POST",
  access: "none",
  public: true,
  handle: async (call) => {
    await handleLlmRequest(call.gateway, call.req, call.res, "chat", call.path, new ResponsesDialect());
    return "written";
  },
};

const countTokensRoute: Route = {
  method: "POST",
  access: "none",
  public: true,
  handle: async (call) => {
    await handleCountTokens(call.gateway, call.req, call.res, call.path);
    return "written";
  },
};

const liveliness: Route = {
  method: "GET",
  access: "none",
  public: true,
  handle: async () => ok("I'm alive!"),
};

const healthRoutes: Record<string, Route> = {
  "/health/liveliness": liveliness,
  "/health/liveness": liveliness,
  "/health/readiness": {
    method: "GET",
    access: "none",
    public: true,
    handle: async (call) => {
      const db = await call.gateway.health.database();
      const ready = db === "connected";
      return {
        status: ready ? 200 : 503,
        body: {
          status: ready ? "connected" : "unhealthy",
          db,
          cache: call.gateway.admitter.sharing === "off" ? null : "redis",
          // Whether rate limits and budgets are shared with other instances right now.
          shared_limits: call.gateway.admitter.sharing,
          litellm_version: gatewayVersion,
          success_callbacks: call.gateway.tracer.enabled ? ["langfuse"] : [],
          last_updated: new Date().toISOString(),
        },
      };
    },
  },
  // Open to anyone, as our users' guide documents; the checks behind it are cached. Upstream
  // addresses and error details are for the admin only: they describe the private network.
  "/health": {
    method: "GET",
    access: "none",
    public: true,
    handle: async (call) => {
      const report = await call.gateway.health.endpoints(Date.now());
      if (await isAdminCaller(call)) return ok(report);
      const hide = (endpoint: { model: string; error?: string }) => ({
        model: endpoint.model,
        ...(endpoint.error === undefined ? {} : { error: "unhealthy" }),
      });
      return ok({
        ...report,
        healthy_endpoints: report.healthy_endpoints.map(hide),
        unhealthy_endpoints: report.unhealthy_endpoints.map(hide),
      });
    },
  },
};

async function isAdminCaller(call: RouteCall): Promise<boolean> {
  if (!call.req.headers.authorization && !call.req.headers["x-litellm-api-key"]) return false;
  try {
    requireAdmin(await authenticate(call.gateway, call.req.headers), call.path);
    return true;
  } catch {
    return false;
  }
}

const metricsRoute: Route = {
  method: "GET",
  access: "none",
  public: false,
  handle: async (call) => {
    if (call.gateway.settings.requireAuthForMetrics) {
      requireAdmin(await authenticate(call.gateway, call.req.headers), "/metrics");
    }
    return { body: await call.gateway.metrics.text(), contentType: "text/plain; version=0.0.4; charset=utf-8" };
  },
};

export const routes: Record<string, Route> = {
  "/v1/chat/completions": llmRoute("chat"),
  "/chat/completions": llmRoute("chat"),
  "/v1/completions": llmRoute("completion"),
  "/completions": llmRoute("completion"),
  "/v1/embeddings": llmRoute("embedding"),
  "/embeddings": llmRoute("embedding"),
  "/v1/responses": responsesRoute,
  "/responses": responsesRoute,
  "/v1/messages": messagesRoute,
  "/anthropic/v1/messages": messagesRoute,
  "/v1/messages/count_tokens": countTokensRoute,
  "/anthropic/v1/messages/count_tokens": countTokensRoute,
  ...modelRoutes,
  ...healthRoutes,
  ...keyRoutes,
  ...userRoutes,
  ...teamRoutes,
  ...spendRoutes,
  "/metrics": metricsRoute,
};

/**
 * Azure OpenAI's paths, which the AzureOpenAI clients call (`/openai/deployments/{model}/chat/completions?api-version=…`
 * with an `api-key` header), and LiteLLM's `/engines/{model}/…` aliases. A model name may hold
 * slashes: the shortest one that leaves a known operation at the end is taken.
 */
const modelInPath = /^\/(?:openai\/deployments|engines)\/(.+?)\/(chat\/completions|completions|embeddings)$/;
const operations: Record<string, LlmRoute> = { "chat/completions": "chat", completions: "completion", embeddings: "embedding" };

function modelPathRoute(path: string): Route | undefined {
  const match = modelInPath.exec(path);
  const operation = match?.[2] === undefined ? undefined : operations[match[2]];
  if (!match?.[1] || !operation) return undefined;
  let model: string;
  try {
    model = decodeURIComponent(match[1]);
  } catch {
    throw new GatewayError(400, "invalid_request_error", `The model in the path ${path} is not valid percent-encoding`, "model");
  }
  return {
    method: "POST",
    access: "none",
    public: true,
    handle: async (call) => {
      await handleLlmRequest(call.gateway, call.req, call.res, operation, call.path, pathModelDialect(model));
      return "written";
    },
  };
}

export type ListenerKind = "public" | "admin" | "both";

async function dispatch(gateway: Gateway, kind: ListenerKind, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = req.url ?? "/";
  const path = pathOf(url);
  const route = routes[path] ?? modelPathRoute(path);
  if (!route || (kind === "public" && !route.public)) {
    throw new GatewayError(404, "not_found_error", `Route ${path} not found`);
  }
  if (req.method !== route.method) {
    throw new GatewayError(405, "invalid_request_error", `Method ${req.method ?? ""} is not allowed on ${path}; use ${route.method}`);
  }
  const caller = route.access === "none" ? null : await authenticate(gateway, req.headers);
  if (route.access === "admin" && caller) requireAdmin(caller, path);
  const call: RouteCall = {
    gateway,
    req,
    res,
    path,
    query: queryOf(url),
    caller,
    json: async () => parseJsonObject(await readBody(req, gateway.settings.maxRequestBytes)),
  };
  const result = await route.handle(call);
  if (result === "written") return;
  if (result.contentType) {
    writeHead(res, result.status ?? 200, { "content-type": result.contentType });
    res.end(result.body);
    return;
  }
  sendJson(res, result.status ?? 200, result.body);
}

export function createListener(gateway: Gateway, kind: ListenerKind): Server {
  const requestLines = requestLineLogger(gateway.log);
  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    beginRequest(requestLines, req, res);
    dispatch(gateway, kind, req, res).catch((err: unknown) => {
      if (err instanceof GatewayError) {
        sendError(res, err);
        return;
      }
      gateway.log.error({ err, path: pathOf(req.url ?? "/") }, "unexpected error");
      sendError(res, internalError());
    });
  });
  // Requests that would otherwise hang forever on a slow or silent client.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  return server;
}
