/**
 * Access tokens: short-lived JWTs signed with Ed25519 (EdDSA). Only the users
 * subgraph holds the private keys; everyone else verifies with the public
 * keys, which the issuer publishes as a JWKS (`/.well-known/jwks.json`). Each
 * token names its key (`kid`), so keys rotate without a flag day: publish the
 * new key, make it the signer, drop the old one once its tokens have expired
 * (docs/SECURITY.md).
 *
 * Claims: `sub` the user's ID, `username`, `sid` the session (device) the
 * token belongs to, `jti`, `iat`, `exp`, `iss`.
 */
import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors as joseErrors,
  importJWK,
  jwtVerify,
  SignJWT,
  type JSONWebKeySet,
  type JWK,
  type JWTVerifyGetKey,
} from 'jose';
import { GraphQLError } from 'graphql';
import { apiError, commonError } from './errors.ts';

export interface Viewer {
  id: string;
  username: string;
  /** The session (logged-in device) the viewer's access token belongs to. */
  sessionId: string;
}

/** A verified access token. */
export interface VerifiedToken {
  viewer: Viewer;
  expiresAt: Date;
}

export interface TokenServiceOptions {
  /**
   * Private Ed25519 keys (JWKs with `kid`) this process signs with: only the
   * token issuer (the users subgraph) has them. Their public halves are what
   * {@link TokenService.publicJwks} publishes.
   */
  signingKeys?: JSONWebKeySet;
  /** The `kid` of the key that signs new tokens. @default the last of `signingKeys` */
  signingKeyId?: string;
  /**
   * Where verification keys come from when this process does not hold the
   * signing keys: the issuer's JWKS URL, fetched on demand and again (at most
   * every 30 s) when a token names an unknown `kid`.
   */
  jwksUrl?: string;
  /** After a fetch, how long an unknown `kid` is refused without fetching the JWKS again. @default 30000 */
  jwksCooldownMs?: number;
  /** Lifetime of an access token in seconds. @default 900 */
  accessTokenTtlSeconds?: number;
}

const ISSUER = 'federated-chat';
const ALGORITHM = 'EdDSA';
/**
 * Verified tokens are remembered (by their exact text) for at most this long
 * and never past their expiry: a client sends the same token with every
 * request for 15 minutes, and an Ed25519 verification costs ~0.2 ms of CPU.
 * A key withdrawn from a JWKS stops verifying once the key set is fetched
 * again: on a kid it does not know (the memo is cleared then, too) or after
 * 10 minutes (jose's cache), to which the memo adds at most this.
 */
const VERIFIED_TTL_MS = 60_000;
const VERIFIED_MAX_ENTRIES = 10_000;

/** UNAUTHENTICATED with a `reason` clients can act on: TOKEN_EXPIRED means "refresh", anything else "log in again". */
export const tokenRefused = (message: string, reason: 'TOKEN_EXPIRED' | 'TOKEN_INVALID' | 'SESSION_ENDED') =>
  commonError(reason, message);

export class TokenService {
  readonly accessTokenTtlSeconds: number;
  readonly #signer: { kid: string; key: CryptoKey | Uint8Array } | undefined;
  readonly #publicKeys: JSONWebKeySet;
  readonly #keySet: JWTVerifyGetKey;
  /** Verified tokens by their text, each remembered until its memo lapses (least recently used go first when full). */
  readonly #verified = new LRUCache<string, VerifiedToken>({ max: VERIFIED_MAX_ENTRIES });

  private constructor(options: {
    accessTokenTtlSeconds: number;
    signer: { kid: string; key: CryptoKey | Uint8Array } | undefined;
    publicKeys: JSONWebKeySet;
    keySet: JWTVerifyGetKey;
  }) {
    this.accessTokenTtlSeconds = options.accessTokenTtlSeconds;
    this.#signer = options.signer;
    this.#publicKeys = options.publicKeys;
    this.#keySet = options.keySet;
  }

