import type { Server } from "node:http";
import { setTimeout as delay } from "node:timers/promises";
import { createDb } from "../lib/db/client";
import { exitOnEnvError } from "../lib/env";
import { hashKey } from "./auth";
import { budgetResetAt, setBudgetTimeZone } from "./budget";
import { ConfigError, loadConfigFile, resolveSettings } from "./config";
import type { Gateway } from "./context";
import { Directory } from "./directory";
import { gatewayEnv } from "./env";
import { SpendFlusher } from "./flusher";
import { HealthMonitor } from "./health";
import { Router } from "./router";
import { RateLimiter } from "./limits";
import { LocalAdmitter } from "./admission";
import { redisTargetOf, startSharing } from "./redis";
import { createLogger, type Logger } from "./log";
import { GatewayMetrics } from "./metrics";
import { ModelCatalog } from "./models";
import { closeProviders, createProviders } from "./providers";
import { createListener, type ListenerKind } from "./server";
import { loadProxyBudget, migrateGateway } from "./store";
import { createTracer, type Tracer } from "./tracing";

/**
 * `npm run gateway`: the LiteLLM-compatible gateway. Reads its env and LiteLLM-format config,
 * migrates its schema, then serves the public listener (GATEWAY_HOST:GATEWAY_PORT) and the admin
 * listener (GATEWAY_ADMIN_HOST:GATEWAY_ADMIN_PORT), or both on one port when the ports are equal.
 * Ready when GET /health/liveliness answers 200. SIGINT/SIGTERM: stop accepting, let requests in
 * flight finish, flush spend to Postgres, exit.
 */

const shutdownGraceMs = 10_000;
// How long the spend still in memory may take to reach Postgres at shutdown.
const shutdownFlushMs = 10_000;

const startupDatabaseWaitMs = 30_000;

