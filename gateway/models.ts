import type { Deployment } from "./config";
import type { KeyContext } from "./directory";

/**
 * The model names callers may ask for, the deployments behind each, and who may call which:
 * LiteLLM's rules (auth_checks.py) for key, team and user model lists, including the special
 * names `all-proxy-models`, `all-team-models`, `no-default-models`, `*`, `prefix/*` wildcards
 * and access groups (`model_info.access_groups`).
 */
export class ModelCatalog {
  private readonly byName = new Map<string, Deployment[]>();
  private readonly groups = new Map<string, Set<string>>();
  private readonly turns = new Map<string, number>();
  readonly names: string[];

  constructor(readonly deployments: readonly Deployment[]) {
    for (const deployment of deployments) {
      const list = this.byName.get(deployment.modelName) ?? [];
      list.push(deployment);
      this.byName.set(deployment.modelName, list);
      for (const group of deployment.accessGroups) {
        const members = this.groups.get(group) ?? new Set<string>();
        members.add(deployment.modelName);
        this.groups.set(group, members);
      }
    }
    this.names = [...this.byName.keys()];
  }

  has(model: string): boolean {
    return this.byName.has(model);
  }

  /** The next deployment of `model`, taking turns when several serve one name. */
  pick(model: string): Deployment | undefined {
    const list = this.byName.get(model);
    if (!list || list.length === 0) return undefined;
    if (list.length === 1) return list[0];
    const turn = this.turns.get(model) ?? 0;
    this.turns.set(model, turn + 1);
    return list[turn % list.length];
  }

  /**
   * Whether a model list lets `model` through: "yes", "no", or "defer" when the list says
   * `all-team-models` (the team's list decides).
   */
  listAllows(list: readonly string[], model: string): "yes" | "no" | "defer" {
    if (list.length === 0) return "yes";
    let defer = false;
    for (const entry of list) {
      if (entry === model || entry === "*" || entry === "all-proxy-models") return "yes";
      if (entry === "all-team-models") defer = true;
      else if (this.groups.get(entry)?.has(model)) return "yes";
      else if (entry.endsWith("*") && model.startsWith(entry.slice(0, -1))) return "yes";
    }
    return defer ? "defer" : "no";
  }

  /** Which of key, team or user refuses `model` for this caller, or null if none does. */
  refusal(context: KeyContext, model: string): "key" | "team" | "user" | null {
    const byKey = this.listAllows(context.key.models, model);
    if (byKey === "no") return "key";
    if (context.team) {
      if (this.listAllows(context.team.models, model) === "no") return "team";
      return null;
    }
    if (context.user && context.user.models.length > 0) {
      // A user with no-default-models may only use models through a team, and this key has none.
      if (context.user.models.includes("no-default-models")) return "user";
      if (this.listAllows(context.user.models, model) === "no") return "user";
    }
    return null;
  }

  /** The models a caller can use, for /v1/models and /model/info. */
  visibleTo(context: KeyContext | null): string[] {
    if (!context) return this.names;
    return this.names.filter((name) => this.refusal(context, name) === null);
  }
}
