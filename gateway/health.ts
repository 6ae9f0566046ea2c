import type { Sql } from "../lib/db/client";
import type { Deployment } from "./config";
import type { Providers } from "./providers";

export interface EndpointHealth {
  model: string;
  api_base: string;
  error?: string;
}

export interface HealthReport {
  healthy_endpoints: EndpointHealth[];
  unhealthy_endpoints: EndpointHealth[];
  healthy_count: number;
  unhealthy_count: number;
}

/**
 * Health of the upstream deployments and the database. Deployment checks are cached for
 * `health_check_interval` seconds, so /health (open to anyone, as our users' guide says) can
 * never be used to hammer the upstreams.
 */
export class HealthMonitor {
  private cached: { at: number; report: Promise<HealthReport> } | undefined;

  constructor(
    private readonly sql: Sql,
    private readonly providers: Providers,
    private readonly deployments: readonly Deployment[],
    private readonly intervalMs: number,
  ) {}

  endpoints(now: number): Promise<HealthReport> {
    if (this.cached && now - this.cached.at < this.intervalMs) return this.cached.report;
    const report = this.check();
    this.cached = { at: now, report };
    return report;
  }

  private async check(): Promise<HealthReport> {
    const results = await Promise.all(
      this.deployments.map(async (deployment) => {
        const health = await this.providers[deployment.provider].checkHealth(deployment);
        const endpoint: EndpointHealth = {
          model: deployment.modelName,
          api_base: deployment.provider === "mock" ? "mock" : deployment.apiBase,
        };
        return health.healthy ? { healthy: true, endpoint } : { healthy: false, endpoint: { ...endpoint, error: health.error ?? "unhealthy" } };
      }),
    );
    const healthy = results.filter((result) => result.healthy).map((result) => result.endpoint);
    const unhealthy = results.filter((result) => !result.healthy).map((result) => result.endpoint);
    return {
      healthy_endpoints: healthy,
      unhealthy_endpoints: unhealthy,
      healthy_count: healthy.length,
      unhealthy_count: unhealthy.length,
    };
  }

  async database(): Promise<"connected" | "Not connected"> {
    try {
      await this.sql`select 1`;
      return "connected";
    } catch {
      return "Not connected";
    }
  }
}
