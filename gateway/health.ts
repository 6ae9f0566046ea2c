import type { Sql } from "../lib/db/client";
import type { Deployment } from "./config";
import type { Router } from "./router";

export interface EndpointHealth {
  model: string;
  /** The deployment (`model_info.id`): several deployments may share one model name. */
  model_id: string;
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
 * Health of the upstream deployments and the database. Each deployment gets a real call (a
 * one-token chat, or an embedding: router.ts `probe`), as LiteLLM's /health makes. Results are
 * cached for `health_check_interval` seconds, so /health (open to anyone, as our users' guide
 * says) can never be used to hammer the upstreams; with `background_health_checks` the checks
 * run on that interval by themselves and /health answers the latest.
 */
export class HealthMonitor {
  private cached: { at: number; report: Promise<HealthReport> } | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly sql: Sql,
    private readonly router: Router,
    private readonly deployments: readonly Deployment[],
    private readonly intervalMs: number,
    private readonly probeTimeoutMs = 10_000,
  ) {}

  endpoints(now: number): Promise<HealthReport> {
    if (this.cached && (this.timer !== undefined || now - this.cached.at < this.intervalMs)) return this.cached.report;
    this.cached = { at: now, report: this.check() };
    return this.cached.report;
  }

  /** Checks every interval in the background (general_settings.background_health_checks). */
  startBackground(): void {
    if (this.timer) return;
    const run = () => {
      const report = this.check();
      // The previous report is served until the new one is complete.
      if (!this.cached) this.cached = { at: Date.now(), report };
      void report.then(() => (this.cached = { at: Date.now(), report }));
    };
    run();
    this.timer = setInterval(run, this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async check(): Promise<HealthReport> {
    const results = await Promise.all(
      this.deployments.map(async (deployment) => {
        const health = await this.router.probe(deployment, this.probeTimeoutMs);
        const endpoint: EndpointHealth = {
          model: deployment.modelName,
          model_id: deployment.id,
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
