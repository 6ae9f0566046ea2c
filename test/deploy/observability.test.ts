import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parser } from "@prometheus-io/lezer-promql";
import { beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { GatewayMetrics } from "../../gateway/metrics";
import { appMetrics } from "../../lib/metrics";
import { deployDir, deployedCompose, readYaml } from "./support";

/**
 * The Grafana dashboard and the Prometheus configs, checked against what the programs really
 * serve: metric names from the gateway's own registry, scrape targets from the compose files,
 * and both files through Prometheus's own checker (promtool, from Debian's prometheus package,
 * which .ci/run extracts).
 */

/** Every series name a registry exposes: histograms as their _bucket, _sum and _count. */
function seriesNames(metrics: { name: string; type: string }[]): Set<string> {
  return new Set(
    metrics.flatMap(({ name, type }) =>
      type === "histogram" ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name],
    ),
  );
}

interface Target {
  expr: string;
  refId: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: Target[];
}
const dashboard = JSON.parse(
  readFileSync(path.join(deployDir, "grafana/dashboards/creditgate.json"), "utf8"),
) as {
  uid: string;
  title: string;
  panels: Panel[];
};
const queryPanels = dashboard.panels.filter((panel) => panel.type !== "row");
const expressions = queryPanels.flatMap((panel) =>
  (panel.targets ?? []).map((target) => ({ panel, ...target })),
);

/** Grafana's built-in range variables, replaced by what they stand for at query time. */
function asPromQL(expr: string): string {
  return expr
    .replaceAll("$__rate_interval", "5m")
    .replaceAll("$__interval", "1m")
    .replaceAll("$__range", "6h");
}

/** The metric names an expression selects, and whether it parsed without error. */
function selectedMetrics(expr: string): { names: string[]; errors: string[] } {
  const text = asPromQL(expr);
  const names: string[] = [];
  const errors: string[] = [];
  parser.parse(text).iterate({
    enter(node) {
      if (node.type.isError)
        errors.push(`at ${node.from}: ${JSON.stringify(text.slice(node.from, node.to + 10))}`);
      if (node.name === "Identifier" && node.node.parent?.name === "VectorSelector")
        names.push(text.slice(node.from, node.to));
    },
  });
  return { names, errors };
}

function findPromtool(): string | undefined {
  const candidate = process.env.PROMTOOL ?? "promtool";
  return spawnSync(candidate, ["--version"], { encoding: "utf8" }).status === 0
    ? candidate
    : undefined;
}
const promtool = findPromtool();
if (!promtool) {
  const message =
    "promtool not found: the Prometheus config checks are skipped (Debian: apt-get download prometheus; .ci/run does this)";
  if (process.env.CI === "true") throw new Error(message);
  console.warn(`\n  ⚠ ${message}\n`);
}

