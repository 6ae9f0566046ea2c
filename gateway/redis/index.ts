import { randomBytes } from "node:crypto";
import { z } from "zod";
import type { Admitter, LocalAdmitter } from "../admission";
import type { Directory } from "../directory";
import { windowMs, type RateLimiter } from "../limits";
import type { Logger } from "../log";
import { RedisAdmitter } from "./admitter";
import { RedisConnection, redactRedisUrl } from "./connection";

const changeMessage = z.object({
  from: z.string(),
  kind: z.enum(["key", "user", "team", "member"]),
  id: z.string(),
});

export interface SharingOptions {
  redisUrl: string | undefined;
  prefix: string;
  directory: Directory;
  local: LocalAdmitter;
  limiter: RateLimiter;
  log: Logger;
}

/**
 * Chooses where limits and budgets are counted: in this process without REDIS_URL, in Redis
 * (shared by every instance) with it. With Redis, admin writes are also broadcast, so another
 * instance drops its cached key, user or team and reads the new row on its next request.
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
  connection.subscriber.on("message", (_channel: string, text: string) => {
    let message;
    try {
      message = changeMessage.parse(JSON.parse(text));
    } catch {
      return;
    }
    if (message.from !== instanceId) directory.evict(message);
  });
  // Changes published while this instance was disconnected never arrive: forget everything.
  connection.subscriber.on("close", () => {
    missedChanges = true;
  });
  connection.subscriber.on("ready", () => {
    if (missedChanges) directory.evictAll();
    missedChanges = false;
  });
  connection.subscriber.subscribe(channel).catch(() => undefined);
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
