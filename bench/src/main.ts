/**
 * `npm run bench` runs every scenario; `npm run bench -- <scenario> …` some;
 * `--runs N` (default 5, `--quick` 2) and `--quick` (small counts, for a
 * smoke run). Results: `bench/results/<scenario>.json` and `.md`, and the
 * Markdown on stdout.
 */
import { runScenario, toMarkdown, writeResult, type Scenario } from './harness.ts';
import { scenarios } from './scenarios/index.ts';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const runsIndex = args.indexOf('--runs');
const runs = runsIndex >= 0 ? Number(args[runsIndex + 1]) : quick ? 2 : 5;
const names = args.filter((arg, index) => !arg.startsWith('--') && (runsIndex < 0 || index !== runsIndex + 1));
const byName = new Map(scenarios.map((scenario) => [scenario.name, scenario]));
const unknown = names.filter((name) => !byName.has(name));
if (unknown.length > 0 || !Number.isInteger(runs) || runs < 1) {
  process.stderr.write(
    `usage: npm run bench -- [${scenarios.map((scenario) => scenario.name).join('|')} …] [--runs N] [--quick]\n`,
  );
  process.exit(2);
}
const chosen: Scenario[] = names.length > 0 ? names.map((name) => byName.get(name)!) : scenarios;
const results = new URL('../results/', import.meta.url);
for (const scenario of chosen) {
  const result = await runScenario(scenario, { runs, quick });
  writeResult(result, scenario, results);
  process.stdout.write(`${toMarkdown(result, scenario)}\n`);
}
