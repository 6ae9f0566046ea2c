import type { UsageReport as ServerUsageReport } from "@/lib/analytics/usage";
import type { HealthReport as ServerHealthReport } from "@/lib/health";
import type { KeyView } from "@/lib/keys/manage";
import type { PaymentView } from "@/lib/payments/queries";

/**
 * The JSON shapes the dashboard reads, derived from the server's own types (type-only imports,
 * so no server code reaches the browser): what a value becomes through JSON, dates as strings.
 */
export type Json<T> = T extends Date
  ? string
  : T extends (infer Item)[]
    ? Json<Item>[]
    : T extends object
      ? { [Key in keyof T]: Json<T[Key]> }
      : T;

export type ApiKey = Json<KeyView>;
export type HealthReport = Json<ServerHealthReport>;
export type UsageReport = Json<ServerUsageReport>;
export type Payment = Json<PaymentView>;
