import { readFileSync } from 'node:fs';
import { GraphQLScalarType, Kind, parse, type DocumentNode } from 'graphql';
import { MAX_DATE_TIME, MIN_DATE_TIME, parseDateTime } from './date-time.ts';
import { badInput, commonError } from './errors.ts';

const INVALID_DATE_TIME = `DateTime must be an ISO-8601 string between ${MIN_DATE_TIME.toISOString()} and ${MAX_DATE_TIME.toISOString()}.`;

/** A DateTime from a client: BAD_USER_INPUT (reason INVALID_DATE_TIME) unless ISO-8601 and within the stores' range. */
function fromClient(value: unknown): Date {
  const date = typeof value === 'string' ? parseDateTime(value) : undefined;
  if (!date) throw commonError('INVALID_DATE_TIME', INVALID_DATE_TIME);
  return date;
}

function toDate(value: unknown): Date {
  const date = value instanceof Date ? value : typeof value === 'string' ? new Date(value) : new Date(Number.NaN);
  if (Number.isNaN(date.getTime())) throw badInput('DateTime must be an ISO-8601 string.');
  return date;
}

/** ISO-8601 UTC strings on the wire, Date in resolvers. */
export const DateTimeScalar = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  serialize: (value) => toDate(value).toISOString(),
  parseValue: (value) => fromClient(value),
  parseLiteral: (ast) => fromClient(ast.kind === Kind.STRING ? ast.value : undefined),
});

/** Reads a subgraph's schema.graphql next to the calling module. */
export function loadTypeDefs(url: URL): DocumentNode {
  return parse(readFileSync(url, 'utf8'));
}
