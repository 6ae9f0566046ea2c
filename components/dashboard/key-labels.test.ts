import { describe, expect, it } from "vitest";
import { creditCap, keyBadge, keyOptionLabel } from "./key-labels";

const synced = { status: "active" as const, sync_status: "synced" as const, last_synced_at: "2026-11-24T10:00:00.000Z" };

describe("keyBadge", () => {
  it("a key the gateway has never accepted is not called active", () => {
    expect(keyBadge({ ...synced, sync_status: "failed", last_synced_at: null }).label).toBe("not live yet");
    expect(keyBadge({ ...synced, sync_status: "pending", last_synced_at: null }).label).toBe("not live yet");
  });

  it("a synced key with a change waiting still works and stays active", () => {
    expect(keyBadge({ ...synced, sync_status: "failed" }).label).toBe("active");
  });

  it("revoked and exhausted keys say so", () => {
    expect(keyBadge({ ...synced, status: "revoked", sync_status: "pending", last_synced_at: null }).label).toBe("revoked");
    expect(keyBadge({ ...synced, status: "exhausted" }).label).toBe("exhausted");
  });
});

describe("keyOptionLabel", () => {
  it("two keys with the same name read differently", () => {
    const a = keyOptionLabel({ alias: "ci", key: "sk-…a1b2", status: "active" });
    const b = keyOptionLabel({ alias: "ci", key: "sk-…c3d4", status: "active" });
    expect(a).toBe("ci · sk-…a1b2");
    expect(a).not.toBe(b);
  });

  it("a revoked key says so, and an unnamed key is its hint", () => {
    expect(keyOptionLabel({ alias: null, key: "sk-…a1b2", status: "revoked" })).toBe("sk-…a1b2 (revoked)");
  });
});

describe("creditCap", () => {
  it("names the credits when they run out before the key's own budget", () => {
    expect(creditCap({ status: "active", remaining: 1_000 }, 500)).toBe(500);
    expect(creditCap({ status: "active", remaining: null }, 500)).toBe(500);
    expect(creditCap({ status: "active", remaining: 1_000 }, 0)).toBe(0);
  });

  it("says nothing when the key's own budget is the nearer limit, or the key is revoked", () => {
    expect(creditCap({ status: "active", remaining: 400 }, 500)).toBeNull();
    expect(creditCap({ status: "active", remaining: 500 }, 500)).toBeNull();
    expect(creditCap({ status: "exhausted", remaining: 0 }, 500)).toBeNull();
    expect(creditCap({ status: "revoked", remaining: 1_000 }, 500)).toBeNull();
  });
});
