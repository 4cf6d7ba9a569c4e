// Shared helpers for benchmark output.

export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  note?: string;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export function formatNumber(value: number): string {
  if (value >= 100) return Math.round(value).toLocaleString('en-US');
  return value.toFixed(2);
}

export function report(section: string, results: BenchResult[]): void {
  console.log(`\n## ${section}\n`);
  console.log('| benchmark | result | unit | note |');
  console.log('| --- | ---: | --- | --- |');
  for (const r of results) console.log(`| ${r.name} | ${formatNumber(r.value)} | ${r.unit} | ${r.note ?? ''} |`);
}
