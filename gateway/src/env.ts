/**
 * The gateway's configuration: its own models (where each subgraph runs, the
 * limits against abuse), the runtime's, and the models of every subgraph it
 * mounts in this process (the embedded default mounts them all).
 */
import {
  defineConfigModel,
  loadConfig,
  runtimeModels,
  SUBGRAPH_NAMES,
  unsetIfEmpty,
  ZOptionalUrlSchema,
  type ConfigOf,
  type LoadedConfig,
  type SubgraphName,
} from '@chat/common/config';
import { CHATS_MODELS } from '@chat/subgraph-chats/env';
import { MEDIA_MODELS } from '@chat/subgraph-media/env';
import { MESSAGES_MODELS } from '@chat/subgraph-messages/env';
import { PRESENCE_MODELS } from '@chat/subgraph-presence/env';
import { USERS_MODELS } from '@chat/subgraph-users/env';
import { z } from 'zod';
import { COUNTING_DEFAULTS, securityLimits } from './security/config.ts';

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
  unsetIfEmpty,
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
        .refine(
          ({ max, windowMs }) => max >= 1 && windowMs >= 1_000 && windowMs <= 86_400_000,
          'N must be at least 1, the window 1s to 24h',
        ),
    ])
    .optional(),
);

/** A count limit: a positive number or `off`. Unset: as for {@link ZRateSettingSchema}. */
export const ZCountSettingSchema = z.preprocess(
  unsetIfEmpty,
  z.union([z.literal('off'), z.coerce.number().int().min(1).max(1_000_000)]).optional(),
);

/** `N/<window>` as an operator writes it. */
function formatRate({ max, windowMs }: RateSetting): string {
  if (windowMs % UNIT_MS.h === 0) return `${max}/${windowMs / UNIT_MS.h}h`;
  if (windowMs % UNIT_MS.m === 0) return `${max}/${windowMs / UNIT_MS.m}m`;
  return `${max}/${windowMs / UNIT_MS.s}s`;
}

/** A counting limit's description, with its default from `COUNTING_DEFAULTS` (one source for both). */
function counting(key: keyof typeof COUNTING_DEFAULTS, text: string): string {
  const value = COUNTING_DEFAULTS[key];
  const shown = typeof value === 'number' ? String(value) : formatRate(value);
  return `${text}. Default: \`${shown}\` (off under NODE_ENV=test unless set); \`off\` turns it off`;
}

