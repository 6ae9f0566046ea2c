import autocannon from "autocannon";
import { Client, Pool } from "undici";

/**
 * Latency measurement with microsecond resolution (autocannon's histogram counts whole
 * milliseconds, too coarse for a sub-millisecond overhead): a closed loop on one keep-alive
 * connection, and an open loop at a fixed rate that times each request from the moment it was
 * due, so a stall is counted against every request it delays.
 */

export interface LoadResult {
  requests: number;
  errors: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /**
   * At the fixed rate: the times the client's own 1 ms tick came more than `stallMs` late, and the
   * longest. Requests due in such a stall (a collection in the client, or the VM taking the CPU
   * from every process) go out late whatever the target, so a round's count tells a slow round of
   * the machine from a slow round of the target.
   */
  stalls?: { count: number; longestMs: number };
}

export const stallMs = 4;

export interface Target {
  url: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

function percentile(sorted: Float64Array, fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.floor(fraction * sorted.length));
  return sorted[index] ?? Number.NaN;
}

function summarize(latencies: number[], errors: number, seconds: number): LoadResult {
  const sorted = Float64Array.from(latencies).sort();
  return {
    requests: latencies.length,
    errors,
    requestsPerSecond: latencies.length / seconds,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
  };
}

export async function oneConnection(target: Target, seconds: number): Promise<LoadResult> {
  const client = new Client(target.url, { pipelining: 1, keepAliveTimeout: 60_000 });
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  try {
    while (performance.now() < end) {
      const sent = performance.now();
      const res = await client.request({ method: "POST", path: target.path, headers: target.headers, body: target.body });
      await res.body.arrayBuffer();
      if (res.statusCode === 200) latencies.push(performance.now() - sent);
      else errors += 1;
    }
  } finally {
    await client.close();
  }
  return summarize(latencies, errors, (performance.now() - started) / 1000);
}

export async function fixedRate(target: Target, ratePerSecond: number, seconds: number): Promise<LoadResult> {
  const pool = new Pool(target.url, { connections: 64, pipelining: 1, keepAliveTimeout: 60_000 });
  const latencies: number[] = [];
  let errors = 0;
  let sent = 0;
  const total = Math.round(ratePerSecond * seconds);
  const intervalMs = 1000 / ratePerSecond;
  const started = performance.now();
  const inFlight = new Set<Promise<void>>();
  const fire = (dueAt: number) => {
    const request = pool
      .request({ method: "POST", path: target.path, headers: target.headers, body: target.body })
      .then(async (res) => {
        await res.body.arrayBuffer();
        if (res.statusCode === 200) latencies.push(performance.now() - dueAt);
        else errors += 1;
      })
      .catch(() => {
        errors += 1;
      });
    inFlight.add(request);
    void request.finally(() => inFlight.delete(request));
  };
  const stalls = { count: 0, longestMs: 0 };
  let lastTick = started;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      const gap = now - lastTick;
      lastTick = now;
      if (gap > stallMs) {
        stalls.count += 1;
        stalls.longestMs = Math.max(stalls.longestMs, gap);
      }
      while (sent < total && started + sent * intervalMs <= now) {
        fire(started + sent * intervalMs);
        sent += 1;
      }
      if (sent >= total) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  await Promise.all(inFlight);
  await pool.close();
  return { ...summarize(latencies, errors, seconds), stalls };
}

/** A closed loop on `connections` connections by autocannon (whole-millisecond latencies). */
export async function autocannonRun(target: Target, connections: number, seconds: number): Promise<LoadResult> {
  const result = await autocannon({
    url: `${target.url}${target.path}`,
    method: "POST",
    headers: target.headers,
    body: target.body,
    connections,
    duration: seconds,
  });
  const ok = result["2xx"];
  return {
    requests: ok,
    errors: result.non2xx + result.errors + result.timeouts,
    requestsPerSecond: ok / seconds,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
  };
}
