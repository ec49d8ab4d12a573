import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { limitsTable } from './limits.ts';

describe('documented limits', () => {
  it('docs/MEDIA.md shows the limits the code enforces', () => {
    const doc = readFileSync(new URL('../../../../docs/MEDIA.md', import.meta.url), 'utf8');
    assert.ok(
      doc.includes(limitsTable().trim()),
      'docs/MEDIA.md is out of date: paste limitsTable() from subgraphs/media/src/processing/limits.ts',
    );
  });
});
