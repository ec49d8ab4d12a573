import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runScenario, summarize, toMarkdown, type Scenario } from './harness.ts';

describe('bench harness', () => {
  it('summarizes runs as median, range and spread', () => {
    assert.deepEqual(summarize([30, 10, 20]), { median: 20, min: 10, max: 30, spread: 1, runs: [30, 10, 20] });
    assert.equal(summarize([1, 2, 3, 4]).median, 2.5);
  });

  it('interleaves variants, and computes ratios of the subject against each baseline', async () => {
    const order: string[] = [];
    let call = 0;
    const scenario: Scenario = {
      name: 'toy',
      description: 'A scenario with made-up figures.',
      targets: ['at least twice the baseline'],
      variants: [
        { id: 'ours', label: 'Ours', subject: true },
        { id: 'theirs', label: 'Theirs', subject: false },
      ],
      setup: async () => ({
        cases: ['one'],
        run: async (variant) => {
          order.push(variant.id);
          call += 1;
          return [{ name: 'requests/s', value: variant.id === 'ours' ? 200 + call : 100, better: 'higher' }];
        },
        teardown: async () => {},
      }),
    };
    const result = await runScenario(scenario, { runs: 3, quick: true });
    assert.deepEqual(order, ['ours', 'theirs', 'ours', 'theirs', 'ours', 'theirs']);
    assert.equal(result.results.one!.ours!['requests/s']!.median, 203);
    assert.equal(result.ratios.one!['ours/theirs']!['requests/s'], 2.03);
    const markdown = toMarkdown(result, scenario);
    assert.match(markdown, /\| Ours \| 203 \(±/);
    assert.match(markdown, /ours\/theirs: requests\/s ×2\.03/);
    assert.match(markdown, /at least twice the baseline/);
  });
});