  /** @throws Error for keys that are not Ed25519 private JWKs with distinct `kid`s, or an unknown `signingKeyId`. */
  static async create({
    signingKeys,
    signingKeyId,
    jwksUrl,
    jwksCooldownMs = 30_000,
    accessTokenTtlSeconds = 900,
  }: TokenServiceOptions): Promise<TokenService> {
    const keys = signingKeys?.keys ?? [];
    const kids = new Set<string>();
    for (const jwk of keys) {
      if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.d !== 'string' || typeof jwk.x !== 'string') {
        throw new Error('every signing key must be a private Ed25519 JWK (kty OKP, crv Ed25519, d and x)');
      }
      if (!jwk.kid || kids.has(jwk.kid)) throw new Error('every signing key needs a distinct kid');
      kids.add(jwk.kid);
    }
    const publicKeys: JSONWebKeySet = { keys: keys.map(publicHalf) };
    let signer: { kid: string; key: CryptoKey | Uint8Array } | undefined;
    if (keys.length > 0) {
      const chosen = signingKeyId ? keys.find((jwk) => jwk.kid === signingKeyId) : keys.at(-1);
      if (!chosen) throw new Error(`no signing key has kid ${signingKeyId}`);
      signer = { kid: chosen.kid!, key: await importJWK({ ...chosen, alg: ALGORITHM }, ALGORITHM) };
    } else if (signingKeyId) {
      throw new Error('signingKeyId given without signingKeys');
    }
    let keySet: JWTVerifyGetKey;
    if (keys.length > 0) keySet = createLocalJWKSet(publicKeys);
    else if (jwksUrl)
      keySet = createRemoteJWKSet(new URL(jwksUrl), {
        cooldownDuration: jwksCooldownMs,
        cacheMaxAge: 10 * 60_000,
        timeoutDuration: 5_000,
      });
    else throw new Error('a token service needs signing keys or a JWKS URL');
    return new TokenService({ accessTokenTtlSeconds, signer, publicKeys, keySet });
  }

  /** The public keys, as served at `/.well-known/jwks.json`. Empty when this process verifies through a JWKS URL. */
  publicJwks(): JSONWebKeySet {
    return this.#publicKeys;
  }

  /** @throws Error in a process that holds no signing key (only the issuer signs). */
  async issueAccessToken(viewer: Viewer): Promise<{ token: string; expiresAt: Date }> {
    if (!this.#signer) throw new Error('this process holds no access-token signing key');
    const issuedAt = Math.floor(Date.now() / 1000);
    const expiresAtSeconds = issuedAt + this.accessTokenTtlSeconds;
    const token = await new SignJWT({ username: viewer.username, sid: viewer.sessionId })
      .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT', kid: this.#signer.kid })
      .setSubject(viewer.id)
      .setJti(randomBytes(9).toString('base64url'))
      .setIssuer(ISSUER)
      .setIssuedAt(issuedAt)
      .setExpirationTime(expiresAtSeconds)
      .sign(this.#signer.key);
    return { token, expiresAt: new Date(expiresAtSeconds * 1000) };
  }

  /**
   * Checks signature, issuer and expiry. Whether the session was ended since
   * is for the subgraphs to check (they hold the sessions).
   * @throws UNAUTHENTICATED (reason TOKEN_EXPIRED or TOKEN_INVALID); UNAVAILABLE when the JWKS cannot be fetched.
   */
  async verifyAccessToken(token: string): Promise<VerifiedToken> {
    const known = this.#verified.get(token);
    if (known) return known;
    const now = Date.now();
    const verified = await this.#verify(token);
    const ttl = Math.min(VERIFIED_TTL_MS, verified.expiresAt.getTime() - now);
    if (ttl > 0) this.#verified.set(token, verified, { ttl });
    return verified;
  }

  async #verify(token: string): Promise<VerifiedToken> {
    try {
      const { payload } = await jwtVerify(token, this.#keySet, { issuer: ISSUER, algorithms: [ALGORITHM] });
      const { sub, username, sid, exp } = payload;
      if (
        typeof sub !== 'string' ||
        typeof username !== 'string' ||
        typeof sid !== 'string' ||
        typeof exp !== 'number'
      ) {
        throw tokenRefused('Invalid access token.', 'TOKEN_INVALID');
      }
      return { viewer: { id: sub, username, sessionId: sid }, expiresAt: new Date(exp * 1000) };
    } catch (error) {
      if (error instanceof GraphQLError) throw error;
      if (error instanceof joseErrors.JWTExpired)
        throw tokenRefused('The access token has expired; refresh it.', 'TOKEN_EXPIRED');
      // A kid the key set lacks made a remote set fetch again: keys may have been withdrawn, so forget what they verified.
      if (error instanceof joseErrors.JWKSNoMatchingKey) this.#verified.clear();
      // Anything jose does not recognise as a bad token is the key set failing to load (network).
      if (error instanceof joseErrors.JWKSTimeout || !(error instanceof joseErrors.JOSEError)) {
        throw apiError('UNAVAILABLE', 'Access tokens cannot be checked right now; try again.', { retryable: true });
      }
      throw tokenRefused('Invalid access token.', 'TOKEN_INVALID');
    }
  }

  /**
   * The token in an `Authorization: Bearer …` value, verified, or null when
   * there is none. A header that is present but invalid is refused, never ignored.
   */
  async authenticate(authorization: string | null | undefined): Promise<VerifiedToken | null> {
    if (!authorization) return null;
    const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    if (!match?.[1]) throw tokenRefused('The Authorization header must be "Bearer <token>".', 'TOKEN_INVALID');
    return this.verifyAccessToken(match[1]);
  }

  /** {@link authenticate}, the viewer only. */
  async viewerFromAuthorization(authorization: string | null | undefined): Promise<Viewer | null> {
    return (await this.authenticate(authorization))?.viewer ?? null;
  }
}

function publicHalf(jwk: JWK): JWK {
  return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, kid: jwk.kid, alg: ALGORITHM, use: 'sig' };
}
