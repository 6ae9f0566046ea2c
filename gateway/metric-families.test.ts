import { Counter, Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { ComputedGauge, CounterFamily, HistogramFamily } from "./metric-families";

const bounds = [0.005, 0.1, 1, 10];
const labels = { hashed_api_key: "abc", model: 'gpt-"4o"\nmini' };
const observations = [0, 0.005, 0.0050001, 0.1, 0.5, 1, 9.99, 10, 11, 300];

describe("metric families kept as numbers and served at scrape", () => {
  it("expose the same text as prom-client's own counter and histogram fed the same updates", async () => {
    const ours = new Registry();
    const counter = new CounterFamily("requests_total", "Requests", ours);
    const histogram = new HistogramFamily("latency_seconds", "Latency", bounds, ours);
    const counted = counter.cell(labels);
    const observed = histogram.cell(labels);
    for (const value of observations) {
      counted.value += 2;
      histogram.observe(observed, value);
    }

    const theirs = new Registry();
    const reference = new Counter({
      name: "requests_total",
      help: "Requests",
      labelNames: ["hashed_api_key", "model"],
      registers: [theirs],
    });
    const referenceHistogram = new Histogram({
      name: "latency_seconds",
      help: "Latency",
      labelNames: ["hashed_api_key", "model"],
      buckets: bounds,
      registers: [theirs],
    });
    for (const value of observations) {
      reference.inc(labels, 2);
      referenceHistogram.observe(labels, value);
    }

    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it("give the same series back for the same labels, and keep handed-out series valid across a reset", async () => {
    const registry = new Registry();
    const counter = new CounterFamily("requests_total", "Requests", registry);
    const first = counter.cell({ key: "a" });
    expect(counter.cell({ key: "a" })).toBe(first);
    expect(counter.cell({ key: "b" })).not.toBe(first);
    first.value += 5;
    registry.resetMetrics();
    first.value += 1;
    expect(await registry.metrics()).toContain('requests_total{key="a"} 1');
  });

  it("read computed gauges when scraped, leaving out series that have no value", async () => {
    const registry = new Registry();
    const gauge = new ComputedGauge("remaining_dollars", "Remaining", registry);
    let remaining: number | null = 3;
    gauge.watch({ key: "a" }, () => remaining);
    expect(await registry.metrics()).toContain('remaining_dollars{key="a"} 3');
    remaining = 1.5;
    expect(await registry.metrics()).toContain('remaining_dollars{key="a"} 1.5');
    remaining = null;
    expect(await registry.metrics()).not.toContain('remaining_dollars{key="a"}');
  });
});
