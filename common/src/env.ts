/**
 * Typed configuration from the environment, validated once at boot: every
 * problem is reported together and the process refuses to start.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { JSONWebKeySet, JWK } from 'jose';
import { z } from 'zod';
import { storeCredentialProblems } from './store-credentials.ts';

/** An optional URL setting; an empty value counts as unset. */
export const ZOptionalUrlSchema = z.preprocess((value) => (value === '' ? undefined : value), z.string().url().optional());

export const ZRuntimeEnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  /** Embedded mode keeps its database and generated secrets here. */
  DATA_DIR: z.string().default('./.data'),
  /** A Postgres URL switches relational data from embedded PGlite to that server. */
  DATABASE_URL: ZOptionalUrlSchema,
  /** A Redis URL switches pub/sub from in-process to Redis. */
  REDIS_URL: ZOptionalUrlSchema,
  /**
   * The access-token signing keys: a JWK set (JSON) of private Ed25519 keys,
   * each with a distinct `kid`. Needed where the users subgraph runs (it
   * issues tokens); everyone else verifies with the public keys (JWKS).
   */
  JWT_PRIVATE_KEYS: z.string().optional(),
  /** The `kid` that signs new tokens. @default the last key of JWT_PRIVATE_KEYS */
  JWT_SIGNING_KEY_ID: z.string().optional(),
  /**
   * Where a gateway without the users subgraph in its process reads the
   * public keys. @default `/.well-known/jwks.json` at SUBGRAPH_USERS_URL's origin
   */
  JWKS_URL: ZOptionalUrlSchema,
  /**
   * The gateway's key for the identity it forwards to subgraphs (HS256; at
   * least 32 characters), shared by the gateway and every subgraph.
   */
  INTERNAL_TOKEN_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /** Mixed into every password hash and kept outside the database (at least 32 characters). Needed where the users subgraph runs. */
  PASSWORD_PEPPER: z.string().min(32, 'must be at least 32 characters').optional(),
  /** The previous pepper while passwords move to a new one: accepted at login, and the password re-hashed with the current one. */
  PASSWORD_PEPPER_PREVIOUS: z.string().min(32, 'must be at least 32 characters').optional(),
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(10).max(86_400).default(900),
  /**
   * This process's Snowflake worker number (0-1023), e.g. a StatefulSet pod
   * ordinal. Unset: any number no other live process holds. Either way the
   * number is locked in Postgres while the process lives.
   */
  WORKER_ID: z.coerce.number().int().min(0).max(1023).optional(),
  /** Comma-separated `host:port` list: the message log becomes Kafka (distributed mode). */
  KAFKA_BROKERS: z.preprocess((value) => (value === '' ? undefined : value), z.string().optional()),
  /** Prefix of the Kafka topics and consumer groups, so deployments can share a cluster. */
  KAFKA_TOPIC_PREFIX: z.string().regex(/^[A-Za-z0-9._-]*$/).default('chat'),
  KAFKA_PARTITIONS: z.coerce.number().int().min(1).max(1024).default(8),
  KAFKA_REPLICATION_FACTOR: z.coerce.number().int().min(1).max(9).default(1),
  /** SASL for Kafka: unset for none (development only), else the mechanism; KAFKA_USERNAME and KAFKA_PASSWORD are then required. */
  KAFKA_SASL_MECHANISM: z.preprocess((value) => (value === '' ? undefined : value), z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional()),
  KAFKA_USERNAME: z.string().optional(),
  KAFKA_PASSWORD: z.string().optional(),
  /** TLS to the Kafka brokers. */
  KAFKA_TLS: z.enum(['on', 'off']).default('off'),
  /** PEM file of the CA that signed the brokers' certificates; unset: the system's CAs. */
  KAFKA_CA_FILE: z.string().optional(),
  /** Comma-separated `host:port` list: message history moves to Cassandra (distributed mode). */
  CASSANDRA_CONTACT_POINTS: z.preprocess((value) => (value === '' ? undefined : value), z.string().optional()),
  CASSANDRA_LOCAL_DC: z.string().default('datacenter1'),
  CASSANDRA_KEYSPACE: z.string().regex(/^[a-z][a-z0-9_]{0,47}$/, 'lower-case letters, digits and _').default('chat'),
  CASSANDRA_REPLICATION_FACTOR: z.coerce.number().int().min(1).max(9).default(1),
  /** Cassandra's PasswordAuthenticator credentials; unset for none (development only). */
  CASSANDRA_USERNAME: z.string().optional(),
  CASSANDRA_PASSWORD: z.string().optional(),
  /** TLS to Cassandra (client_encryption_options on the server). */
  CASSANDRA_TLS: z.enum(['on', 'off']).default('off'),
  /** PEM file of the CA that signed Cassandra's certificates; unset: the system's CAs. */
  CASSANDRA_CA_FILE: z.string().optional(),
  /**
   * Whether this process runs the message pipeline's Kafka consumer when it
   * hosts the messages subgraph. `off` leaves it to dedicated consumer processes.
   */
  MESSAGE_CONSUMER: z.enum(['on', 'off']).default('on'),
  /** How long after sending its sender may edit a message. */
  MESSAGE_EDIT_WINDOW_SECONDS: z.coerce.number().int().min(1).default(15 * 60),
  /** How long after sending its sender may delete a message for everyone (admins: always). */
  MESSAGE_DELETE_WINDOW_SECONDS: z.coerce.number().int().min(1).default(48 * 3600),
  /** How long an email or phone confirmation code lasts. */
  CONTACT_CODE_TTL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(15 * 60),
  /** User searches allowed per user in each 10-second window. */
  SEARCH_RATE_LIMIT: z.coerce.number().int().min(1).max(10_000).default(30),
  /** Who may start a direct chat with whom: `anyone` (unless blocked), or `connections` only. */
  DIRECT_CHAT_POLICY: z.enum(['anyone', 'connections']).default('anyone'),
  /** Mail for confirmation codes goes here (smtp:// or smtps://, credentials in the URL); unset: the development outbox. */
  SMTP_URL: ZOptionalUrlSchema,
  MAIL_FROM: z.string().default('Chat <no-reply@chat.invalid>'),
  /** The development outbox: every email and SMS that is not sent for real is written here as a JSON file. Default `<DATA_DIR>/outbox`. */
  OUTBOX_DIR: z.string().optional(),
  /**
   * Media storage. Unset: local disk under MEDIA_DIR (default
   * `<DATA_DIR>/media`), served with signed URLs by the process hosting the
   * media subgraph (the embedded default). Set: any S3-compatible store.
   */
  S3_ENDPOINT: ZOptionalUrlSchema,
  S3_REGION: z.string().default('us-east-1'),
  S3_ACCESS_KEY_ID: z.string().optional(),
  S3_SECRET_ACCESS_KEY: z.string().optional(),
  /** Path-style bucket addressing (S3Proxy, MinIO); AWS uses virtual-hosted style. */
  S3_FORCE_PATH_STYLE: z.enum(['on', 'off']).default('off'),
  /** Uploads land here, unchecked, never served. */
  MEDIA_BUCKET_QUARANTINE: z.string().default('chat-quarantine'),
  /** What processing accepted; downloads come from here. */
  MEDIA_BUCKET_CLEAN: z.string().default('chat-media'),
  MEDIA_DIR: z.string().optional(),
  /** The public origin clients reach this deployment at (signed local media URLs point there). @default http://localhost:<PORT> */
  PUBLIC_URL: ZOptionalUrlSchema,
  /** How long a signed media download URL works; clients ask for a fresh one (the field) after. */
  MEDIA_URL_TTL_SECONDS: z.coerce.number().int().min(1).max(7 * 86_400).default(300),
  /** Bytes a user's uploads may hold in storage (every upload not deleted or rejected, pending ones by their declared size); createUpload refuses beyond it (QUOTA_EXCEEDED). 2 GiB. */
  MEDIA_QUOTA_BYTES: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).default(2 * 1024 ** 3),
  /** Bytes a user may start uploading per rolling hour (createUpload, by declared size). 512 MiB. */
  MEDIA_UPLOAD_BYTES_PER_HOUR: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).default(512 * 1024 ** 2),
  /** Uploads a user may start per rolling hour. */
  MEDIA_UPLOAD_FILES_PER_HOUR: z.coerce.number().int().min(1).max(1_000_000).default(100),
  /** An upload never attached to a message or set as an avatar is deleted, with its bytes, this long after it was created. At least an hour (the hourly upload rate counts the last hour's uploads). */
  MEDIA_UNATTACHED_TTL_SECONDS: z.coerce.number().int().min(3600).max(365 * 86_400).default(86_400),
  /** ClamAV's clamd (`host:port`): uploads are virus-scanned before they become READY. Unset: signature checks only. */
  CLAMD_ADDRESS: z.preprocess((value) => (value === '' ? undefined : value), z.string().regex(/^[^:\s]+:\d{1,5}$/, 'host:port').optional()),
  /** How long a `setTyping(typing: true)` lasts unless repeated. */
  TYPING_TTL_MS: z.coerce.number().int().min(100).max(60_000).default(6_000),
  /** A device with no heartbeat for this long is gone. */
  PRESENCE_DEVICE_TIMEOUT_SECONDS: z.coerce.number().min(0.5).max(3600).default(60),
  /** A user whose devices report no activity for this long is AWAY. */
  PRESENCE_IDLE_SECONDS: z.coerce.number().min(0.5).max(86_400).default(300),
  /** How often expired devices and idle users are looked for. */
  PRESENCE_SWEEP_MS: z.coerce.number().int().min(50).max(60_000).default(5_000),
});

