import { randomBytes } from "node:crypto";
import { z } from "zod";
import type { Admitter, LocalAdmitter } from "../admission";
import type { Directory } from "../directory";
import { windowMs, type RateLimiter } from "../limits";
import type { Logger } from "../log";
import type { Router } from "../router";
import { RedisAdmitter } from "./admitter";
import { RedisConnection, redactRedisUrl } from "./connection";

const changeMessage = z.object({
  from: z.string(),
  kind: z.enum(["key", "user", "team", "member"]),
  id: z.string(),
});

const cooldownMessage = z.object({
  from: z.string(),
  id: z.string(),
  ms: z.number(),
});

export interface SharingOptions {
  redisUrl: string | undefined;
  prefix: string;
  directory: Directory;
  local: LocalAdmitter;
  limiter: RateLimiter;
  /** Its cooldowns are told to the other instances, and theirs to it. */
  router: Router;
  log: Logger;
}

/**
 * Chooses where limits and budgets are counted: in this process without REDIS_URL, in Redis
 * (shared by every instance) with it. With Redis, admin writes are also broadcast, so another
 * instance drops its cached key, user or team and reads the new row on its next request; so is
 * a deployment leaving the router's rotation, so the others stop sending to it too.
 */
export function startSharing(options: SharingOptions): Admitter {
  const { redisUrl, directory, local, log } = options;
  if (!redisUrl) {
    log.info("REDIS_URL is not set: rate limits and budgets are counted per gateway instance");
    return local;
  }
  const instanceId = randomBytes(6).toString("hex");
  const connection = new RedisConnection(redisUrl, log);
  const admitter = new RedisAdmitter({ ...options, connection, instanceId, windowMs });
  const channel = `${options.prefix}invalidate`;
  const cooldownChannel = `${options.prefix}cooldown`;
  let missedChanges = false;

  directory.listen({
    changed(change) {
      if (!connection.up) return;
      connection.client.publish(channel, JSON.stringify({ from: instanceId, ...change })).catch(() => undefined);
    },
    spendSet(account) {
      admitter.setSpend(account);
    },
  });
  options.router.onCooldown((id, ms) => {
    if (!connection.up) return;
    connection.client.publish(cooldownChannel, JSON.stringify({ from: instanceId, id, ms })).catch(() => undefined);
  });
  connection.subscriber.on("message", (from: string, text: string) => {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return;
    }
    if (from === channel) {
      const message = changeMessage.safeParse(json);
      if (message.success && message.data.from !== instanceId) directory.evict(message.data);
    } else if (from === cooldownChannel) {
      const message = cooldownMessage.safeParse(json);
      if (message.success && message.data.from !== instanceId) options.router.coolDown(message.data.id, message.data.ms);
    }
  });
  // Changes published while this instance was disconnected never arrive: forget everything.
  connection.subscriber.on("close", () => {
    missedChanges = true;
  });
  connection.subscriber.on("ready", () => {
    if (missedChanges) directory.evictAll();
    missedChanges = false;
  });
  connection.subscriber.subscribe(channel, cooldownChannel).catch(() => undefined);
  log.info({ redis: redactRedisUrl(redisUrl), prefix: options.prefix }, "rate limits and budgets are shared through Redis");

  return {
    get sharing() {
      return admitter.sharing;
    },
    admit: (request) => admitter.admit(request),
    settle: (admission, settlement) => admitter.settle(admission, settlement),
    async close() {
      await admitter.close();
      await connection.close();
    },
  };
}
