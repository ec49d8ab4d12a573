/**
 * Writes docs/ERRORS.md from the error registry (gateway/src/error-catalog.ts).
 *
 *   npm run errors:doc              regenerate the committed file
 *   npm run errors:doc -- --check   fail when it differs (the drift test checks the same)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { renderErrorsDoc } from '../gateway/src/error-catalog.ts';

const path = new URL('../docs/ERRORS.md', import.meta.url);
const rendered = renderErrorsDoc();
let current: string | undefined;
try {
  current = readFileSync(path, 'utf8');
} catch {
  current = undefined;
}
if (process.argv.includes('--check')) {
  if (current !== rendered) {
    process.stderr.write('docs/ERRORS.md differs from the error registry: run npm run errors:doc\n');
    process.exit(1);
  }
} else if (current !== rendered) {
  writeFileSync(path, rendered);
  process.stdout.write('wrote docs/ERRORS.md\n');
}