export type RuntimeEnv = z.infer<typeof ZRuntimeEnvSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses `env` with `schema`. @throws ConfigError listing every problem. */
export function parseEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => `  ${issue.path.join('.') || '(env)'}: ${issue.message}`);
  throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
}

/** Secrets a process holds; which ones depends on what it runs. */
export interface RuntimeSecrets {
  /** Private access-token keys: present where tokens are issued (the users subgraph). */
  jwtPrivateKeys?: JSONWebKeySet;
  jwtSigningKeyId?: string;
  internalTokenSecret: Uint8Array;
  /** Present where passwords are hashed (the users subgraph). */
  passwordPepper?: Uint8Array;
  passwordPepperPrevious?: Uint8Array;
}

export interface RuntimeConfig {
  env: RuntimeEnv;
  dataDir: string;
  secrets: RuntimeSecrets;
}

export interface ResolveOptions {
  /** Whether this process issues access tokens and hashes passwords (it runs the users subgraph). */
  issuesTokens: boolean;
}

interface StoredSecrets {
  JWT_PRIVATE_KEYS: string;
  INTERNAL_TOKEN_SECRET: string;
  PASSWORD_PEPPER: string;
}

/**
 * Resolves secrets. From the environment when given; otherwise, and only in
 * development with embedded storage (one process, nothing shared), generated
 * once and kept in `DATA_DIR/secrets.json` (mode 0600) so sessions survive
 * restarts. Processes that share a real database must share their secrets,
 * and production never invents one: a missing secret there is a refusal to
 * start naming it. Store credentials are checked too (`storeCredentialProblems`).
 * @throws ConfigError listing every problem.
 */
