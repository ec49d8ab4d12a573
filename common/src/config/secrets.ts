/**
 * Secrets and access tokens. A secret comes from the environment; only a
 * development process with embedded storage (one process, nothing shared)
 * makes its own, once, into `DATA_DIR/secrets.json` (mode 0600) so sessions
 * survive restarts. Processes that share a real database must share their
 * secrets, and production never invents one: a missing secret there is a
 * refusal to start naming it.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { JSONWebKeySet, JWK } from 'jose';
import { z } from 'zod';
import { defineConfigModel, type ConfigContext } from '../env.ts';

const ZSecretSchema = z.string().min(32, 'must be at least 32 characters').optional();

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

export interface SecretsOptions {
  /** Whether this process issues access tokens and hashes passwords (it runs the users subgraph). */
  issuesTokens: boolean;
}

const SecretVariables = z.object({
  JWT_PRIVATE_KEYS: z
    .string()
    .optional()
    .describe(
      'The access-token signing keys: a JWK set (JSON) of private Ed25519 keys, each with a distinct `kid`. Where ' +
        'the users subgraph runs (it issues tokens); everyone else verifies with the public keys (JWKS)',
    ),
  JWT_SIGNING_KEY_ID: z
    .string()
    .optional()
    .describe('The `kid` that signs new tokens. Default: the last key of `JWT_PRIVATE_KEYS`'),
  INTERNAL_TOKEN_SECRET: ZSecretSchema.describe(
    'The key of the identity the gateway signs for subgraphs (HS256, at least 32 characters); the gateway and ' +
      'every subgraph process',
  ),
  PASSWORD_PEPPER: ZSecretSchema.describe(
    'Mixed into every password hash, kept outside the database (at least 32 characters). Where the users subgraph runs',
  ),
  PASSWORD_PEPPER_PREVIOUS: ZSecretSchema.describe(
    'The previous pepper while passwords move to a new one: accepted at login, and the password re-hashed with the ' +
      'current one',
  ),
});

type SecretValues = z.output<typeof SecretVariables>;
type StoredSecrets = Required<Pick<SecretValues, 'JWT_PRIVATE_KEYS' | 'INTERNAL_TOKEN_SECRET' | 'PASSWORD_PEPPER'>>;

/**
 * The secrets model of a process: the internal key everywhere, the signing
 * keys and the pepper only where tokens are issued (`issuesTokens`).
 */
export function secretsModel({ issuesTokens }: SecretsOptions) {
  return defineConfigModel({
    title: 'Secrets',
    docs: 'docs/SECURITY.md',
    variables: SecretVariables,
    read: (values, context, problems): RuntimeSecrets => resolveSecrets(values, context, issuesTokens, problems),
  });
}

function resolveSecrets(
  values: SecretValues,
  context: ConfigContext,
  issuesTokens: boolean,
  problems: string[],
): RuntimeSecrets {
  const generated = !context.production && context.embedded ? developmentSecrets(context.dataDir) : undefined;
  const why = context.production
    ? 'required in production'
    : 'required with DATABASE_URL (every process of a deployment must share it)';
  const required = (name: keyof StoredSecrets, needed: boolean): string | undefined => {
    const value = values[name] ?? generated?.[name];
    if (needed && !value) problems.push(`${name}: ${why}`);
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
      problems.push(`JWT_PRIVATE_KEYS: ${(error as Error).message}`);
    }
  }
  const bytes = (value: string | undefined) => (value ? new TextEncoder().encode(value) : undefined);
  return {
    jwtPrivateKeys: issuesTokens ? jwtPrivateKeys : undefined,
    jwtSigningKeyId: values.JWT_SIGNING_KEY_ID,
    // Absent only with a problem reported above, which stops the start.
    internalTokenSecret: bytes(internal) ?? new Uint8Array(0),
    passwordPepper: issuesTokens ? bytes(pepper) : undefined,
    passwordPepperPrevious: issuesTokens ? bytes(values.PASSWORD_PEPPER_PREVIOUS) : undefined,
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

/** How long access tokens last, where they are issued. */
export const TokensModel = defineConfigModel({
  title: 'Access tokens',
  variables: z.object({
    ACCESS_TOKEN_TTL_SECONDS: z.coerce
      .number()
      .int()
      .min(10)
      .max(86_400)
      .default(900)
      .describe('How long an access token lasts'),
  }),
  read: (values) => ({ accessTokenTtlSeconds: values.ACCESS_TOKEN_TTL_SECONDS }),
});

export type TokensConfig = ReturnType<(typeof TokensModel)['read']>;
