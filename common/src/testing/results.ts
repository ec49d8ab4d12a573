/** Reading GraphQL results in tests. */

/** What `errors` holds in a result of graphql-js or of a gateway's response. */
interface WithErrors {
  errors?: readonly { message?: string; extensions?: Record<string, unknown> }[] | undefined;
}

/**
 * `value` as plain JSON: graphql-js builds results with null prototypes,
 * which `deepEqual` tells apart from object literals.
 */
export function plain<T = any>(value: unknown): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** The code (`extensions.code`) of a result's first error, undefined when it has none. */
export function codeOf(result: WithErrors): unknown {
  return result.errors?.[0]?.extensions?.code;
}

/** A result's first error as a client reads it: its message and extensions, as plain JSON. */
export function errorOf(result: WithErrors): { message?: string; extensions?: Record<string, unknown> } {
  const { message, extensions } = result.errors?.[0] ?? {};
  return plain({ message, extensions });
}
