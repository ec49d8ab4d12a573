/**
 * The docs say what the code does: the README's variable tables and subgraph
 * table are the ones the models generate, and every list of subgraphs (the
 * folders, the gateway, the supergraph, the README, package.json) names the same ones.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { describeVariables, SUBGRAPH_NAMES, SUBGRAPH_PORTS } from '@chat/common/config';
import { generatedBlock, modelsWithReaders, renderConfigTables, renderSubgraphTable } from './config-doc.ts';
import { SUBGRAPH_MODELS, SUBGRAPH_URL_VARIABLES } from './env.ts';

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');
const readme = read('README.md');
const sorted = (names: Iterable<string>) => [...names].sort();
const STALE = 'the README is out of date with the code: run `npm run env:doc`';

/** Variable names in the first column of a Markdown table. */
const tableVariables = (text: string) => [...text.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \|/gm)].map((match) => match[1]!);

describe('the README and the code agree', () => {
  const modelVariables = modelsWithReaders().flatMap(({ model }) =>
    describeVariables(model).map((variable) => variable.name),
  );

  it('lists every variable a model reads, once, and none that no model reads', () => {
    assert.equal(new Set(modelVariables).size, modelVariables.length, 'a variable belongs to one model only');
    const block = generatedBlock(readme, 'config-tables');
    assert.ok(block, 'README.md has no config-tables block');
    assert.deepEqual(sorted(tableVariables(block)), sorted(modelVariables), STALE);
    assert.equal(block, renderConfigTables(), STALE);
  });

  it('links every model to docs that exist', () => {
    for (const { model } of modelsWithReaders()) {
      if (model.docs)
        assert.ok(existsSync(new URL(model.docs.split('#')[0]!, root)), `${model.title}: ${model.docs} does not exist`);
    }
  });

  it('names in .env.example only variables a model reads', () => {
    const named = [...read('.env.example').matchAll(/^#? ?([A-Z][A-Z0-9_]*)=/gm)].map((match) => match[1]!);
    assert.ok(named.length > 0);
    assert.deepEqual(
      named.filter((name) => !modelVariables.includes(name)),
      [],
    );
  });

  it('has one subgraph per folder, the gateway mounts each, and the supergraph composes each on its port', () => {
    const folders = readdirSync(new URL('subgraphs/', root), { withFileTypes: true }).filter((entry) =>
      entry.isDirectory(),
    );
    assert.deepEqual(sorted(folders.map((entry) => entry.name)), sorted(SUBGRAPH_NAMES));
    assert.deepEqual(sorted(Object.keys(SUBGRAPH_MODELS)), sorted(SUBGRAPH_NAMES));
    assert.deepEqual(sorted(Object.keys(SUBGRAPH_URL_VARIABLES)), sorted(SUBGRAPH_NAMES));
    const composed = [
      ...read('schema/supergraph.graphql').matchAll(/@join__graph\(name: "(\w+)", url: "http:\/\/[^:]+:(\d+)\//g),
    ];
    assert.deepEqual(
      sorted(composed.map(([, name, port]) => `${name}:${port}`)),
      sorted(SUBGRAPH_NAMES.map((name) => `${name}:${SUBGRAPH_PORTS[name]}`)),
    );
  });

  it('shows every subgraph in the README (its table and diagram) and in package.json', () => {
    assert.equal(generatedBlock(readme, 'subgraphs'), renderSubgraphTable(), STALE);
    const diagram = /```\n clients[\s\S]*?```/.exec(readme)?.[0] ?? '';
    const description = (JSON.parse(read('package.json')) as { description: string }).description;
    for (const name of SUBGRAPH_NAMES) {
      assert.match(diagram, new RegExp(`\\b${name}\\b`), `the README's diagram lacks ${name}`);
      assert.match(description, new RegExp(`\\b${name}\\b`), `package.json's description lacks ${name}`);
    }
  });
});
