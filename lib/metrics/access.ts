import { createHash, timingSafeEqual } from "node:crypto";
import { ApiError } from "../http/errors";

/**
 * With METRICS_TOKEN set, a scrape must bring it as a bearer token (Prometheus'
 * `authorization: {credentials: …}`); without it the endpoint is open and must be kept off the
 * public network, as the gateway's admin listener is. Hashing first makes the comparison
 * constant-time whatever the lengths.
 */
export function authorizeScrape(authorization: string | null, token: string | undefined): void {
  if (!token) return;
  const presented = /^Bearer (.+)$/i.exec(authorization ?? "")?.[1] ?? "";
  const digest = (value: string) => createHash("sha256").update(value).digest();
  if (!timingSafeEqual(digest(presented), digest(token))) {
    throw new ApiError("unauthorized", "GET /api/metrics needs the METRICS_TOKEN as a bearer token");
  }
}
