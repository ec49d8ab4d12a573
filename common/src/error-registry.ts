/**
 * The machinery of the one error registry: every `extensions.code` and
 * every `extensions.reason` a client can get, each with what it means and
 * the HTTP status it comes with. Each package declares its own (common:
 * errors.ts; the gateway and each subgraph: their `src/errors.ts`); the
 * gateway's error catalog registers them all, docs/ERRORS.md is generated
 * from it (`npm run errors:doc`) and a test fails when the two drift.
 */
import { GraphQLError } from 'graphql';

/** A code of `extensions.code`. */
export interface ErrorCodeDefinition {
  description: string;
  /** The HTTP status of an answer that this error refuses as a whole. */
  httpStatus: number;
}

/** A reason of `extensions.reason`, always under one code. */
export interface ErrorReasonDefinition<Code extends string = string> {
  code: Code;
  description: string;
  /** When it differs from its code's. */
  httpStatus?: number;
}

/** What one package declares: codes it adds, reasons it gives. */
export interface ErrorSet {
  owner: string;
  codes?: Readonly<Record<string, ErrorCodeDefinition>>;
  reasons?: Readonly<Record<string, ErrorReasonDefinition>>;
}

/** One row of the registry: a code, or a reason under its code. */
export interface ErrorEntry {
  owner: string;
  code: string;
  reason?: string;
  description: string;
  httpStatus: number;
}

/**
 * A factory of GraphQL errors with `extensions.reason` from `reasons` and
 * `extensions.code` from the reason's entry: an unknown reason is a type error.
 * @example
 * const refuse = reasonErrors(USERS_REASONS);
 * throw refuse('USERNAME_TAKEN', 'That username is taken.', { argument: 'input.username' });
 */
export function reasonErrors<Reasons extends Readonly<Record<string, ErrorReasonDefinition>>>(reasons: Reasons) {
  return (reason: keyof Reasons & string, message: string, extensions: Record<string, unknown> = {}): GraphQLError =>
    new GraphQLError(message, { extensions: { ...extensions, reason, code: reasons[reason]!.code } });
}

const NAME = /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/;

/** Every package's codes and reasons, checked as they are registered. */
export class ErrorRegistry {
  readonly #codes = new Map<string, ErrorEntry>();
  readonly #reasons: ErrorEntry[] = [];

  /** @throws on a code registered twice, a malformed name, or a reason twice in one package */
  register({ owner, codes = {}, reasons = {} }: ErrorSet): this {
    for (const [code, { description, httpStatus }] of Object.entries(codes)) {
      if (!NAME.test(code)) throw new Error(`${owner}: the code ${code} is not in SCREAMING_SNAKE_CASE`);
      const earlier = this.#codes.get(code);
      if (earlier) throw new Error(`${owner}: the code ${code} is registered by ${earlier.owner} already`);
      this.#codes.set(code, { owner, code, description, httpStatus });
    }
    for (const [reason, { code, description, httpStatus }] of Object.entries(reasons)) {
      if (!NAME.test(reason)) throw new Error(`${owner}: the reason ${reason} is not in SCREAMING_SNAKE_CASE`);
      if (this.#reasons.some((entry) => entry.owner === owner && entry.reason === reason)) {
        throw new Error(`${owner}: the reason ${reason} is registered twice`);
      }
      this.#reasons.push({ owner, code, reason, description, httpStatus: httpStatus ?? Number.NaN });
    }
    return this;
  }

  /**
   * Codes by name, each followed by its reasons (by name, then package); a
   * reason without its own status has its code's.
   * @throws for a reason under a code nobody registered
   */
  entries(): ErrorEntry[] {
    const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    const codes = [...this.#codes.values()].sort((a, b) => byName(a.code, b.code));
    for (const entry of this.#reasons) {
      if (!this.#codes.has(entry.code)) {
        throw new Error(`${entry.owner}: the reason ${entry.reason} is under ${entry.code}, which nobody registers`);
      }
    }
    return codes.flatMap((code) => [
      code,
      ...this.#reasons
        .filter((entry) => entry.code === code.code)
        .sort((a, b) => byName(a.reason!, b.reason!) || byName(a.owner, b.owner))
        .map((entry) => (Number.isNaN(entry.httpStatus) ? { ...entry, httpStatus: code.httpStatus } : entry)),
    ]);
  }

  /** Whether `reason` is registered (under `code`, when given). */
  hasReason(reason: string, code?: string): boolean {
    return this.#reasons.some((entry) => entry.reason === reason && (code === undefined || entry.code === code));
  }
}
