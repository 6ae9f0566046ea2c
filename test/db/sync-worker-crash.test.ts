import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import pino from "pino";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createKey, createModelCatalog, type KeyServices } from "../../lib/keys/manage";
import { keyToken } from "../../lib/keys/secret";
import { createSyncContext } from "../../lib/sync/context";
import { gatewayAlias } from "../../lib/sync/push";
import { databaseUrl, describeWithDatabase, insertAuthUser } from "../support/db";
import { masterKey, startGateway, waitFor, type RunningGateway } from "../gateway/support/gateway";
import { mockGatewayConfig } from "../support/gateway-config";
import { spawnWorker } from "../support/worker";

const kek = "k".repeat(64);

describeWithDatabase("sync worker killed mid-batch", (db) => {
  let gateway: RunningGateway;
  const workers: ChildProcess[] = [];

  beforeAll(async () => {
    gateway = await startGateway({ config: mockGatewayConfig, databaseUrl });
  });
  afterAll(async () => {
    for (const worker of workers) if (worker.exitCode === null) worker.kill("SIGKILL");
    await gateway?.stop();
  });

  function startWorker(): ChildProcess {
    const child = spawnWorker({
      databaseUrl,
      gateway,
      keyEncryptionSecret: kek,
      env: { SYNC_LEASE_SECONDS: "2", SYNC_IDLE_MS: "50", LOG_LEVEL: "silent" },
      stdio: "ignore",
    });
    workers.push(child);
    return child;
  }

  const syncedCount = async (userId: string) =>
    Number((await db()`select count(*)::int as n from public.virtual_keys where user_id = ${userId} and sync_status = 'synced'`)[0]?.n);

  it("loses no row and applies none twice: the gateway ends with exactly the desired keys", async () => {
    const offline = createSyncContext({ sql: db(), log: pino({ level: "silent" }), litellmBaseUrl: "http://127.0.0.1:9", litellmMasterKey: masterKey, keyEncryptionSecret: kek, requestTimeoutMs: 200 });
    const services: KeyServices = { sql: db(), sync: offline, models: createModelCatalog(offline.client), keyEncryptionSecret: kek };
    const userId = await insertAuthUser(db());
    const total = 120;
    const keys: { id: string; token: string; rpm: number }[] = [];
    for (let i = 0; i < total; i++) {
      const created = await createKey(services, userId, { alias: `crash-${i}`, rpm_limit: 100 + i });
      keys.push({ id: created.key.id, token: keyToken(created.secret ?? ""), rpm: 100 + i });
    }
    await offline.client.close();
    await db()`update public.virtual_keys set next_sync_at = now() where user_id = ${userId}`;
    await db()`update public.gateway_users set next_sync_at = now() where user_id = ${userId}`;

    const first = startWorker();
    await waitFor(async () => ((await syncedCount(userId)) >= 10 ? true : undefined), 30_000, "the first worker to sync some keys");
    first.kill("SIGKILL");
    await once(first, "exit");
    const afterKill = await syncedCount(userId);
    expect(afterKill).toBeLessThan(total);

    const second = startWorker();
    await waitFor(async () => ((await syncedCount(userId)) === total ? true : undefined), 60_000, "every key to sync after the restart");
    second.kill("SIGTERM");
    await once(second, "exit");

    const rows = await db()`select count(*)::int as n from public.virtual_keys where user_id = ${userId} and secret_ciphertext is not null`;
    expect(rows[0]?.n).toBe(0);
    const list = await fetch(`${gateway.adminUrl}/key/list?user_id=${userId}&size=100&page=1`, { headers: { authorization: `Bearer ${masterKey}` } });
    const page2 = await fetch(`${gateway.adminUrl}/key/list?user_id=${userId}&size=100&page=2`, { headers: { authorization: `Bearer ${masterKey}` } });
    const onGateway = [...(await list.json()).keys, ...(await page2.json()).keys] as string[];
    expect(onGateway.length).toBe(total);
    expect(new Set(onGateway)).toEqual(new Set(keys.map((key) => key.token)));
    for (const key of keys) {
      const info = await (await fetch(`${gateway.adminUrl}/key/info?key=${key.token}`, { headers: { authorization: `Bearer ${masterKey}` } })).json();
      expect(info.info).toMatchObject({ rpm_limit: key.rpm, key_alias: gatewayAlias(`crash-${keys.indexOf(key)}`, key.id) });
    }
  });
});
