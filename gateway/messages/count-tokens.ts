import type { IncomingMessage, ServerResponse } from "node:http";
import { authenticate } from "../auth";
import { Cancellation } from "../caller";
import type { Gateway } from "../context";
import { sendError } from "../errors";
import { parseJsonObject, readBody, sendJson, validate } from "../http";
import { chooseDeployment, toGatewayError } from "../llm";
import { AnthropicProvider } from "../providers/anthropic";
import { estimateMessagesTokens, estimateTextTokens } from "../tokens";
import { anthropicBeta, anthropicErrorBody } from "./index";
import { messagesRequestSchema, toOpenAiChat } from "./request";

/**
 * `POST /v1/messages/count_tokens`, Anthropic's token count, which Claude Code asks before it
 * sends a long conversation. The key and its access to the model are checked as for
 * /v1/messages; counting costs nothing, so no budget or rate limit is drawn on and nothing is
 * billed (as in LiteLLM). An anthropic deployment counts with Anthropic's own endpoint; any other
 * model gets the gateway's estimate, the one its budget reservations use.
 */

// The same body as /v1/messages, where max_tokens is not asked for.
const countRequestSchema = messagesRequestSchema.omit({ max_tokens: true });

export async function handleCountTokens(gateway: Gateway, req: IncomingMessage, res: ServerResponse, routePath: string): Promise<void> {
  try {
    const caller = await authenticate(gateway, req.headers);
    const request = validate(countRequestSchema, parseJsonObject(await readBody(req, gateway.settings.maxRequestBytes)));
    const deployment = chooseDeployment(gateway, caller, request.model, routePath);
    const provider = gateway.router.providerOf(deployment);
    let inputTokens: number;
    if (provider instanceof AnthropicProvider) {
      const { mock_response: _mock, ...body } = request;
      inputTokens = await provider.countTokens({
        deployment,
        route: "chat",
        body,
        stream: false,
        cancel: Cancellation.after(deployment.timeoutMs),
        beta: anthropicBeta(req.headers),
      });
    } else {
      const chat = toOpenAiChat({ ...request, max_tokens: 1 });
      const tools = chat.tools === undefined ? 0 : estimateTextTokens(JSON.stringify(chat.tools));
      inputTokens = estimateMessagesTokens(chat.messages as unknown[]) + tools;
    }
    sendJson(res, 200, { input_tokens: inputTokens });
  } catch (err) {
    sendError(res, toGatewayError(gateway, err), anthropicErrorBody);
  }
}