/** The gateway's limits against abuse (docs/SECURITY.md#rate-limits). */
export const SecurityVariables = z.object({
  TRUST_PROXY: z.coerce
    .number()
    .int()
    .min(0)
    .max(20)
    .default(0)
    .describe(
      'How many reverse proxies in front of the gateway append to X-Forwarded-For and are trusted to: the client ' +
        'address is the entry that many hops from the right. 0: X-Forwarded-For is ignored and the socket peer is ' +
        'the client',
    ),
  LIMITS_KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, . _ -')
    .default('chat')
    .describe(
      'Prefix of the Redis keys that count rate limits and WebSocket connections, so deployments can share a Redis',
    ),
  RATE_LIMIT_GENERAL: ZRateSettingSchema.describe(
    counting(
      'RATE_LIMIT_GENERAL',
      'Every root query and mutation field without a limit of its own, per field and caller (the viewer, else the ' +
        'client address)',
    ),
  ),
  RATE_LIMIT_LOGIN_PER_IP: ZRateSettingSchema.describe(
    counting('RATE_LIMIT_LOGIN_PER_IP', '`login` per client address'),
  ),
  RATE_LIMIT_LOGIN_PER_USERNAME: ZRateSettingSchema.describe(
    counting('RATE_LIMIT_LOGIN_PER_USERNAME', '`login` per username, from any address'),
  ),
  RATE_LIMIT_REGISTER_PER_IP: ZRateSettingSchema.describe(
    counting('RATE_LIMIT_REGISTER_PER_IP', '`register` per client address'),
  ),
  RATE_LIMIT_REFRESH_TOKEN_PER_IP: ZRateSettingSchema.describe(
    counting('RATE_LIMIT_REFRESH_TOKEN_PER_IP', '`refreshToken` per client address'),
  ),
  RATE_LIMIT_CONFIRM_CODE_PER_IP: ZRateSettingSchema.describe(
    counting(
      'RATE_LIMIT_CONFIRM_CODE_PER_IP',
      '`confirmEmailChange` and `confirmPhoneChange`, each per client address',
    ),
  ),
  WS_MAX_CONNECTIONS_PER_USER: ZCountSettingSchema.describe(
    counting(
      'WS_MAX_CONNECTIONS_PER_USER',
      'Open graphql-ws connections (and server-sent-event subscriptions) per user, across gateway instances',
    ),
  ),
  WS_MAX_CONNECTIONS_PER_IP: ZCountSettingSchema.describe(
    counting(
      'WS_MAX_CONNECTIONS_PER_IP',
      'Open graphql-ws connections (and server-sent-event subscriptions) per client address, across gateway instances',
    ),
  ),
  WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: ZCountSettingSchema.describe(
    counting(
      'WS_MAX_SUBSCRIPTIONS_PER_CONNECTION',
      'Operations (subscriptions, and queries in flight) open at once on one connection',
    ),
  ),
  MAX_SUBSCRIPTIONS_PER_USER: ZCountSettingSchema.describe(
    counting(
      'MAX_SUBSCRIPTIONS_PER_USER',
      'Live subscriptions per user, over all their connections (graphql-ws and server-sent events) and gateway ' +
        'instances',
    ),
  ),
  WS_SUBSCRIBE_RATE: ZRateSettingSchema.describe(counting('WS_SUBSCRIBE_RATE', '`subscribe` messages per connection')),
  WS_CONNECTION_INIT_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(100)
    .max(60_000)
    .default(3_000)
    .describe('How long a new socket may wait before its `connection_init` (then 4408)'),
  WS_MAX_MESSAGE_BYTES: z.coerce
    .number()
    .int()
    .min(1_024)
    .max(16 * 1024 * 1024)
    .default(64 * 1024)
    .describe('The largest WebSocket message accepted (then 1009)'),
  WS_CONNECTION_LEASE_SECONDS: z.coerce
    .number()
    .int()
    .min(2)
    .max(3_600)
    .default(60)
    .describe('How long a connection counts in Redis after its gateway stops renewing it (a crashed instance)'),
  MAX_QUERY_DEPTH: z.coerce
    .number()
    .int()
    .min(1)
    .max(100)
    .default(10)
    .describe('Deepest selection (fragments count as a level)'),
  MAX_QUERY_COST: z.coerce
    .number()
    .int()
    .min(1)
    .default(50_000)
    .describe('Estimated cost (graphql-armor: objects 2, scalars 1, ×1.5 per level, × a literal `first`/`last`)'),
  MAX_QUERY_ALIASES: z.coerce.number().int().min(0).max(1_000).default(15).describe('Aliased fields in one document'),
  MAX_QUERY_TOKENS: z.coerce
    .number()
    .int()
    .min(10)
    .max(100_000)
    .default(1_000)
    .describe('Lexical tokens in one document'),
  MAX_REQUEST_BYTES: z.coerce
    .number()
    .int()
    .min(1_024)
    .max(64 * 1024 * 1024)
    .default(1024 * 1024)
    .describe(
      'The largest HTTP request body accepted, counted as it arrives (then 413 and the connection closed); media ' +
        'uploads have their own, signed, limit',
    ),
});

export type SecurityValues = z.output<typeof SecurityVariables>;

export const SecurityModel = defineConfigModel({
  title: 'Limits against abuse (gateway)',
  docs: 'docs/SECURITY.md#rate-limits',
  variables: SecurityVariables,
  read: (values, context) => securityLimits(values, context.nodeEnv),
});

