/**
 * The gateway's abuse limits, resolved from its environment: what each
 * setting in `env.ts` means when it is unset, and which limits are off.
 * Decisions and reasons: docs/SECURITY.md#rate-limits.
 */
import type { ConfigContext } from '@chat/common/config';
import type { RateSetting, SecurityValues } from '../env.ts';

/**
 * The limits that count uses (rates and concurrent connections), applied
 * when their setting is unset. Under NODE_ENV=test an unset one is off
 * instead: the end-to-end suites run thousands of operations from 127.0.0.1,
 * and a suite that tests a limit sets it. Each key is a variable of the
 * security model (`pick` below reads it from its values).
 */
export const COUNTING_DEFAULTS = {
  RATE_LIMIT_GENERAL: { max: 300, windowMs: 60_000 },
  RATE_LIMIT_LOGIN_PER_IP: { max: 20, windowMs: 5 * 60_000 },
  RATE_LIMIT_LOGIN_PER_USERNAME: { max: 10, windowMs: 5 * 60_000 },
  RATE_LIMIT_REGISTER_PER_IP: { max: 10, windowMs: 60 * 60_000 },
  RATE_LIMIT_REFRESH_TOKEN_PER_IP: { max: 120, windowMs: 60_000 },
  RATE_LIMIT_CONFIRM_CODE_PER_IP: { max: 20, windowMs: 5 * 60_000 },
  WS_MAX_CONNECTIONS_PER_USER: 10,
  WS_MAX_CONNECTIONS_PER_IP: 100,
  WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: 50,
  MAX_SUBSCRIPTIONS_PER_USER: 100,
  WS_SUBSCRIBE_RATE: { max: 100, windowMs: 60_000 },
} as const satisfies Record<string, RateSetting | number>;

/** A limit that is off is `undefined`. */
export interface SecurityLimits {
  /** NODE_ENV=production: introspection refused (GraphiQL is off there too, in server.ts). */
  production: boolean;
  /** Trusted X-Forwarded-For hops. */
  trustProxy: number;
  /** Prefix of every Redis key the limits use. */
  keyPrefix: string;
  rates: {
    general?: RateSetting;
    loginPerIp?: RateSetting;
    loginPerUsername?: RateSetting;
    registerPerIp?: RateSetting;
    refreshTokenPerIp?: RateSetting;
    confirmCodePerIp?: RateSetting;
  };
  ws: {
    maxConnectionsPerUser?: number;
    maxConnectionsPerIp?: number;
    maxSubscriptionsPerConnection?: number;
    /** Live subscriptions per user, over every connection, transport and instance. */
    maxSubscriptionsPerUser?: number;
    subscribeRate?: RateSetting;
    initTimeoutMs: number;
    maxMessageBytes: number;
    leaseMs: number;
  };
  document: { maxDepth: number; maxCost: number; maxAliases: number; maxTokens: number };
  /** The largest HTTP request body accepted, in bytes. */
  maxRequestBytes: number;
}

/** The limits the security model's values (`env.ts`) set, under `nodeEnv`. */
export function securityLimits(env: SecurityValues, nodeEnv: ConfigContext['nodeEnv']): SecurityLimits {
  const pick = <K extends keyof typeof COUNTING_DEFAULTS>(
    key: K,
  ): Exclude<SecurityValues[K], 'off'> | (typeof COUNTING_DEFAULTS)[K] | undefined => {
    const value = env[key];
    if (value === 'off') return undefined;
    if (value !== undefined) return value as Exclude<SecurityValues[K], 'off'>;
    return nodeEnv === 'test' ? undefined : COUNTING_DEFAULTS[key];
  };
  return {
    production: nodeEnv === 'production',
    trustProxy: env.TRUST_PROXY,
    keyPrefix: env.LIMITS_KEY_PREFIX,
    rates: {
      general: pick('RATE_LIMIT_GENERAL'),
      loginPerIp: pick('RATE_LIMIT_LOGIN_PER_IP'),
      loginPerUsername: pick('RATE_LIMIT_LOGIN_PER_USERNAME'),
      registerPerIp: pick('RATE_LIMIT_REGISTER_PER_IP'),
      refreshTokenPerIp: pick('RATE_LIMIT_REFRESH_TOKEN_PER_IP'),
      confirmCodePerIp: pick('RATE_LIMIT_CONFIRM_CODE_PER_IP'),
    },
    ws: {
      maxConnectionsPerUser: pick('WS_MAX_CONNECTIONS_PER_USER'),
      maxConnectionsPerIp: pick('WS_MAX_CONNECTIONS_PER_IP'),
      maxSubscriptionsPerConnection: pick('WS_MAX_SUBSCRIPTIONS_PER_CONNECTION'),
      maxSubscriptionsPerUser: pick('MAX_SUBSCRIPTIONS_PER_USER'),
      subscribeRate: pick('WS_SUBSCRIBE_RATE'),
      initTimeoutMs: env.WS_CONNECTION_INIT_TIMEOUT_MS,
      maxMessageBytes: env.WS_MAX_MESSAGE_BYTES,
      leaseMs: env.WS_CONNECTION_LEASE_SECONDS * 1_000,
    },
    document: {
      maxDepth: env.MAX_QUERY_DEPTH,
      maxCost: env.MAX_QUERY_COST,
      maxAliases: env.MAX_QUERY_ALIASES,
      maxTokens: env.MAX_QUERY_TOKENS,
    },
    maxRequestBytes: env.MAX_REQUEST_BYTES,
  };
}
