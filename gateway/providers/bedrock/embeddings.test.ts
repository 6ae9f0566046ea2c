import { describe, expect, it } from "vitest";
import type { Deployment } from "../../config";
import { embeddingFamily, planEmbeddings, readEmbeddingAnswer } from "./embeddings";

const deployment = { upstreamModel: "amazon.titan-embed-text-v2:0" } as Deployment;

describe("Bedrock embedding models", () => {
  it("are recognised by family through cross-region prefixes and inference-profile ARNs; other models make none", () => {
    expect(embeddingFamily("amazon.titan-embed-text-v1")).toBe("titan-v1");
    expect(embeddingFamily("amazon.titan-embed-text-v2:0")).toBe("titan-v2");
    expect(embeddingFamily("us.amazon.titan-embed-text-v2:0")).toBe("titan-v2");
    expect(embeddingFamily("arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.titan-embed-text-v2:0")).toBe("titan-v2");
    expect(embeddingFamily("cohere.embed-multilingual-v3")).toBe("cohere");
    expect(embeddingFamily("anthropic.claude-3-haiku-20240307-v1:0")).toBeNull();
    expect(embeddingFamily("amazon.titan-embed-image-v1")).toBeNull();
    expect(embeddingFamily("amazon.titan-embed-text-v20")).toBeNull();
  });

  it("Titan V2 sends dimensions only when the caller chose them, and always normalises", () => {
    expect(planEmbeddings(deployment, "titan-v2", { input: "a" })).toEqual([{ body: { inputText: "a", normalize: true }, texts: ["a"] }]);
    expect(planEmbeddings(deployment, "titan-v2", { input: ["a", "b"], dimensions: 512 }).map((call) => call.body)).toEqual([
      { inputText: "a", dimensions: 512, normalize: true },
      { inputText: "b", dimensions: 512, normalize: true },
    ]);
  });

  it("an answer of the wrong shape is refused rather than billed as empty", () => {
    expect(readEmbeddingAnswer("titan-v2", { embedding: [0.5], inputTextTokenCount: 3 }, undefined)).toEqual({ vectors: [[0.5]], tokens: 3 });
    expect(readEmbeddingAnswer("cohere", { embeddings: [[0.5], [0.25]] }, "7")).toEqual({ vectors: [[0.5], [0.25]], tokens: 7 });
    expect(readEmbeddingAnswer("cohere", { embeddings: [[0.5]] }, "not a number")).toEqual({ vectors: [[0.5]], tokens: null });
    expect(readEmbeddingAnswer("titan-v1", { embeddings: [[0.5]] }, undefined)).toBeNull();
    expect(readEmbeddingAnswer("cohere", { message: "no" }, undefined)).toBeNull();
  });
});