/** Whether `work` settles before `deadline` (epoch ms); it is not cancelled if not. */
async function settlesBy(work: Promise<unknown>, deadline: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([work.then(() => true, () => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `npm run dev` starts Postgres and the gateway together, so the database may take a moment to
 * accept connections; connection failures are retried for a while, anything else fails at once.
 */
async function withStartupRetries<T>(run: () => Promise<T>, log: Logger): Promise<T> {
  const deadline = Date.now() + startupDatabaseWaitMs;
  for (;;) {
    try {
      return await run();
    } catch (err) {
      const code = err !== null && typeof err === "object" && "code" in err ? String(err.code) : "";
      const transient = ["ECONNREFUSED", "ECONNRESET", "CONNECT_TIMEOUT", "57P03"].includes(code);
      if (!transient || Date.now() > deadline) throw err;
      log.warn({ code }, "database not reachable yet; retrying");
      await delay(500);
    }
  }
}

async function main(): Promise<void> {
  let env;
  try {
    env = gatewayEnv();
  } catch (err) {
    exitOnEnvError(err);
  }
  const log = createLogger(env.LOG_LEVEL);

  let settings;
  let tracer: Tracer;
  try {
    const config = await loadConfigFile(env.GATEWAY_CONFIG, process.env);
    settings = resolveSettings(config, env.LITELLM_MASTER_KEY);
    tracer = await createTracer(process.env, config.litellm_settings, log);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`gateway: ${err.message}`);
      process.exit(1);
    }
    exitOnEnvError(err);
  }

  setBudgetTimeZone(settings.timeZone);
  const sql = createDb(env.DATABASE_URL, { max: 4 });
  const applied = await withStartupRetries(() => migrateGateway(sql), log);
  if (applied.length > 0) log.info({ applied }, "gateway migrations applied");
  // What seed 004 does by hand: the admin user the master key acts as.
  await sql`
    insert into gateway.users (user_id, user_alias, user_role)
    values ('default_user_id', 'Admin', 'proxy_admin')
    on conflict (user_id) do nothing`;

  const directory = new Directory(sql, log);
  const proxyBudget = await loadProxyBudget(sql, settings.budgetDuration, (duration) => budgetResetAt(duration, new Date()));
  const proxyAccount = directory.account("proxy", "global", {
    spend: proxyBudget.spend,
    max_budget: settings.maxBudget ?? null,
    budget_duration: settings.budgetDuration,
    budget_reset_at: proxyBudget.budget_reset_at,
  });
  const providers = createProviders();
  const flusher = new SpendFlusher(sql, directory, log, !settings.disableSpendLogs);
  const limiter = new RateLimiter();
  const router = new Router(settings.deployments, settings.router, providers, { log });
  const admitter = await startSharing({
    redis: redisTargetOf(env),
    prefix: env.REDIS_KEY_PREFIX,
    directory,
    local: new LocalAdmitter(directory, limiter),
    limiter,
    router,
    log,
  });
  const gateway: Gateway = {
    settings,
    sql,
    log,
    directory,
    limiter,
    admitter,
    providers,
    metrics: new GatewayMetrics(),
    flusher,
    models: new ModelCatalog(settings.deployments),
    router,
    health: new HealthMonitor(sql, router, settings.deployments, settings.healthCheckIntervalSeconds * 1000),
    masterKeyHash: hashKey(settings.masterKey),
    proxyAccount,
    tracer,
  };
  flusher.start(settings.batchWriteSeconds * 1000);
  if (settings.backgroundHealthChecks) gateway.health.startBackground();
  const sweep = setInterval(() => gateway.limiter.sweep(Date.now()), 60_000);
  sweep.unref();

  const listeners: { server: Server; kind: ListenerKind; host: string; port: number }[] =
    env.GATEWAY_PORT === env.GATEWAY_ADMIN_PORT
      ? [{ server: createListener(gateway, "both"), kind: "both", host: env.GATEWAY_HOST, port: env.GATEWAY_PORT }]
      : [
          { server: createListener(gateway, "public"), kind: "public", host: env.GATEWAY_HOST, port: env.GATEWAY_PORT },
          {
            server: createListener(gateway, "admin"),
            kind: "admin",
            host: env.GATEWAY_ADMIN_HOST,
            port: env.GATEWAY_ADMIN_PORT,
          },
        ];
  for (const listener of listeners) {
    await new Promise<void>((resolve, reject) => {
      listener.server.once("error", reject);
      listener.server.listen(listener.port, listener.host, () => resolve());
    });
  }
  log.info(
    {
      listeners: listeners.map((listener) => `${listener.kind} http://${listener.host}:${listener.port}`),
      models: gateway.models.names,
    },
    "gateway ready",
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "gateway stopping: no new requests, flushing spend");
    const closed = Promise.all(
      listeners.map((listener) => new Promise<void>((resolve) => listener.server.close(() => resolve()))),
    );
    for (const listener of listeners) listener.server.closeIdleConnections();
    const grace = new Promise<void>((resolve) => setTimeout(resolve, shutdownGraceMs).unref());
    await Promise.race([closed, grace]);
    for (const listener of listeners) listener.server.closeAllConnections();
    flusher.stop();
    gateway.health.stop();
    clearInterval(sweep);
    // A database that is briefly away at shutdown gets a few more chances, and one that stops
    // answering cannot hold the process past `shutdownFlushMs`; what still cannot be written is
    // reported, never silently dropped.
    const flushDeadline = Date.now() + shutdownFlushMs;
    let answered = true;
    for (let attempt = 0; attempt < 5; attempt += 1) {
      answered = await settlesBy(flusher.flush(), flushDeadline);
      if (!answered || flusher.pending() === 0 || Date.now() + 1000 > flushDeadline) break;
      await delay(1000);
    }
    if (flusher.pending() > 0) {
      log.error(
        { unwritten: flusher.pending(), database: answered ? "unreachable" : "not answering" },
        "spend not written to Postgres at shutdown",
      );
    }
    await admitter.close();
    await tracer.shutdown();
    await closeProviders(providers);
    // postgres.js's forced end of a connection with a query in flight throws from a timer, so a
    // database that stopped answering is left to the process's exit.
    if (answered) await sql.end({ timeout: 5 });
    log.info("gateway stopped");
    process.exit(0);
  };
  process.once("SIGINT", () => void stop("SIGINT"));
  process.once("SIGTERM", () => void stop("SIGTERM"));
}

main().catch((err: unknown) => {
  console.error("gateway failed to start:", err instanceof Error ? err.message : err);
  process.exit(1);
});
