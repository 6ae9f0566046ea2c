import { z } from "zod";
import type { Deployment } from "../../config";
import { badRequest } from "../../errors";

/**
 * OpenAI embedding requests → Bedrock InvokeModel bodies, and the answers back to OpenAI's list.
 * Two families answer embeddings on Bedrock, each with its own body:
 * - Amazon Titan Text Embeddings (`amazon.titan-embed-text-v1`, `-v2:0`): one text per call,
 *   `{"inputText"}` (v2 also `dimensions` and `normalize`), answered with `embedding` and
 *   `inputTextTokenCount`;
 * - Cohere Embed v3 (`cohere.embed-english-v3`, `cohere.embed-multilingual-v3`): up to 96 texts
 *   per call with an `input_type`, answered with `embeddings`; the token count comes in the
 *   `x-amzn-bedrock-input-token-count` header.
 */

export type EmbeddingFamily = "titan-v1" | "titan-v2" | "cohere";

/** The family of a Bedrock model id (with or without a cross-region prefix), or null for a model that makes no embeddings. */
export function embeddingFamily(modelId: string): EmbeddingFamily | null {
  const id = modelId.toLowerCase();
  if (/(?:^|\.)amazon\.titan-embed-text-v1(?:$|:)/.test(id)) return "titan-v1";
  if (/(?:^|\.)amazon\.titan-embed-text-v2(?:$|:)/.test(id)) return "titan-v2";
  if (/(?:^|\.)cohere\.embed-(?:english|multilingual)-v3(?:$|:)/.test(id)) return "cohere";
  return null;
}

/** Cohere Embed's limit of texts per InvokeModel call on Bedrock. */
export const cohereTextsPerCall = 96;

// Cohere's input types; LiteLLM sends search_document when the caller names none.
const cohereInputTypes = ["search_document", "search_query", "classification", "clustering"] as const;

/** One InvokeModel call: its body and the texts it embeds, in the request's order. */
export interface EmbeddingCall {
  body: Record<string, unknown>;
  texts: string[];
}

/** The InvokeModel calls for an OpenAI embedding request; refuses (400) what the family cannot take. */
export function planEmbeddings(deployment: Deployment, family: EmbeddingFamily, body: Record<string, unknown>): EmbeddingCall[] {
  const texts = textsOf(body.input);
  const dimensions = body.dimensions;
  if (dimensions !== undefined && family !== "titan-v2") {
    throw badRequest(
      `dimensions: ${deployment.upstreamModel} makes embeddings of one size only; amazon.titan-embed-text-v2:0 takes 256, 512 or 1024`,
      "dimensions",
    );
  }
  if (family === "cohere") {
    const inputType = body.input_type ?? "search_document";
    if (typeof inputType !== "string" || !(cohereInputTypes as readonly string[]).includes(inputType)) {
      throw badRequest(`input_type: must be one of ${cohereInputTypes.join(", ")}`, "input_type");
    }
    const calls: EmbeddingCall[] = [];
    for (let start = 0; start < texts.length; start += cohereTextsPerCall) {
      const chunk = texts.slice(start, start + cohereTextsPerCall);
      calls.push({ body: { texts: chunk, input_type: inputType }, texts: chunk });
    }
    return calls;
  }
  return texts.map((inputText) => ({
    body: family === "titan-v2" ? { inputText, ...(dimensions === undefined ? {} : { dimensions }), normalize: true } : { inputText },
    texts: [inputText],
  }));
}

function textsOf(input: unknown): string[] {
  if (typeof input === "string") return [input];
  if (Array.isArray(input) && input.every((item) => typeof item === "string")) return input as string[];
  throw badRequest("input: Bedrock embedding models take text, a string or a list of strings, not token ids", "input");
}

const titanAnswer = z.looseObject({ embedding: z.array(z.number()), inputTextTokenCount: z.number().int().nonnegative().optional() });
const cohereAnswer = z.looseObject({ embeddings: z.array(z.array(z.number())) });

/** One call's vectors and the tokens it counted (null when Bedrock reported none), or null for an answer of the wrong shape. */
export function readEmbeddingAnswer(
  family: EmbeddingFamily,
  answer: unknown,
  tokenHeader: string | string[] | undefined,
): { vectors: number[][]; tokens: number | null } | null {
  const headerTokens = Number(Array.isArray(tokenHeader) ? tokenHeader[0] : tokenHeader);
  const reported = tokenHeader !== undefined && Number.isInteger(headerTokens) && headerTokens >= 0 ? headerTokens : null;
  if (family === "cohere") {
    const parsed = cohereAnswer.safeParse(answer);
    return parsed.success ? { vectors: parsed.data.embeddings, tokens: reported } : null;
  }
  const parsed = titanAnswer.safeParse(answer);
  return parsed.success ? { vectors: [parsed.data.embedding], tokens: parsed.data.inputTextTokenCount ?? reported } : null;
}
