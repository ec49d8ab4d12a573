/**
 * Rate limits on queries and mutations, at the gateway, through
 * @envelop/rate-limiter's `configByField` (the `@rateLimit` directive does
 * not survive composition). Three instances of the plugin, because it allows
 * one configuration per field and counts it in one bucket:
 *
 * - auth fields (`login`, `register`, `refreshToken`, `confirmEmailChange`,
 *   `confirmPhoneChange`) per client address, each with its own limit;
 * - `login` per username as well, whatever the address;
 * - every other root field per field and caller: the viewer when logged in,
 *   else the client address.
 *
 * Counting is the shared fixed-window limiter (`@chat/common` rate-limit:
 * in-process, or an atomic INCR in Redis, so the limits hold across gateway
 * instances). The plugin's own store contract is read-then-write, which lets
 * two instances both read N-1 and both admit; the store here counts at read
 * time, and answers the plugin in its own terms (no earlier call: allowed;
 * one earlier call, against a plugin limit of 1: refused).
 *
 * A refused operation executes nothing: the whole request is answered with
 * RATE_LIMITED errors carrying `retryAfterSeconds`, over HTTP with status
 * 429 and a Retry-After header (docs/SECURITY.md#rate-limits).
 */
import { apiError, type RateLimiter } from '@chat/common';
import { useRateLimiter, type ConfigByField, type Identity, type IdentifyFn } from '@envelop/rate-limiter';
import { getOperationAST, getVariableValues, GraphQLError, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { RateSetting } from '../env.ts';
import { gatewayError, withExtensions } from '../errors.ts';
import type { GatewayContext } from '../subgraph-hosts.ts';
import { addressBucket } from './client-address.ts';
import type { SecurityLimits } from './config.ts';

type Rates = SecurityLimits['rates'];

/** Mutations limited per client address, and the setting that limits each. */
export const ADDRESS_LIMITED_FIELDS = {
  login: 'loginPerIp',
  register: 'registerPerIp',
  refreshToken: 'refreshTokenPerIp',
  confirmEmailChange: 'confirmCodePerIp',
  confirmPhoneChange: 'confirmCodePerIp',
} as const satisfies Record<string, keyof Rates>;

type LimitedContext = Pick<GatewayContext, 'viewer' | 'clientIp'>;

const caller = (context: LimitedContext): string =>
  context.viewer ? `user:${context.viewer.id}` : `ip:${addressBucket(context.clientIp)}`;

/** A username as the users subgraph compares it; anything that could not be one is hashed into a bounded key. */
function usernameKey(args: Record<string, unknown>): string {
  const input = args.input as { username?: unknown } | undefined;
  const name = typeof input?.username === 'string' ? input.username.trim().toLowerCase() : '';
  return /^[a-z0-9_]{1,32}$/.test(name) ? name : `~${fnv1a(name)}`;
}

function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash.toString(16);
}

/**
 * The plugin's store, deciding with the shared limiter. `policyFor` names
 * the limit of a bucket (the plugin hands the store the bucket, not the limit).
 */
class SharedLimiterStore {
  readonly #refusedUntil = new Map<string, number>();

  constructor(
    private readonly limiter: RateLimiter,
    private readonly keyPrefix: string,
    private readonly policyFor: (identity: Identity) => RateSetting | undefined,
  ) {}

  key(identity: Pick<Identity, 'contextIdentity' | 'fieldIdentity'>): string {
    return `${this.keyPrefix}:gql:${identity.contextIdentity}:${identity.fieldIdentity}`;
  }

