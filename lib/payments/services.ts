import type { Logger } from "pino";
import type { Sql } from "../db/client";
import type { AppEnv } from "../env";
import { ApiError } from "../http/errors";
import { log } from "../log";
import { createPaystackClient, type PaystackClient } from "../paystack/client";
import { appServices } from "../services";
import type { SyncContext } from "../sync/push";
import { pricingFromEnv, type Pricing } from "./pricing";
import { simulatorSecretKey } from "./simulator";

/** The variables payments read: what the worker must provide to reconcile outside the app. */
export type PaymentsEnv = Pick<
  AppEnv,
  | "PAYSTACK_SECRET_KEY"
  | "PAYSTACK_BASE_URL"
  | "PAYSTACK_SIMULATOR"
  | "APP_URL"
  | "KEY_ENCRYPTION_SECRET"
  | "PAYMENTS_CURRENCY"
  | "PAYMENTS_PRICE_PER_CREDIT"
  | "PAYMENTS_PACKS"
  | "PAYMENTS_MIN_CREDITS"
  | "PAYMENTS_MAX_CREDITS"
>;

export interface PaymentServices {
  sql: Sql;
  log: Logger;
  paystack: PaystackClient;
  /** The key webhooks are signed with: Paystack's secret key, or the simulator's. */
  secretKey: string;
  /** "test" or "live": the `domain` Paystack's answers must carry. */
  domain: "test" | "live";
  pricing: Pricing;
  appUrl: string;
  /** True when payments run against the local test simulator. */
  simulator: boolean;
  /** The gateway sync, when key management is on: a credited payment's budget is pushed at once. */
  sync?: SyncContext;
}

/**
 * Whether the local simulator stands in for Paystack: only without PAYSTACK_SECRET_KEY, and
 * never in a production build unless PAYSTACK_SIMULATOR=on says this is a throwaway test stack.
 */
export function simulatorAllowed(env: PaymentsEnv, nodeEnv = process.env.NODE_ENV): boolean {
  if (env.PAYSTACK_SECRET_KEY || env.PAYSTACK_SIMULATOR === "off") return false;
  return nodeEnv !== "production" || env.PAYSTACK_SIMULATOR === "on";
}

export function createPaymentServices(env: PaymentsEnv, sql: Sql, log: Logger): PaymentServices | null {
  const pricing = pricingFromEnv(env);
  if (env.PAYSTACK_SECRET_KEY) {
    return {
      sql,
      log,
      pricing,
      appUrl: env.APP_URL,
      simulator: false,
      secretKey: env.PAYSTACK_SECRET_KEY,
      domain: env.PAYSTACK_SECRET_KEY.startsWith("sk_live_") ? "live" : "test",
      paystack: createPaystackClient({ baseUrl: env.PAYSTACK_BASE_URL, secretKey: env.PAYSTACK_SECRET_KEY }),
    };
  }
  if (!simulatorAllowed(env)) return null;
  const secretKey = simulatorSecretKey(env.KEY_ENCRYPTION_SECRET);
  return {
    sql,
    log,
    pricing,
    appUrl: env.APP_URL,
    simulator: true,
    secretKey,
    domain: "test",
    paystack: createPaystackClient({ baseUrl: `${env.APP_URL}/api/payments/simulator`, secretKey, timeoutMs: 10_000 }),
  };
}

let cached: PaymentServices | null | undefined;

/** The app's payment services, built once; null when payments are off. */
export function appPaymentServices(): PaymentServices | null {
  if (cached !== undefined) return cached;
  const { env, sql, keys } = appServices();
  const services = createPaymentServices(env, sql, log.child({ component: "payments" }));
  cached = services && keys ? { ...services, sync: keys.sync } : services;
  return cached;
}

/** Payments, or a 503 naming what is missing. */
export function requirePaymentServices(): PaymentServices {
  const services = appPaymentServices();
  if (!services) {
    throw new ApiError("service_unavailable", "Payments are off: set PAYSTACK_SECRET_KEY (the test simulator is not served in production)");
  }
  return services;
}

/** The simulator's services, or a 404: outside the simulator its pages and API do not exist. */
export function requireSimulator(): PaymentServices {
  const services = appPaymentServices();
  if (!services?.simulator) throw new ApiError("not_found", "There is no Paystack test simulator here");
  return services;
}
