import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildSchema, graphql, GraphQLScalarType } from 'graphql';
import { MAX_DATE_TIME, MIN_DATE_TIME, parseDateTime } from './date-time.ts';
import { DateTimeScalar } from './scalars.ts';

describe('parseDateTime', () => {
  it('reads ISO-8601 dates and date-times, UTC unless an offset is given', () => {
    assert.equal(parseDateTime('2026-11-25')?.toISOString(), '2026-11-25T00:00:00.000Z');
    assert.equal(parseDateTime('2026-11-25T10:00')?.toISOString(), '2026-11-25T10:00:00.000Z');
    assert.equal(parseDateTime('2026-11-25T10:00:00.5')?.toISOString(), '2026-11-25T10:00:00.500Z');
    assert.equal(parseDateTime('2026-11-25T10:00:00+0100')?.toISOString(), '2026-11-25T09:00:00.000Z');
    assert.equal(parseDateTime('2024-02-29')?.toISOString(), '2024-02-29T00:00:00.000Z');
  });

  it('accepts the bounds of the stores and nothing beyond them', () => {
    assert.equal(parseDateTime('0001-01-01')?.getTime(), MIN_DATE_TIME.getTime());
    assert.equal(parseDateTime('9999-12-31T23:59:59.999Z')?.getTime(), MAX_DATE_TIME.getTime());
    for (const value of [
      '0000-01-01',
      '0000-12-31T23:59:59.999Z',
      '0001-01-01T00:30:00+01:00',
      '9999-12-31T23:59:59.999-01:00',
      '-271821-04-19',
      '+275760-09-13',
      '+999999-01-01',
      '10000-01-01',
    ]) {
      assert.equal(parseDateTime(value), undefined, value);
    }
  });

  it('refuses what is not an ISO-8601 date, or not a day of the calendar', () => {
    for (const value of [
      '',
      'garbage',
      'March 7, 2026',
      '1764000000000',
      '2026-02-29',
      '2026-04-31',
      '2026-13-01',
      '2026-00-10',
      '2026-11-25T25:00:00Z',
      '2026-11-25 10:00',
    ]) {
      assert.equal(parseDateTime(value), undefined, value);
    }
  });
});

describe('DateTimeScalar', () => {
  const schema = buildSchema('scalar DateTime\ntype Query { echo(at: DateTime!): DateTime! }');
  Object.assign(schema.getType('DateTime') as GraphQLScalarType, {
    parseValue: DateTimeScalar.parseValue,
    parseLiteral: DateTimeScalar.parseLiteral,
    serialize: DateTimeScalar.serialize,
  });
  const rootValue = { echo: ({ at }: { at: Date }) => at };

  it('refuses an out-of-range variable and literal alike with BAD_USER_INPUT', async () => {
    for (const at of ['0000-01-01', '+275760-09-13', '', 'garbage']) {
      const byVariable = await graphql({
        schema,
        rootValue,
        source: 'query ($at: DateTime!) { echo(at: $at) }',
        variableValues: { at },
      });
      assert.equal(
        byVariable.errors?.[0]?.extensions.code,
        'BAD_USER_INPUT',
        `variable ${at}: ${JSON.stringify(byVariable.errors)}`,
      );
      const byLiteral = await graphql({ schema, rootValue, source: `{ echo(at: ${JSON.stringify(at)}) }` });
      assert.equal(
        byLiteral.errors?.[0]?.extensions.code,
        'BAD_USER_INPUT',
        `literal ${at}: ${JSON.stringify(byLiteral.errors)}`,
      );
    }
    const notAString = await graphql({ schema, rootValue, source: '{ echo(at: 42) }' });
    assert.equal(notAString.errors?.[0]?.extensions.code, 'BAD_USER_INPUT');
  });

  it('accepts an ISO-8601 time within range', async () => {
    const result = await graphql({ schema, rootValue, source: '{ echo(at: "2026-11-25T10:00:00+01:00") }' });
    assert.equal(result.data?.echo, '2026-11-25T09:00:00.000Z');
  });
});
