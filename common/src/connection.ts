/** Relay-style connections: opaque cursors and page arguments, validated once. */
import { badInput } from './errors.ts';

export interface PageInfo {
  hasNextPage: boolean;
  endCursor: string | null;
  hasPreviousPage: boolean;
  startCursor: string | null;
}

export interface Connection<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: PageInfo;
}

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** Validates `first`; refuses what is out of range instead of clamping silently. */
export function pageSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw badInput(`first must be between 1 and ${MAX_PAGE_SIZE}.`);
  }
  return first;
}

export function encodeCursor(parts: readonly string[]): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

/** @throws BAD_USER_INPUT for a cursor this API did not issue. */
export function decodeCursor(cursor: string, length: number): string[] {
  try {
    const parts: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(parts) && parts.length === length && parts.every((part) => typeof part === 'string')) {
      return parts as string[];
    }
  } catch {
    // fall through to the refusal below
  }
  throw badInput('Invalid cursor.');
}

/**
 * Builds a connection from `rows`, fetched with one row more than `first` so
 * that `hasNextPage` needs no second query.
 */
export function toConnection<R, T>(
  rows: R[],
  first: number,
  cursorOf: (row: R) => string,
  nodeOf: (row: R) => T,
): Connection<T> {
  const page = rows.slice(0, first);
  const edges = page.map((row) => ({ cursor: cursorOf(row), node: nodeOf(row) }));
  return {
    edges,
    pageInfo: {
      hasNextPage: rows.length > first,
      endCursor: edges.at(-1)?.cursor ?? null,
      hasPreviousPage: false,
      startCursor: edges[0]?.cursor ?? null,
    },
  };
}
