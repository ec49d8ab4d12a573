/**
 * Rewrites the README's generated blocks (the environment variable tables and
 * the subgraph table) from the config models and the subgraph list.
 *
 *   npm run env:doc            rewrite README.md
 *   npm run env:doc -- --check exit 1 when README.md differs (gateway/src/config-doc.test.ts checks it too)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { rewriteGeneratedBlocks } from '../gateway/src/config-doc.ts';

const readme = new URL('../README.md', import.meta.url);
const current = readFileSync(readme, 'utf8');
const generated = rewriteGeneratedBlocks(current);
if (process.argv.includes('--check')) {
  if (generated !== current) {
    process.stderr.write('README.md is out of date with the config models: run `npm run env:doc`\n');
    process.exit(1);
  }
} else if (generated !== current) {
  writeFileSync(readme, generated);
  process.stdout.write('README.md rewritten\n');
}
