import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { graphqlErrors, renderErrorsDoc } from './error-catalog.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Product source files (no tests, no generated code) under `dir`. */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return ['generated', 'node_modules'].includes(entry.name) ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

/** `reason: 'A'`, and a type's `reason: 'A' | 'B'`. */
const REASON_LITERALS = /\breason: ((?:'[A-Z][A-Z0-9_]*'(?: \| )?)+)/g;

const SUBGRAPH_DIRS = readdirSync(join(root, 'subgraphs')).map((name) => `subgraphs/${name}/src`);
const PRODUCT_DIRS = ['common/src', 'gateway/src', ...SUBGRAPH_DIRS];

describe('the error registry', () => {
  it('is what docs/ERRORS.md says (npm run errors:doc writes it)', () => {
    const committed = readFileSync(join(root, 'docs/ERRORS.md'), 'utf8');
    assert.equal(committed, renderErrorsDoc(), 'docs/ERRORS.md differs from the registry: run npm run errors:doc');
  });

  it('has a description for every code and reason, and a reason only under a registered code', () => {
    const entries = graphqlErrors().entries();
    for (const entry of entries) {
      assert.ok(entry.description.length > 10, `${entry.owner}: ${entry.reason ?? entry.code} has no description`);
    }
    assert.ok(entries.some((entry) => entry.reason === 'TOO_MANY_REACTIONS' && entry.code === 'BAD_USER_INPUT'));
  });

  // Reasons are given through each package's typed factory; a literal left in product code must still be registered.
  // Store and media-processing results have reasons of their own (TAKEN, UNREADABLE, …) that no client sees as such.
  it('registers every reason written as a literal in product code', () => {
    const registry = graphqlErrors();
    const unregistered: string[] = [];
    for (const dir of PRODUCT_DIRS) {
      for (const file of sourceFiles(join(root, dir))) {
        const path = relative(root, file);
        if (/\/(store|processing)\//.test(path) || path.endsWith('/errors.ts')) continue;
        for (const [, literals] of readFileSync(file, 'utf8').matchAll(REASON_LITERALS)) {
          for (const [, reason] of literals!.matchAll(/'([A-Z0-9_]+)'/g)) {
            if (!registry.hasReason(reason!)) unregistered.push(`${path}: ${reason}`);
          }
        }
      }
    }
    assert.deepEqual(unregistered, []);
  });
});
