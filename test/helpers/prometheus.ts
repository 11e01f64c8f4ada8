// Reads a Prometheus scrape as a scraper does (parse-prometheus-text-format), for assertions.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

export interface Sample {
  value?: string;
  labels?: Record<string, string>;
}
export interface Family {
  name: string;
  help: string;
  type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
  metrics: Sample[];
}
// A CommonJS package without types.
const parsePrometheusText = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => Family[];

/**
 * Every family of a scrape, by name. parse-prometheus-text-format folds all the series of a histogram
 * into one sample without labels, so a histogram's `_bucket`, `_count` and `_sum` series are read as
 * families of their own (with their labels); the histogram's own entry keeps its type.
 */
export function parseScrape(text: string): Map<string, Family> {
  const types = new Map(parsePrometheusText(text).map((family) => [family.name, family.type]));
  const flat = parsePrometheusText(text.replace(/^# TYPE (\S+) histogram$/gm, '# TYPE $1 untyped'));
  // A histogram's series alternate (buckets, sum, count, then the next label set's), so a name comes back many times.
  const families = new Map<string, Family>();
  for (const family of flat) {
    const known = families.get(family.name);
    if (known) known.metrics.push(...family.metrics);
    else families.set(family.name, { ...family, type: types.get(family.name) ?? family.type });
  }
  return families;
}

const matches = (sample: Sample, labels: Record<string, string>) =>
  Object.entries(labels).every(([name, value]) => sample.labels?.[name] === value) &&
  Object.keys(sample.labels ?? {}).length === Object.keys(labels).length;

/** The one sample of `name` with exactly `labels`, or undefined. */
export function sample(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): Sample | undefined {
  const found = families.get(name)?.metrics.filter((s) => matches(s, labels)) ?? [];
  assert.ok(found.length <= 1, `one ${name} sample for ${JSON.stringify(labels)}`);
  return found[0];
}

/** The value of a counter or gauge sample; fails when it is missing. */
export function value(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const found = sample(families, name, labels);
  assert.ok(found?.value !== undefined, `${name}${JSON.stringify(labels)} is exported`);
  return Number(found.value);
}

/** A histogram series: its count, sum, and cumulative bucket counts by `le`. */
export function histogram(families: Map<string, Family>, name: string, labels: Record<string, string> = {}) {
  assert.equal(families.get(name)?.type, 'HISTOGRAM', `${name} is a histogram`);
  return {
    count: value(families, `${name}_count`, labels),
    sum: value(families, `${name}_sum`, labels),
    bucket: (le: string) => value(families, `${name}_bucket`, { ...labels, le }),
  };
}

