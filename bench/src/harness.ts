/**
 * The benchmark harness: runs a scenario's variants (the system under test
 * and its baselines) several times, interleaved so that the machine's noise
 * falls on all of them alike, reports median and spread per metric, the
 * ratios against each baseline, and writes `bench/results/<scenario>.json`
 * and `.md`.
 *
 * A scenario measures; it never asserts a target. Targets are printed next
 * to the figures, as the issue states them.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

/** One measured figure of one run, e.g. `{ name: 'requests/s', value: 812, better: 'higher' }`. */
export interface Metric {
  name: string;
  value: number;
  unit?: string;
  /** Which direction is better, for ratios and for reading the table. */
  better: 'higher' | 'lower';
}

/** A system under test, or a baseline, within a scenario. */
export interface Variant {
  /** Short, stable: `this-gateway`, `apollo-server`, `hive-gateway`, `bare-graphql-ws`. */
  id: string;
  label: string;
  /** Whether this is the project's own system (ratios are computed for it against each baseline). */
  subject: boolean;
}

export interface ScenarioContext {
  /** Smaller counts and shorter durations: a smoke run (tests, `--quick`). */
  quick: boolean;
  /** Progress lines for long runs (stderr). */
  progress(message: string): void;
}

export interface Scenario {
  /** As typed on the command line: `npm run bench -- <name>`. */
  name: string;
  description: string;
  /** The targets of the issue, printed with the results (never asserted). */
  targets: string[];
  variants: Variant[];
  /**
   * Starts what every run of the scenario needs (servers, seeded data) and
   * returns the function that measures one variant once, and the teardown.
   * `cases` are the scenario's parameter points (e.g. query shapes, subscriber counts).
   */
  setup(context: ScenarioContext): Promise<{
    cases: string[];
    run(variant: Variant, caseName: string, context: ScenarioContext): Promise<Metric[]>;
    teardown(): Promise<void>;
  }>;
}

export interface Summary {
  median: number;
  min: number;
  max: number;
  /** (max - min) / median: how much the runs disagree. */
  spread: number;
  runs: number[];
}

export interface ScenarioResult {
  scenario: string;
  description: string;
  targets: string[];
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; platform: string };
  startedAt: string;
  runsPerVariant: number;
  /** case → variant id → metric name → summary */
  results: Record<string, Record<string, Record<string, Summary & { unit?: string; better: 'higher' | 'lower' }>>>;
  /** case → `subject/baseline` → metric name → median ratio (subject ÷ baseline) */
  ratios: Record<string, Record<string, Record<string, number>>>;
}

export function summarize(values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  const min = sorted[0]!;
  const max = sorted.at(-1)!;
  return { median, min, max, spread: median === 0 ? 0 : (max - min) / median, runs: values };
}

export function machine(): ScenarioResult['machine'] {
  const info = cpus();
  return {
    cpus: info.length,
    cpuModel: info[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

/** Runs every variant `runs` times per case, interleaved (A B C A B C …). */
export async function runScenario(
  scenario: Scenario,
  { runs, quick }: { runs: number; quick: boolean },
): Promise<ScenarioResult> {
  const progress = (message: string) => process.stderr.write(`[${scenario.name}] ${message}\n`);
  const context: ScenarioContext = { quick, progress };
  const startedAt = new Date().toISOString();
  const { cases, run, teardown } = await scenario.setup(context);
  const raw: Record<
    string,
    Record<string, Record<string, { values: number[]; unit?: string; better: 'higher' | 'lower' }>>
  > = {};
  try {
    for (const caseName of cases) {
      raw[caseName] = {};
      for (let round = 1; round <= runs; round++) {
        for (const variant of scenario.variants) {
          progress(`${caseName}: ${variant.id}, run ${round}/${runs}`);
          for (const metric of await run(variant, caseName, context)) {
            const byMetric = (raw[caseName]![variant.id] ??= {});
            (byMetric[metric.name] ??= { values: [], unit: metric.unit, better: metric.better }).values.push(
              metric.value,
            );
          }
        }
      }
    }
  } finally {
    await teardown();
  }
  const results: ScenarioResult['results'] = {};
  const ratios: ScenarioResult['ratios'] = {};
  for (const [caseName, byVariant] of Object.entries(raw)) {
    results[caseName] = {};
    for (const [variantId, byMetric] of Object.entries(byVariant)) {
      results[caseName]![variantId] = Object.fromEntries(
        Object.entries(byMetric).map(([name, { values, unit, better }]) => [
          name,
          { ...summarize(values), unit, better },
        ]),
      );
    }
    ratios[caseName] = {};
    for (const subject of scenario.variants.filter((variant) => variant.subject)) {
      for (const baseline of scenario.variants.filter((variant) => !variant.subject)) {
        const ours = results[caseName]![subject.id];
        const theirs = results[caseName]![baseline.id];
        if (!ours || !theirs) continue;
        ratios[caseName]![`${subject.id}/${baseline.id}`] = Object.fromEntries(
          Object.keys(ours)
            .filter((name) => theirs[name] && theirs[name]!.median !== 0)
            .map((name) => [name, ours[name]!.median / theirs[name]!.median]),
        );
      }
    }
  }
  return {
    scenario: scenario.name,
    description: scenario.description,
    targets: scenario.targets,
    machine: machine(),
    startedAt,
    runsPerVariant: runs,
    results,
    ratios,
  };
}

const format = (value: number) =>
  Math.abs(value) >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(value >= 10 ? 1 : 2);

/** The result as a Markdown section: one table per case, then the ratios and the targets. */
export function toMarkdown(result: ScenarioResult, scenario: Scenario): string {
  const lines = [`## ${result.scenario}`, '', result.description, ''];
  const { machine: m } = result;
  lines.push(
    `Measured ${result.startedAt.slice(0, 16).replace('T', ' ')} UTC on ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}; median of ${result.runsPerVariant} runs per variant (spread = (max − min) / median).`,
    '',
  );
  for (const [caseName, byVariant] of Object.entries(result.results)) {
    const metricNames = [...new Set(Object.values(byVariant).flatMap((byMetric) => Object.keys(byMetric)))];
    lines.push(`### ${caseName}`, '');
    lines.push(`| variant | ${metricNames.join(' | ')} |`, `| --- | ${metricNames.map(() => '---:').join(' | ')} |`);
    for (const variant of scenario.variants) {
      const byMetric = byVariant[variant.id];
      if (!byMetric) continue;
      const cells = metricNames.map((name) => {
        const summary = byMetric[name];
        return summary
          ? `${format(summary.median)}${summary.unit ? ` ${summary.unit}` : ''} (±${Math.round(summary.spread * 50)}%)`
          : '';
      });
      lines.push(`| ${variant.label} | ${cells.join(' | ')} |`);
    }
    const ratioLines = Object.entries(result.ratios[caseName] ?? {}).map(
      ([pair, byMetric]) =>
        `- ${pair}: ${Object.entries(byMetric)
          .map(([name, ratio]) => `${name} ×${ratio.toFixed(2)}`)
          .join(', ')}`,
    );
    if (ratioLines.length > 0) lines.push('', ...ratioLines);
    lines.push('');
  }
  if (result.targets.length > 0)
    lines.push('Targets (reported, not asserted):', ...result.targets.map((target) => `- ${target}`), '');
  return lines.join('\n');
}

export function writeResult(result: ScenarioResult, scenario: Scenario, directory: URL): void {
  mkdirSync(directory, { recursive: true });
  writeFileSync(new URL(`${result.scenario}.json`, directory), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(new URL(`${result.scenario}.md`, directory), toMarkdown(result, scenario));
}
