/**
 * Access tokens: short-lived JWTs (HS256) that the gateway and every subgraph
 * verify with the same key. The subject is the user's ID.
 */
import { jwtVerify, SignJWT, errors as joseErrors } from 'jose';
import { unauthenticated } from './errors.ts';

export interface Viewer {
  id: string;
  username: string;
}

export interface TokenServiceOptions {
  secret: Uint8Array;
  /** Lifetime of an access token in seconds. @default 900 */
  accessTokenTtlSeconds?: number;
}

const ISSUER = 'federated-chat';

export class TokenService {
  readonly #secret: Uint8Array;
  readonly accessTokenTtlSeconds: number;

  constructor({ secret, accessTokenTtlSeconds = 900 }: TokenServiceOptions) {
    if (secret.byteLength < 32) throw new Error('the JWT secret must be at least 32 bytes');
    this.#secret = secret;
    this.accessTokenTtlSeconds = accessTokenTtlSeconds;
  }

  issueAccessToken(viewer: Viewer): Promise<string> {
    return new SignJWT({ username: viewer.username })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(viewer.id)
      .setIssuer(ISSUER)
      .setIssuedAt()
      .setExpirationTime(`${this.accessTokenTtlSeconds}s`)
      .sign(this.#secret);
  }

  /** @throws UNAUTHENTICATED for a malformed, forged or expired token. */
  async verifyAccessToken(token: string): Promise<Viewer> {
    try {
      const { payload } = await jwtVerify(token, this.#secret, { issuer: ISSUER, algorithms: ['HS256'] });
      if (typeof payload.sub !== 'string' || typeof payload.username !== 'string') throw unauthenticated('Invalid access token.');
      return { id: payload.sub, username: payload.username };
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw unauthenticated('The access token has expired.');
      throw unauthenticated('Invalid access token.');
    }
  }

  /**
   * The viewer named by an `Authorization: Bearer …` value, or null when there
   * is none. A header that is present but invalid is refused, never ignored.
   */
  async viewerFromAuthorization(authorization: string | null | undefined): Promise<Viewer | null> {
    if (!authorization) return null;
    const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    if (!match?.[1]) throw unauthenticated('The Authorization header must be "Bearer <token>".');
    return this.verifyAccessToken(match[1]);
  }
}
