import type { Metric, Registry } from "prom-client";

/**
 * Counters and histograms for the request path, kept as plain numbers per labelled series and
 * handed to prom-client's registry only when it is scraped. prom-client hashes and validates the
 * labels on every `inc` and `observe`, even through a `labels()` child; with eight labels and
 * seven updates per request that was about a tenth of the gateway's CPU time and allocations.
 * Here a caller resolves its series once (`cell`) and then adds to numbers. The registry still
 * formats and serves everything (these families answer its `get()` the way its own metrics do),
 * beside prom-client's default process metrics.
 */

export type Labels = Readonly<Record<string, string>>;

interface FamilyValue {
  value: number;
  labels: Labels;
  metricName?: string;
}

interface FamilySnapshot {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram";
  aggregator: "sum";
  values: FamilyValue[];
}

const seriesId = (labels: Labels) => Object.values(labels).join("\u0000");

/** What prom-client's registry calls on a metric when it serves or resets it. */
abstract class Family<Cell> {
  readonly aggregator = "sum";
  protected readonly cells = new Map<string, { labels: Labels; cell: Cell }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: FamilySnapshot["type"],
    registry: Registry,
  ) {
    // The registry reads name, help, type and get(); it never calls a metric's own update methods.
    registry.registerMetric(this as unknown as Metric);
  }

  protected abstract fresh(): Cell;
  protected abstract values(labels: Labels, cell: Cell): FamilyValue[];
  protected abstract clear(cell: Cell): void;

  /** The series with these labels, made on first use; keep it and update it directly. */
  cell(labels: Labels): Cell {
    const id = seriesId(labels);
    let found = this.cells.get(id);
    if (!found) {
      found = { labels: { ...labels }, cell: this.fresh() };
      this.cells.set(id, found);
    }
    return found.cell;
  }

  /** Stops exposing the series with these labels. */
  remove(labels: Labels): void {
    this.cells.delete(seriesId(labels));
  }

  async get(): Promise<FamilySnapshot> {
    const values: FamilyValue[] = [];
    for (const { labels, cell } of this.cells.values()) values.push(...this.values(labels, cell));
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values,
    };
  }

  /** Zeroes every series; cells handed out stay valid. */
  reset(): void {
    for (const { cell } of this.cells.values()) this.clear(cell);
  }
}

export interface CounterCell {
  value: number;
}

export class CounterFamily extends Family<CounterCell> {
  constructor(name: string, help: string, registry: Registry) {
    super(name, help, "counter", registry);
  }

  protected fresh(): CounterCell {
    return { value: 0 };
  }

  protected values(labels: Labels, cell: CounterCell): FamilyValue[] {
    return [{ labels, value: cell.value }];
  }

  protected clear(cell: CounterCell): void {
    cell.value = 0;
  }
}

export interface HistogramCell {
  /** Observations per bucket, not cumulative; the last slot is above every bound (+Inf). */
  counts: Float64Array;
  sum: number;
  count: number;
}

export class HistogramFamily extends Family<HistogramCell> {
  constructor(
    name: string,
    help: string,
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    super(name, help, "histogram", registry);
  }

  observe(cell: HistogramCell, value: number): void {
    const { bounds } = this;
    let index = 0;
    while (index < bounds.length && value > (bounds[index] as number)) index += 1;
    cell.counts[index] = (cell.counts[index] ?? 0) + 1;
    cell.sum += value;
    cell.count += 1;
  }

  protected fresh(): HistogramCell {
    return { counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
  }

  protected values(labels: Labels, cell: HistogramCell): FamilyValue[] {
    const bucket = `${this.name}_bucket`;
    const values: FamilyValue[] = [];
    let cumulative = 0;
    this.bounds.forEach((bound, index) => {
      cumulative += cell.counts[index] ?? 0;
      values.push({
        metricName: bucket,
        labels: { le: String(bound), ...labels },
        value: cumulative,
      });
    });
    values.push({ metricName: bucket, labels: { le: "+Inf", ...labels }, value: cell.count });
    values.push({ metricName: `${this.name}_sum`, labels, value: cell.sum });
    values.push({ metricName: `${this.name}_count`, labels, value: cell.count });
    return values;
  }

  protected clear(cell: HistogramCell): void {
    cell.counts.fill(0);
    cell.sum = 0;
    cell.count = 0;
  }
}

/**
 * A gauge read at scrape time: each series says how to compute its value then (a remaining
 * budget, say), so the request path only registers the series once.
 */
export class ComputedGauge extends Family<{ read: () => number | null }> {
  constructor(name: string, help: string, registry: Registry) {
    super(name, help, "gauge", registry);
  }

  /** Sets (or replaces) how the series with these labels is read; null at scrape leaves it out. */
  watch(labels: Labels, read: () => number | null): void {
    this.cell(labels).read = read;
  }

  protected fresh(): { read: () => number | null } {
    return { read: () => null };
  }

  protected values(labels: Labels, cell: { read: () => number | null }): FamilyValue[] {
    const value = cell.read();
    return value === null ? [] : [{ labels, value }];
  }

  protected clear(): void {}
}