describe("the Grafana dashboard", () => {
  let known: Set<string>;
  beforeAll(async () => {
    const gateway = new GatewayMetrics();
    known = new Set([
      ...seriesNames(
        (await gateway.registry.getMetricsAsJSON()).map(({ name, type }) => ({
          name,
          type: String(type),
        })),
      ),
      // The app's and the worker's metrics, from their own registry (lib/metrics).
      ...seriesNames(
        (await appMetrics().registry.getMetricsAsJSON()).map(({ name, type }) => ({
          name,
          type: String(type),
        })),
      ),
    ]);
  });

  it("is provisioned from the folder compose mounts, against the provisioned data source", () => {
    const datasources = readYaml(
      path.join(deployDir, "grafana/provisioning/datasources/prometheus.yml"),
    ) as {
      datasources: { uid: string; url: string }[];
    };
    const [datasource] = datasources.datasources;
    expect(new URL(datasource?.url ?? "").hostname).toBe("prometheus");
    const providers = readYaml(
      path.join(deployDir, "grafana/provisioning/dashboards/creditgate.yml"),
    ) as {
      providers: { options: { path: string } }[];
    };
    const grafana = deployedCompose("docker-compose.yml").services.grafana;
    expect(grafana?.volumes).toContain(
      `./grafana/dashboards:${providers.providers[0]?.options.path}:ro`,
    );
    expect(dashboard.uid).toBe("creditgate-overview");
    expect(new Set(dashboard.panels.map((panel) => panel.id)).size).toBe(dashboard.panels.length);
    for (const panel of queryPanels) {
      expect(panel.datasource?.uid, panel.title).toBe(datasource?.uid);
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
    }
  });

  it("queries only metrics the gateway and the app register, in PromQL that parses", () => {
    expect(expressions.length).toBeGreaterThan(10);
    for (const { panel, expr } of expressions) {
      const { names, errors } = selectedMetrics(expr);
      expect(errors, `${panel.title}: ${expr}`).toEqual([]);
      expect(names.length, `${panel.title} selects a metric`).toBeGreaterThan(0);
      for (const name of names)
        expect(known.has(name), `${panel.title}: ${name} is not registered`).toBe(true);
    }
  });

  it("shows requests, tokens, spend per user and model, latency percentiles, remaining budgets and sync failures", () => {
    const all = expressions.map(({ expr }) => expr);
    const some = (pattern: RegExp) =>
      expect(
        all.some((expr) => pattern.test(expr)),
        String(pattern),
      ).toBe(true);
    some(/rate\(litellm_proxy_total_requests_metric_total/);
    some(/litellm_proxy_failed_requests_metric_total/);
    some(/litellm_total_tokens_metric_total/);
    some(/sum by \(user\) \(increase\(litellm_spend_metric_total/);
    some(/sum by \(model\) \(increase\(litellm_spend_metric_total/);
    for (const histogram of [
      "litellm_request_total_latency_metric_bucket",
      "litellm_llm_api_latency_metric_bucket",
    ]) {
      for (const quantile of ["0.5", "0.95", "0.99"])
        some(
          new RegExp(`histogram_quantile\\(${quantile}, sum by \\(le\\) \\(rate\\(${histogram}`),
        );
    }
    some(/litellm_remaining_api_key_budget_metric/);
    some(/litellm_remaining_user_budget_metric/);
    some(/creditgate_sync_rows/);
    some(/creditgate_sync_push_total/);
  });

  it.skipIf(!promtool)("passes promtool's PromQL checks", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "creditgate-dashboard-"));
    try {
      const rules = expressions.map(({ panel, refId, expr }) => ({
        record: `dashboard:panel_${panel.id}_${refId}`,
        expr: asPromQL(expr),
      }));
      const file = path.join(dir, "dashboard-rules.yml");
      writeFileSync(file, stringify({ groups: [{ name: "dashboard", rules }] }));
      const result = spawnSync(promtool ?? "promtool", ["check", "rules", file], {
        encoding: "utf8",
      });
      expect(result.status, result.stdout + result.stderr).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.each([
  { compose: "docker-compose.yml", config: "prometheus/prometheus.yml", gateway: "gateway" },
  {
    compose: "docker-compose.litellm.yml",
    config: "prometheus/prometheus.litellm.yml",
    gateway: "litellm",
  },
])("deploy/$config", ({ compose: composeFile, config, gateway }) => {
  interface ScrapeConfig {
    job_name: string;
    metrics_path: string;
    authorization?: { type: string; credentials_file: string };
    static_configs: { targets: string[] }[];
  }
  const prometheusConfig = readYaml(path.join(deployDir, config)) as {
    scrape_configs: ScrapeConfig[];
  };
  const compose = deployedCompose(composeFile);
  const job = (name: string) => {
    const found = prometheusConfig.scrape_configs.find((scrape) => scrape.job_name === name);
    if (!found) throw new Error(`no job ${name}`);
    return found;
  };

  it("is the config the compose file mounts into Prometheus", () => {
    expect(compose.services.prometheus?.volumes).toContain(
      `./${config}:/etc/prometheus/prometheus.yml:ro`,
    );
  });

  it("scrapes the gateway's metrics on its admin listener with the master key, the app's /api/metrics and the worker's /metrics", () => {
    const [gatewayTarget] = job("gateway").static_configs.flatMap((static_) => static_.targets);
    const [host, port] = (gatewayTarget ?? "").split(":");
    expect(host).toBe(gateway);
    const service = compose.services[gateway];
    const adminPort =
      gateway === "gateway" ? service?.environment?.GATEWAY_ADMIN_PORT : service?.command?.at(-1);
    expect(port, "the admin listener").toBe(adminPort);

    const credentials = job("gateway").authorization?.credentials_file ?? "";
    const secret = path.basename(credentials);
    expect(path.dirname(credentials)).toBe("/run/secrets");
    expect(compose.services.prometheus?.secrets).toContain(secret);
    expect(compose.secrets?.[secret]?.environment).toBe("LITELLM_MASTER_KEY");

    expect(job("app").metrics_path).toBe("/api/metrics");
    const [appTarget] = job("app").static_configs.flatMap((static_) => static_.targets);
    expect(appTarget).toBe(`app:${compose.services.app?.environment?.PORT}`);

    expect(job("worker").metrics_path).toBe("/metrics");
    const [workerTarget] = job("worker").static_configs.flatMap((static_) => static_.targets);
    expect(workerTarget).toBe(`worker:${compose.services.worker?.environment?.WORKER_METRICS_PORT}`);
    expect(compose.services.worker?.environment?.WORKER_METRICS_HOST).toBe("0.0.0.0");
    expect(compose.services.worker?.ports ?? []).toEqual([]);
  });

  it.skipIf(!promtool)("passes promtool check config", () => {
    // promtool opens credentials files; the compose secret is mounted only in the container.
    const dir = mkdtempSync(path.join(tmpdir(), "creditgate-prometheus-"));
    try {
      writeFileSync(path.join(dir, "litellm_master_key"), "sk-placeholder\n");
      const file = path.join(dir, "prometheus.yml");
      writeFileSync(
        file,
        readFileSync(path.join(deployDir, config), "utf8").replaceAll("/run/secrets/", `${dir}/`),
      );
      const result = spawnSync(promtool ?? "promtool", ["check", "config", file], {
        encoding: "utf8",
      });
      expect(result.status, result.stdout + result.stderr).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
