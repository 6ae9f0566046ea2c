import { afterAll, beforeAll, expect, it } from "vitest";
import pino from "pino";
import { insertAuthUser, describeWithDatabase, databaseUrl } from "../support/db";
import { createKey, createModelCatalog, updateKey, type KeyServices } from "../../lib/keys/manage";
import { keyToken } from "../../lib/keys/secret";
import type { LiteLLMClient } from "../../lib/litellm/client";
import { createSyncContext } from "../../lib/sync/context";
import type { SyncContext } from "../../lib/sync/push";
import { runSyncPass } from "../../lib/sync/worker";
import { masterKey, startGateway, type RunningGateway } from "../gateway/support/gateway";
import { mockGatewayConfig } from "../support/gateway-config";

const kek = "k".repeat(64);

describeWithDatabase("sync under concurrency", (db) => {
  let gateway: RunningGateway;
  const contexts: SyncContext[] = [];

  beforeAll(async () => {
    gateway = await startGateway({ config: mockGatewayConfig, databaseUrl });
  });
  afterAll(async () => {
    await Promise.all(contexts.map((ctx) => ctx.client.close()));
    await gateway?.stop();
  });

  /** A sync context on the real gateway whose key pushes can be observed and held back. */
  function observedContext(hold?: Promise<void>) {
    const ctx = createSyncContext({ sql: db(), log: pino({ level: "silent" }), litellmBaseUrl: gateway.adminUrl, litellmMasterKey: masterKey, keyEncryptionSecret: kek });
    contexts.push(ctx);
    const pushes: string[] = [];
    const real = ctx.client;
    const client: LiteLLMClient = {
      ...real,
      async generateKey(input) {
        pushes.push(keyToken(input.secret));
        await hold;
        return real.generateKey(input);
      },
      async updateKey(token, limits) {
        pushes.push(token);
        await hold;
        return real.updateKey(token, limits);
      },
    };
    const observed: SyncContext = { ...ctx, client };
    const services: KeyServices = { sql: db(), sync: observed, models: createModelCatalog(real), keyEncryptionSecret: kek };
    return { ctx: observed, services, pushes };
  }

  /** Keys created while the gateway "is down" for the request path, so they wait for a worker. */
  async function pendingKeys(count: number): Promise<{ id: string; token: string }[]> {
    const offline = createSyncContext({ sql: db(), log: pino({ level: "silent" }), litellmBaseUrl: "http://127.0.0.1:9", litellmMasterKey: masterKey, keyEncryptionSecret: kek, requestTimeoutMs: 200 });
    contexts.push(offline);
    const services: KeyServices = { sql: db(), sync: offline, models: createModelCatalog(offline.client), keyEncryptionSecret: kek };
    const userId = await insertAuthUser(db());
    const keys = [];
    for (let i = 0; i < count; i++) {
      const created = await createKey(services, userId, { alias: `k${i}` });
      keys.push({ id: created.key.id, token: keyToken(created.secret ?? "") });
    }
    await db()`update public.virtual_keys set next_sync_at = now(), sync_claimed_until = null where user_id = ${userId}`;
    await db()`update public.gateway_users set next_sync_at = now() where user_id = ${userId}`;
    return keys;
  }

  it("two workers at once never push the same row twice", async () => {
    const keys = await pendingKeys(30);
    const a = observedContext();
    const b = observedContext();
    await Promise.all([runSyncPass(a.ctx, 50, 4), runSyncPass(b.ctx, 50, 4), runSyncPass(a.ctx, 50, 4), runSyncPass(b.ctx, 50, 4)]);
    const ours = new Set(keys.map((key) => key.token));
    const pushed = [...a.pushes, ...b.pushes].filter((token) => ours.has(token));
    expect(pushed.length).toBe(keys.length);
    expect(new Set(pushed).size).toBe(keys.length);
    const rows = await db()`select sync_status from public.virtual_keys where id in ${db()(keys.map((key) => key.id))}`;
    expect(rows.every((row) => row.sync_status === "synced")).toBe(true);
  });

  it("an edit made while a push is in flight is pushed after it, so the gateway ends with the newest values", async () => {
    const [key] = await pendingKeys(1);
    if (!key) throw new Error("no key");
    const [row] = await db()<{ user_id: string }[]>`select user_id from public.virtual_keys where id = ${key.id}`;
    const userId = row?.user_id ?? "";
    let release: () => void = () => {};
    const held = observedContext(new Promise<void>((resolve) => (release = resolve)));

    const pass = runSyncPass(held.ctx, 10, 1);
    // The worker has leased the row and is waiting on the gateway with the old values.
    await expect.poll(() => held.pushes.includes(key.token)).toBe(true);
    const edit = await updateKey(held.services, userId, { id: key.id, rpm_limit: 42, alias: "newest" });
    expect(edit.key.sync_status).toBe("pending");
    release();
    await pass;

    const [afterFirst] = await db()`select sync_status, desired_version, synced_version from public.virtual_keys where id = ${key.id}`;
    expect(afterFirst?.sync_status).toBe("pending");
    expect(afterFirst?.synced_version).toBeLessThan(afterFirst?.desired_version);

    const fresh = observedContext();
    await runSyncPass(fresh.ctx, 10, 1);
    const info = await fresh.ctx.client.keyInfo(key.token);
    expect(info).toMatchObject({ alias: `newest-${key.id.slice(0, 8)}`, rpmLimit: 42 });
    const [final] = await db()`select sync_status from public.virtual_keys where id = ${key.id}`;
    expect(final?.sync_status).toBe("synced");
  });
});
