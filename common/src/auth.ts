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

/** Whether a token of `userId` issued at `issuedAtSeconds` was revoked since (its sessions cut off). */
export type RevocationCheck = (userId: string, issuedAtSeconds: number) => Promise<boolean>;

export class TokenService {
  readonly #secret: Uint8Array;
  readonly accessTokenTtlSeconds: number;
  #isRevoked: RevocationCheck = async () => false;

  constructor({ secret, accessTokenTtlSeconds = 900 }: TokenServiceOptions) {
    if (secret.byteLength < 32) throw new Error('the JWT secret must be at least 32 bytes');
    this.#secret = secret;
    this.accessTokenTtlSeconds = accessTokenTtlSeconds;
  }

  /** Consulted for every token verified: the runtime answers from the users' session cut-offs. */
  useRevocationCheck(check: RevocationCheck): void {
    this.#isRevoked = check;
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

  /** @throws UNAUTHENTICATED for a malformed, forged, expired or revoked token. */
  async verifyAccessToken(token: string): Promise<Viewer> {
    let viewer: Viewer;
    let issuedAt: number;
    try {
      const { payload } = await jwtVerify(token, this.#secret, { issuer: ISSUER, algorithms: ['HS256'] });
      if (typeof payload.sub !== 'string' || typeof payload.username !== 'string' || typeof payload.iat !== 'number') {
        throw unauthenticated('Invalid access token.');
      }
      viewer = { id: payload.sub, username: payload.username };
      issuedAt = payload.iat;
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw unauthenticated('The access token has expired.');
      throw unauthenticated('Invalid access token.');
    }
    if (await this.#isRevoked(viewer.id, issuedAt)) throw unauthenticated('The session has ended; log in again.');
    return viewer;
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
