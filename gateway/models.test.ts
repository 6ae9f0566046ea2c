import { describe, expect, it } from "vitest";
import type { Deployment } from "./config";
import type { KeyContext } from "./directory";
import { ModelCatalog } from "./models";
import type { KeyRow, TeamRow, UserRow } from "./rows";
import { SpendAccount } from "./spend";

const deployment = (modelName: string, accessGroups: string[] = []) => ({ modelName, accessGroups }) as Deployment;
const catalog = new ModelCatalog([
  deployment("cheap", ["tier-drafting"]),
  deployment("balanced", ["tier-coding"]),
  deployment("reasoning", ["tier-architect"]),
  deployment("openai/gpt-4o"),
]);

function context(keyModels: string[], teamModels: string[] | null = null, userModels: string[] | null = null): KeyContext {
  const key = { token: "t", models: keyModels, team_id: teamModels ? "team" : null, user_id: userModels ? "u" : null } as KeyRow;
  return {
    key,
    keyAccount: new SpendAccount("key", "t", 0),
    team: teamModels ? ({ team_id: "team", models: teamModels } as TeamRow) : undefined,
    teamAccount: undefined,
    user: userModels ? ({ user_id: "u", models: userModels } as UserRow) : undefined,
    userAccount: undefined,
    member: undefined,
    memberAccount: undefined,
  };
}

describe("model access follows LiteLLM's rules", () => {
  it.each<[string, string[], string, "key" | null]>([
    ["an empty list allows everything", [], "reasoning", null],
    ["all-proxy-models allows everything", ["all-proxy-models"], "reasoning", null],
    ["a listed model is allowed", ["cheap"], "cheap", null],
    ["an unlisted model is refused", ["cheap"], "balanced", "key"],
    ["an access group allows its members", ["tier-coding"], "balanced", null],
    ["an access group allows nothing else", ["tier-coding"], "cheap", "key"],
    ["a prefix wildcard matches", ["openai/*"], "openai/gpt-4o", null],
  ])("%s", (_name, keyModels, model, refusedBy) => {
    expect(catalog.refusal(context(keyModels), model)).toBe(refusedBy);
  });

  it("all-team-models defers to the team's list", () => {
    expect(catalog.refusal(context(["all-team-models"], ["cheap"]), "cheap")).toBeNull();
    expect(catalog.refusal(context(["all-team-models"], ["cheap"]), "balanced")).toBe("team");
  });

  it("a team's list restricts an unrestricted key", () => {
    expect(catalog.refusal(context([], ["tier-architect"]), "reasoning")).toBeNull();
    expect(catalog.refusal(context([], ["tier-architect"]), "cheap")).toBe("team");
  });

  it("a user's list restricts their keys without a team", () => {
    expect(catalog.refusal(context([], null, ["cheap"]), "balanced")).toBe("user");
    expect(catalog.refusal(context([], null, ["no-default-models"]), "cheap")).toBe("user");
  });

  it("/v1/models shows exactly what a key may call", () => {
    expect(catalog.visibleTo(context(["tier-architect", "cheap"]))).toEqual(["cheap", "reasoning"]);
  });
});
