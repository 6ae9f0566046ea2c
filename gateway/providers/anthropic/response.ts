import { finishReasonOf, openAiUsage, type AnthropicMessage } from "./wire";

/** Anthropic's message as OpenAI's chat.completion: text joined, tool_use blocks as tool_calls. */
export function toOpenAiCompletion(message: AnthropicMessage, created = Math.floor(Date.now() / 1000)): Record<string, unknown> {
  let text = "";
  let reasoning = "";
  const toolCalls: Record<string, unknown>[] = [];
  for (const block of message.content) {
    if (block.type === "text" && block.text !== undefined) text += block.text;
    else if (block.type === "thinking" && block.thinking !== undefined) reasoning += block.thinking;
    else if (block.type === "tool_use") {
      toolCalls.push({
        id: block.id,
        type: "function",
        function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) },
      });
    }
  }
  const reply: Record<string, unknown> = {
    role: "assistant",
    content: text === "" && toolCalls.length > 0 ? null : text,
  };
  if (toolCalls.length > 0) reply.tool_calls = toolCalls;
  if (reasoning !== "") reply.reasoning_content = reasoning;
  return {
    id: message.id,
    object: "chat.completion",
    created,
    model: message.model,
    system_fingerprint: null,
    choices: [{ index: 0, finish_reason: finishReasonOf(message.stop_reason), message: reply }],
    usage: openAiUsage(message.usage),
  };
}
