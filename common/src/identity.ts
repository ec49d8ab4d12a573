/**
 * The identity the gateway forwards to subgraphs it reaches over the network:
 * a JWT (HS256, `INTERNAL_TOKEN_SECRET`, shared by the gateway and the
 * subgraphs only) naming the viewer it authenticated, or nobody, for one
 * subgraph (`aud`), valid for a minute. A subgraph served on its own port
 * accepts an operation only with a valid one, so a direct call, anonymous or
 * with a forged or replayed-elsewhere identity, is refused before it reaches a
 * resolver. Users' access tokens never travel past the gateway.
 *
 * Subgraphs mounted in the gateway's process receive the viewer directly:
 * there is no network to cross.
 */
import { jwtVerify, SignJWT, errors as joseErrors } from 'jose';
import { LRUCache } from 'lru-cache';
import type { Viewer } from './auth.ts';
import { commonError } from './errors.ts';

/** The HTTP header (and the graphql-ws operation extension) carrying it. */
export const IDENTITY_HEADER = 'x-chat-identity';
const ISSUER = 'federated-chat-gateway';
const ALGORITHM = 'HS256';
const TTL_SECONDS = 60;
/** A signed identity is reused for this long, so a busy viewer costs one HMAC per half minute and subgraph. */
const REUSE_MS = (TTL_SECONDS / 2) * 1000;
const MAX_CACHED = 10_000;

const refused = () => commonError('INTERNAL_IDENTITY', 'This service accepts requests from the gateway only.');

export class InternalIdentity {
  readonly #secret: Uint8Array;
  /** Tokens reused while fresh, by viewer session and audience (least recently used go first when full). */
  readonly #signed = new LRUCache<string, string>({ max: MAX_CACHED, ttl: REUSE_MS });

  constructor(secret: Uint8Array) {
    if (secret.byteLength < 32) throw new Error('the internal token secret must be at least 32 bytes');
    this.#secret = secret;
  }

  /** A token for `audience` (a subgraph's name) saying the gateway authenticated `viewer` (null: an anonymous caller). */
  async sign(viewer: Viewer | null, audience: string): Promise<string> {
    const key = viewer ? `${viewer.sessionId}\u0000${viewer.id}\u0000${audience}` : `\u0000${audience}`;
    const cached = this.#signed.get(key);
    if (cached) return cached;
    const claims = viewer ? { username: viewer.username, sid: viewer.sessionId } : { anonymous: true };
    const jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: ALGORITHM })
      .setIssuer(ISSUER)
      .setAudience(audience)
      .setIssuedAt()
      .setExpirationTime(`${TTL_SECONDS}s`);
    const token = await (viewer ? jwt.setSubject(viewer.id) : jwt).sign(this.#secret);
    this.#signed.set(key, token);
    return token;
  }

  /**
   * The viewer a token names (null for an anonymous caller).
   * @throws UNAUTHENTICATED (reason INTERNAL_IDENTITY) for a missing, forged, expired or other-audience token.
   */
  async verify(token: string | null | undefined, audience: string): Promise<Viewer | null> {
    if (!token) throw refused();
    try {
      const { payload } = await jwtVerify(token, this.#secret, { issuer: ISSUER, audience, algorithms: [ALGORITHM] });
      if (payload.anonymous === true && payload.sub === undefined) return null;
      const { sub, username, sid } = payload;
      if (typeof sub !== 'string' || typeof username !== 'string' || typeof sid !== 'string') throw refused();
      return { id: sub, username, sessionId: sid };
    } catch (error) {
      if (error instanceof joseErrors.JOSEError || (error as { extensions?: unknown }).extensions) throw refused();
      throw error;
    }
  }
}