  async getForIdentity(identity: Identity): Promise<readonly number[]> {
    const policy = this.policyFor(identity);
    if (!policy) return [];
    const key = this.key(identity);
    const { allowed, retryAfterMs } = await this.limiter.hit(key, policy.max, policy.windowMs);
    if (allowed) return [];
    const now = Date.now();
    this.#refusedUntil.delete(key);
    this.#refusedUntil.set(key, now + retryAfterMs);
    // Bounded: the oldest hints go first (a missing hint falls back to the whole window).
    for (const old of this.#refusedUntil.keys()) {
      if (this.#refusedUntil.size <= 10_000) break;
      this.#refusedUntil.delete(old);
    }
    return [now];
  }

  /** Nothing: the use was counted when it was read. */
  setForIdentity(): void {}

  /** Whole seconds until the bucket's window ends (at least 1). */
  retryAfterSeconds(identity: Pick<Identity, 'contextIdentity' | 'fieldIdentity'>, windowMs: number): number {
    const until = this.#refusedUntil.get(this.key(identity));
    const ms = until === undefined ? windowMs : until - Date.now();
    return Math.max(1, Math.ceil(ms / 1_000));
  }
}

interface Refusal {
  field: string;
  retryAfterSeconds: number;
}

/**
 * The plugins, in order: the error shaper first (its `onExecuteDone` sees
 * what the limiters stopped), then the limiters, address limits first.
 */
export function rateLimitPlugins(rates: Rates, limiter: RateLimiter, keyPrefix: string): Plugin<LimitedContext>[] {
  const stopped = new WeakSet<object>();
  const instance = (
    identifyFn: IdentifyFn,
    configByField: ConfigByField[],
    policyFor: (identity: Identity) => RateSetting | undefined,
  ) => {
    if (configByField.length === 0) return [];
    const store = new SharedLimiterStore(limiter, keyPrefix, policyFor);
    return [
      withCoercedVariables(
        useRateLimiter({
          identifyFn,
          configByField,
          store,
          // The plugin passes nothing but this string on to its error: the retry hint travels in it.
          formatError: (input) =>
            JSON.stringify({
              field: input.fieldName,
              retryAfterSeconds: store.retryAfterSeconds(input as Identity, input.window),
            } satisfies Refusal),
          onRateLimitError: ({ context }) => stopped.add(context as object),
        }) as Plugin<LimitedContext>,
      ),
    ];
  };
  // The store decides with the real limit (`policyFor`); the plugin compares its answer (no earlier use, or one) with 1.
  const window = (rate: RateSetting) => ({ max: 1, window: `${rate.windowMs}ms` });
  const fieldOf = (identity: Identity) => identity.fieldIdentity.split(':', 1)[0] ?? '';

  const addressLimited = Object.entries(ADDRESS_LIMITED_FIELDS).flatMap(([field, setting]) => {
    const rate = rates[setting];
    return rate ? [{ field, rate }] : [];
  });
  const addressRates = new Map(addressLimited.map(({ field, rate }) => [field, rate]));
  const general = rates.general;
  const exempt = addressLimited.map(({ field }) => field);
  return [
    useRateLimitErrors(stopped),
    ...instance(
      () => 'ip',
      addressLimited.map(({ field, rate }) => ({
        type: 'Mutation',
        field,
        ...window(rate),
        identifyFn: (context) => addressBucket((context as LimitedContext).clientIp),
      })),
      (identity) => addressRates.get(fieldOf(identity)),
    ),
    ...(rates.loginPerUsername
      ? instance(
          () => 'username',
          [
            {
              type: 'Mutation',
              field: 'login',
              ...window(rates.loginPerUsername),
              identifyFn: (_, args) => usernameKey(args),
            },
          ],
          () => rates.loginPerUsername,
        )
      : []),
    ...(general
      ? instance(
          (context) => caller(context as LimitedContext),
          [
            // __typename costs nothing and is what health checks ask.
            { type: 'Query', field: '!(__typename)', ...window(general) },
            { type: 'Mutation', field: exempt.length ? `!(${exempt.join('|')})` : '*', ...window(general) },
          ],
          () => general,
        )
      : []),
  ];
}

/**
 * The limiter reads field arguments (the username of `login`) from the
 * request's variables as they arrive, and throws on a variable that only its
 * declared default makes valid; so it is given the variables coerced as
 * execution will see them. Variables that do not coerce are refused by
 * execution before any resolver runs: nothing to limit. Anything the limiter
 * throws becomes the operation's error rather than escaping (over graphql-ws
 * a throw from execute closes the socket).
 */
function withCoercedVariables(plugin: Plugin<LimitedContext>): Plugin<LimitedContext> {
  const onExecute = plugin.onExecute!;
  return {
    onExecute(payload) {
      const { args } = payload;
      const operation = getOperationAST(args.document, args.operationName);
      if (!operation) return;
      const variables = getVariableValues(args.schema, operation.variableDefinitions ?? [], args.variableValues ?? {}, {
        maxErrors: 1,
      });
      if (variables.errors) return;
      const fail = (error: unknown) =>
        payload.setResultAndStopExecution({
          errors: [
            error instanceof GraphQLError ? error : apiError('BAD_USER_INPUT', 'The arguments could not be read.'),
          ],
        });
      try {
        const result = onExecute({ ...payload, args: { ...args, variableValues: variables.coerced } });
        return result instanceof Promise ? result.catch(fail) : result;
      } catch (error) {
        fail(error);
      }
    },
  };
}

/** Turns what the limiters stopped into RATE_LIMITED errors (and, over HTTP, a 429 with Retry-After). */
function useRateLimitErrors(stopped: WeakSet<object>): Plugin<LimitedContext> {
  return {
    onExecute({ args }) {
      return {
        onExecuteDone({ result, setResult }) {
          const context = args.contextValue as object;
          if (!stopped.has(context) || !('errors' in result) || !result.errors) return;
          stopped.delete(context);
          const overHttp = 'request' in context && Boolean((context as { request?: unknown }).request);
          const refusals = result.errors.map((error) => ({ error, refusal: readRefusal(error.message) }));
          const retryAfter = Math.max(...refusals.map(({ refusal }) => refusal.retryAfterSeconds));
          const errors = refusals.map(({ error, refusal }) =>
            gatewayError(
              'RATE_LIMITED',
              `Too many ${refusal.field} requests; retry in ${refusal.retryAfterSeconds} s.`,
              {
                nodes: error.nodes,
                extensions: {
                  retryAfterSeconds: refusal.retryAfterSeconds,
                  ...(overHttp ? { http: { status: 429, headers: { 'Retry-After': String(retryAfter) } } } : {}),
                },
              },
            ),
          );
          setResult({ errors } satisfies ExecutionResult);
        },
      };
    },
  };
}

function readRefusal(message: string): Refusal {
  try {
    const { field, retryAfterSeconds } = JSON.parse(message) as Partial<Refusal>;
    if (typeof field === 'string' && typeof retryAfterSeconds === 'number') return { field, retryAfterSeconds };
  } catch {
    // not one of ours: fall through
  }
  return { field: 'GraphQL', retryAfterSeconds: 60 };
}

/**
 * A RATE_LIMITED refusal raised in a subgraph (searches, contact-change codes) answers over HTTP as the
 * gateway's own limits do: `Retry-After` with the longest `retryAfterSeconds`, and 429 when the limit refused
 * the whole operation (every error RATE_LIMITED, every root field null: the data goes, as nothing ran). When
 * other fields of the operation have data, the status stays 200 (the GraphQL-over-HTTP spec: data means 2xx)
 * and only the header says when to retry.
 */
export function useSubgraphRateLimitStatus(): Plugin<LimitedContext> {
  return {
    onExecute({ args }) {
      const context = args.contextValue as { request?: unknown };
      if (!context.request) return; // graphql-ws: no HTTP status; the error carries retryAfterSeconds
      return {
        onExecuteDone({ result, setResult }) {
          if (!('errors' in result) || !result.errors) return;
          const limited = result.errors.filter(
            (error) => error.extensions?.code === 'RATE_LIMITED' && error.extensions.http === undefined,
          );
          const hints = limited.map((error) => Number(error.extensions.retryAfterSeconds));
          if (limited.length === 0 || !hints.every((hint) => Number.isInteger(hint) && hint > 0)) return;
          const whole =
            limited.length === result.errors.length &&
            (result.data === null || result.data === undefined || Object.values(result.data).every((v) => v === null));
          const http = { ...(whole ? { status: 429 } : {}), headers: { 'Retry-After': String(Math.max(...hints)) } };
          const errors = result.errors.map((error) =>
            limited.includes(error) ? withExtensions(error, { ...error.extensions, http }) : error,
          );
          setResult(whole ? { errors } : { ...result, errors });
        },
      };
    },
  };
}