/** The variable that names where each subgraph runs. */
export const SUBGRAPH_URL_VARIABLES = {
  users: 'SUBGRAPH_USERS_URL',
  chats: 'SUBGRAPH_CHATS_URL',
  messages: 'SUBGRAPH_MESSAGES_URL',
  presence: 'SUBGRAPH_PRESENCE_URL',
  media: 'SUBGRAPH_MEDIA_URL',
} as const satisfies Record<SubgraphName, string>;

const subgraphUrl = (name: SubgraphName) =>
  ZOptionalUrlSchema.describe(
    `The gateway reaches the ${name} subgraph at this URL (its own process) instead of mounting it`,
  );

/** Where each subgraph runs: a URL, or mounted in the gateway's process (unset, the embedded default). */
export const HostingModel = defineConfigModel({
  title: 'Subgraph hosting (gateway)',
  variables: z.object({
    SUBGRAPH_USERS_URL: subgraphUrl('users'),
    SUBGRAPH_CHATS_URL: subgraphUrl('chats'),
    SUBGRAPH_MESSAGES_URL: subgraphUrl('messages'),
    SUBGRAPH_PRESENCE_URL: subgraphUrl('presence'),
    SUBGRAPH_MEDIA_URL: subgraphUrl('media'),
    JWKS_URL: ZOptionalUrlSchema.describe(
      'Where a gateway without the users subgraph in its process reads the public keys. Default: ' +
        "`/.well-known/jwks.json` at `SUBGRAPH_USERS_URL`'s origin",
    ),
  }),
  read: (values) => {
    const urls = Object.fromEntries(
      SUBGRAPH_NAMES.map((name) => [name, values[SUBGRAPH_URL_VARIABLES[name]]]),
    ) as Record<SubgraphName, string | undefined>;
    return {
      /** Each subgraph's URL; undefined: mounted in this process. */
      urls,
      mounted: SUBGRAPH_NAMES.filter((name) => !urls[name]),
      /** Unset: main.ts reads the keys at the users subgraph's origin, when it runs elsewhere. */
      jwksUrl: values.JWKS_URL,
    };
  },
});

/** The models of each subgraph, which the gateway reads when it mounts that subgraph. */
export const SUBGRAPH_MODELS = {
  users: USERS_MODELS,
  chats: CHATS_MODELS,
  messages: MESSAGES_MODELS,
  presence: PRESENCE_MODELS,
  media: MEDIA_MODELS,
} as const;

/** What every gateway reads, whatever it mounts. */
export function gatewayCoreModels(mounted: readonly SubgraphName[]) {
  return {
    ...runtimeModels({ issuesTokens: mounted.includes('users') }),
    hosting: HostingModel,
    security: SecurityModel,
  };
}

type SubgraphConfigs = ConfigOf<typeof USERS_MODELS> &
  ConfigOf<typeof CHATS_MODELS> &
  ConfigOf<typeof MESSAGES_MODELS> &
  ConfigOf<typeof PRESENCE_MODELS> &
  ConfigOf<typeof MEDIA_MODELS>;

/**
 * The gateway's config: its own sections and the runtime's, and one section
 * per model of each mounted subgraph (absent for a subgraph reached by URL).
 */
export type GatewayConfig = LoadedConfig<ReturnType<typeof gatewayCoreModels>> & Partial<SubgraphConfigs>;

/** Which subgraphs a gateway started with `env` mounts: those without a URL. */
export function mountedSubgraphs(env: NodeJS.ProcessEnv): SubgraphName[] {
  return SUBGRAPH_NAMES.filter((name) => !env[SUBGRAPH_URL_VARIABLES[name]]);
}

/**
 * Reads the gateway's models and those of every subgraph it mounts.
 * @throws ConfigError listing every problem.
 */
export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const mounted = mountedSubgraphs(env);
  const models = Object.assign(gatewayCoreModels(mounted), ...mounted.map((name) => SUBGRAPH_MODELS[name]));
  return loadConfig(models, env) as GatewayConfig;
}
