/** The committed schema/ must be what composition produces from the subgraphs' schema.graphql. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { composeSupergraph, SUBGRAPHS } from '../../../scripts/supergraph.ts';

const root = new URL('../../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

describe('supergraph', () => {
  const result = composeSupergraph();

  it('composes without errors', () => {
    assert.ok(!('errors' in result), 'errors' in result ? result.errors.map((error) => error.message).join('\n') : '');
  });

  it('is committed as composed (run npm run schema:compose after changing a schema.graphql)', () => {
    assert.ok('supergraphSdl' in result);
    assert.equal(read('schema/supergraph.graphql'), result.supergraphSdl);
    for (const { name } of SUBGRAPHS) {
      assert.equal(
        read(`schema/${name}.graphql`),
        read(`subgraphs/${name}/src/schema.graphql`),
        `schema/${name}.graphql`,
      );
    }
  });

  it('commits the API schema clients generate from, without federation internals', () => {
    assert.ok('apiSdl' in result);
    assert.equal(read('schema/api.graphql'), result.apiSdl, 'schema/api.graphql (npm run schema:compose)');
    assert.doesNotMatch(result.apiSdl, /join__|link__|@join|@link|127\.0\.0\.1/);
    for (const root of ['type Query {', 'type Mutation {', 'type Subscription {'])
      assert.ok(result.apiSdl.includes(root), root);
  });

  it('composes the five subgraphs', () => {
    assert.deepEqual(
      SUBGRAPHS.map(({ name }) => name),
      ['users', 'chats', 'messages', 'presence', 'media'],
    );
  });
});
