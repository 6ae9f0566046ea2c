import type { ApiKey } from "./types";

export type KeyBadge = { label: string; tone: "live" | "waiting" | "exhausted" | "revoked" };

/**
 * The word beside a key's name: whether the key works right now. A key the gateway has never
 * accepted (created while it was unreachable, or refused) does not work yet, whatever its
 * stored status says, so it is not called "active" until its first sync. A key that synced once
 * and has a change waiting still works, with its old settings; the sync line says so.
 */
export function keyBadge(key: Pick<ApiKey, "status" | "sync_status" | "last_synced_at">): KeyBadge {
  if (key.status === "revoked") return { label: "revoked", tone: "revoked" };
  if (key.sync_status !== "synced" && key.last_synced_at === null) return { label: "not live yet", tone: "waiting" };
  if (key.status === "exhausted") return { label: "exhausted", tone: "exhausted" };
  return { label: "active", tone: "live" };
}

/** A key in a list of choices. Names can repeat (two keys called "ci"), so the key's last characters come along. */
export function keyOptionLabel(key: Pick<ApiKey, "alias" | "key" | "status">): string {
  const label = key.alias ? `${key.alias} · ${key.key}` : key.key;
  return key.status === "revoked" ? `${label} (revoked)` : label;
}

/**
 * What a key can still spend when the user's credits run out before its own budget does (every
 * key also draws on the user's credit-funded budget on the gateway), in cents; null when the
 * key's own budget is the nearer limit, or the key is revoked.
 */
export function creditCap(key: Pick<ApiKey, "status" | "remaining">, creditsAvailable: number): number | null {
  if (key.status === "revoked") return null;
  if (key.remaining !== null && key.remaining <= creditsAvailable) return null;
  return Math.max(0, creditsAvailable);
}
