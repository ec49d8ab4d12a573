/**
 * Composes the supergraph from each subgraph's schema.graphql and writes
 * schema/<subgraph>.graphql, schema/supergraph.graphql and schema/api.graphql
 * (the public API schema, for clients: no federation internals).
 *
 *   npm run schema:compose          regenerate the committed files
 *   npm run schema:check            fail when they differ from composition
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { composeSupergraph, SUBGRAPHS } from './supergraph.ts';

const check = process.argv.includes('--check');
const root = new URL('../', import.meta.url);
const result = composeSupergraph();
if ('errors' in result) {
  process.stderr.write(`Composition failed:\n${result.errors.map((error) => `  ${error.message}`).join('\n')}\n`);
  process.exit(1);
}

const files = new Map<string, string>([
  ...SUBGRAPHS.map(
    ({ name }) =>
      [`schema/${name}.graphql`, readFileSync(new URL(`subgraphs/${name}/src/schema.graphql`, root), 'utf8')] as const,
  ),
  ['schema/supergraph.graphql', result.supergraphSdl],
  ['schema/api.graphql', result.apiSdl],
]);

let stale = 0;
mkdirSync(new URL('schema/', root), { recursive: true });
for (const [path, content] of files) {
  let current: string | undefined;
  try {
    current = readFileSync(new URL(path, root), 'utf8');
  } catch {
    current = undefined;
  }
  if (current === content) continue;
  if (check) {
    process.stderr.write(`${path} is out of date: run npm run schema:compose and commit the result\n`);
    stale += 1;
  } else {
    writeFileSync(new URL(path, root), content);
    process.stdout.write(`wrote ${path}\n`);
  }
}
if (stale > 0) process.exit(1);
if (check) process.stdout.write('schema/ matches composition\n');