export function resolveRuntimeConfig(env: RuntimeEnv, { issuesTokens }: ResolveOptions): RuntimeConfig {
  const dataDir = resolve(env.DATA_DIR);
  const generated = env.NODE_ENV !== 'production' && !env.DATABASE_URL ? developmentSecrets(dataDir) : undefined;
  const pick = (name: keyof StoredSecrets): string | undefined => env[name] ?? generated?.[name];
  const problems: string[] = [];
  const why = env.NODE_ENV === 'production' ? 'required in production' : 'required with DATABASE_URL (every process of a deployment must share it)';
  const required = (name: keyof StoredSecrets, needed: boolean): string | undefined => {
    const value = pick(name);
    if (needed && !value) problems.push(`  ${name}: ${why}`);
    return value;
  };
  const internal = required('INTERNAL_TOKEN_SECRET', true);
  const jwtKeys = required('JWT_PRIVATE_KEYS', issuesTokens);
  const pepper = required('PASSWORD_PEPPER', issuesTokens);
  let jwtPrivateKeys: JSONWebKeySet | undefined;
  if (jwtKeys) {
    try {
      jwtPrivateKeys = parseJwks(jwtKeys);
    } catch (error) {
      problems.push(`  JWT_PRIVATE_KEYS: ${(error as Error).message}`);
    }
  }
  problems.push(...storeCredentialProblems(env));
  if (problems.length > 0) throw new ConfigError(`Invalid configuration:\n${problems.join('\n')}`);
  const bytes = (value: string | undefined) => (value ? new TextEncoder().encode(value) : undefined);
  return {
    env,
    dataDir,
    secrets: {
      jwtPrivateKeys: issuesTokens ? jwtPrivateKeys : undefined,
      jwtSigningKeyId: env.JWT_SIGNING_KEY_ID,
      internalTokenSecret: bytes(internal)!,
      passwordPepper: issuesTokens ? bytes(pepper) : undefined,
      passwordPepperPrevious: issuesTokens ? bytes(env.PASSWORD_PEPPER_PREVIOUS) : undefined,
    },
  };
}

function parseJwks(text: string): JSONWebKeySet {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error('must be a JSON Web Key Set ({"keys":[...]})');
  }
  const keys = (parsed as { keys?: unknown })?.keys;
  if (!Array.isArray(keys) || keys.length === 0) throw new Error('must be a JSON Web Key Set with at least one key');
  for (const key of keys as JWK[]) {
    if (key?.kty !== 'OKP' || key.crv !== 'Ed25519' || typeof key.d !== 'string' || typeof key.kid !== 'string') {
      throw new Error('every key must be a private Ed25519 JWK with a kid (scripts/generate-secrets.ts makes one)');
    }
  }
  return { keys: keys as JWK[] };
}

/** A fresh set of every secret, as environment values (also what `scripts/generate-secrets.ts` prints). */
export function generateSecrets(): StoredSecrets {
  const jwk = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
  const kid = new Date().toISOString().slice(0, 10) + '-' + randomBytes(3).toString('hex');
  return {
    JWT_PRIVATE_KEYS: JSON.stringify({ keys: [{ ...jwk, kid, alg: 'EdDSA' }] }),
    INTERNAL_TOKEN_SECRET: randomBytes(32).toString('base64url'),
    PASSWORD_PEPPER: randomBytes(32).toString('base64url'),
  };
}

function developmentSecrets(dataDir: string): StoredSecrets {
  mkdirSync(dataDir, { recursive: true });
  const file = `${dataDir}/secrets.json`;
  if (!existsSync(file)) {
    try {
      writeFileSync(file, JSON.stringify(generateSecrets(), null, 2), { mode: 0o600, flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  return JSON.parse(readFileSync(file, 'utf8')) as StoredSecrets;
}
