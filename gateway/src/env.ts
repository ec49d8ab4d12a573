import { parseEnv, ZOptionalUrlSchema, ZRuntimeEnvSchema } from '@chat/common';
import { z } from 'zod';

const unset = (value: unknown) => (value === '' ? undefined : value);
const RATE = /^(\d+)\/(\d+)(s|m|h)$/;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000 } as const;

/** A fixed-window rate: at most `max` uses per `windowMs`. */
export interface RateSetting {
  max: number;
  windowMs: number;
}

/**
 * A rate limit: `N/<window>` (at most N uses per fixed window of `30s`, `5m`,
 * `1h`…) or `off`. Unset: the default in `security/config.ts`, which is off
 * under NODE_ENV=test only (the e2e suites run thousands of operations from
 * one address).
 */
export const ZRateSettingSchema = z.preprocess(
  unset,
  z
    .union([
      z.literal('off'),
      z
        .string()
        .regex(RATE, 'expected N/<window>, such as 20/5m (s, m or h), or off')
        .transform((value): RateSetting => {
          const [, max, amount, unit] = RATE.exec(value) as unknown as [string, string, string, keyof typeof UNIT_MS];
          return { max: Number(max), windowMs: Number(amount) * UNIT_MS[unit] };
        })
        .refine(({ max, windowMs }) => max >= 1 && windowMs >= 1_000 && windowMs <= 86_400_000, 'N must be at least 1, the window 1s to 24h'),
    ])
    .optional(),
);

/** A count limit: a positive number or `off`. Unset: as for {@link ZRateSettingSchema}. */
export const ZCountSettingSchema = z.preprocess(unset, z.union([z.literal('off'), z.coerce.number().int().min(1).max(1_000_000)]).optional());

/**
 * The gateway's configuration: the runtime's, plus where each subgraph runs.
 * A subgraph without a URL is mounted in this process (the embedded default).
 */
export const ZGatewayEnvSchema = ZRuntimeEnvSchema.extend({
  SUBGRAPH_USERS_URL: ZOptionalUrlSchema,
  SUBGRAPH_CHATS_URL: ZOptionalUrlSchema,
  SUBGRAPH_MESSAGES_URL: ZOptionalUrlSchema,
  SUBGRAPH_PRESENCE_URL: ZOptionalUrlSchema,
  SUBGRAPH_MEDIA_URL: ZOptionalUrlSchema,

  // Abuse limits (docs/SECURITY.md#rate-limits). Unset limits take the defaults in security/config.ts.
  /**
   * How many reverse proxies in front of the gateway append to X-Forwarded-For
   * and are trusted to: the client address is the entry that many hops from
   * the right. 0: X-Forwarded-For is ignored and the socket's peer is the client.
   */
  TRUST_PROXY: z.coerce.number().int().min(0).max(20).default(0),
  /** Prefix of the Redis keys that count rate limits and WebSocket connections, so deployments can share a Redis. */
  LIMITS_KEY_PREFIX: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, . _ -').default('chat'),
  /** Every root query and mutation field without a limit of its own, per field and caller (the viewer, else the client address). @default 300/1m */
  RATE_LIMIT_GENERAL: ZRateSettingSchema,
  /** `login` per client address. @default 20/5m */
  RATE_LIMIT_LOGIN_PER_IP: ZRateSettingSchema,
  /** `login` per username, from any address (guessing one account's password from many addresses). @default 10/5m */
  RATE_LIMIT_LOGIN_PER_USERNAME: ZRateSettingSchema,
  /** `register` per client address. @default 10/1h */
  RATE_LIMIT_REGISTER_PER_IP: ZRateSettingSchema,
  /** `refreshToken` per client address. @default 120/1m */
  RATE_LIMIT_REFRESH_TOKEN_PER_IP: ZRateSettingSchema,
  /** `confirmEmailChange` and `confirmPhoneChange`, each per client address. @default 20/5m */
  RATE_LIMIT_CONFIRM_CODE_PER_IP: ZRateSettingSchema,
  /** Open graphql-ws connections (and server-sent-event subscriptions) per user, across gateway instances. @default 10 */
  WS_MAX_CONNECTIONS_PER_USER: ZCountSettingSchema,
  /** Open graphql-ws connections (and server-sent-event subscriptions) per client address, across gateway instances. @default 100 */
  WS_MAX_CONNECTIONS_PER_IP: ZCountSettingSchema,
  /** Operations (subscriptions, and queries in flight) open at once on one connection. @default 50 */
  WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: ZCountSettingSchema,
  /** Live subscriptions per user, over all their connections (graphql-ws and server-sent events) and gateway instances. @default 100 */
  MAX_SUBSCRIPTIONS_PER_USER: ZCountSettingSchema,
  /** `subscribe` messages per connection. @default 100/1m */
  WS_SUBSCRIBE_RATE: ZRateSettingSchema,
  /** How long a new socket may wait before its `connection_init` (then 4408). */
  WS_CONNECTION_INIT_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(3_000),
  /** The largest WebSocket message accepted (then 1009). */
  WS_MAX_MESSAGE_BYTES: z.coerce.number().int().min(1_024).max(16 * 1024 * 1024).default(64 * 1024),
  /** How long a connection counts in Redis after its gateway stops renewing it (a crashed instance). */
  WS_CONNECTION_LEASE_SECONDS: z.coerce.number().int().min(2).max(3_600).default(60),
  /** Deepest selection (fragments count as a level). */
  MAX_QUERY_DEPTH: z.coerce.number().int().min(1).max(100).default(10),
  /** Estimated cost (graphql-armor: objects 2, scalars 1, ×1.5 per level, × a literal `first`/`last`). */
  MAX_QUERY_COST: z.coerce.number().int().min(1).default(50_000),
  /** Aliased fields in one document. */
  MAX_QUERY_ALIASES: z.coerce.number().int().min(0).max(1_000).default(15),
  /** Lexical tokens in one document. */
  MAX_QUERY_TOKENS: z.coerce.number().int().min(10).max(100_000).default(1_000),
  /** The largest HTTP request body accepted, counted as it arrives (then 413 and the connection closed); media uploads have their own, signed, limit. */
  MAX_REQUEST_BYTES: z.coerce.number().int().min(1_024).max(64 * 1024 * 1024).default(1024 * 1024),
});

export type GatewayEnv = z.infer<typeof ZGatewayEnvSchema>;

export const loadGatewayEnv = (env: NodeJS.ProcessEnv = process.env): GatewayEnv => parseEnv(ZGatewayEnvSchema, env);
