/**
 * Reads Prometheus' text exposition format into samples, so tests can look a series up by name
 * and labels. Small on purpose: one sample per line, `name{label="value",…} number`.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const line = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const raw of text.split("\n")) {
    if (raw === "" || raw.startsWith("#")) continue;
    const match = line.exec(raw);
    if (!match) throw new Error(`not a Prometheus sample line: ${raw}`);
    const labels: Record<string, string> = {};
    for (const [, name = "", value = ""] of (match[2] ?? "").matchAll(label)) {
      labels[name] = value.replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\");
    }
    samples.push({ name: match[1] ?? "", labels, value: Number(match[3]) });
  }
  return samples;
}

/** Samples of `name` whose labels include every label of `where`. */
export function series(samples: Sample[], name: string, where: Record<string, string> = {}): Sample[] {
  return samples.filter((sample) => sample.name === name && Object.entries(where).every(([key, value]) => sample.labels[key] === value));
}

/** The sum of the matching samples' values (0 when none match). */
export function total(samples: Sample[], name: string, where: Record<string, string> = {}): number {
  return series(samples, name, where).reduce((sum, sample) => sum + sample.value, 0);
}
