/**
 * Access-token expiry on open graphql-ws connections. A connection lives on
 * the token it was opened with; when that token expires the gateway closes
 * the socket with {@link CLOSE_TOKEN_EXPIRED}, unless the client renewed it in
 * band before: a graphql-ws `ping` whose payload carries a fresh token,
 *
 *   { "type": "ping", "payload": { "authorization": "Bearer <new access token>" } }
 *
 * which must name the same user (a different or invalid token closes the
 * socket with 4403). Renewing keeps every subscription running, so nothing is
 * missed; a client that lets the socket close reconnects with a fresh token
 * and resubscribes with its cursors (docs/SUBSCRIPTIONS.md).
 *
 * When the token's session ends (on any instance: ended-sessions.ts) the
 * socket is closed at once with 4403 and the reason `Session ended`: the
 * client must log in again.
 */
import type { TokenService, VerifiedToken } from '@chat/common';
import type { EndedSessionWatch } from './subscriptions/ended-sessions.ts';

/** The socket is closed because its access token expired: refresh the token, reconnect, resubscribe. Not fatal for graphql-ws clients, which retry. */
export const CLOSE_TOKEN_EXPIRED = 4001;
/** graphql-ws's code for a refused connection, used for a bad renewal too. */
export const CLOSE_FORBIDDEN = 4403;

export interface ClosableSocket {
  close(code: number, reason: string): void;
}

interface Tracked {
  userId: string;
  timer: NodeJS.Timeout;
  unwatch: () => void;
}

/** The reason a socket is closed with {@link CLOSE_FORBIDDEN} when its session ended. */
export const SESSION_ENDED_REASON = 'Session ended';

export class SocketSessions {
  readonly #tracked = new Map<ClosableSocket, Tracked>();

  constructor(
    private readonly tokens: TokenService,
    private readonly sessions: EndedSessionWatch,
  ) {}

  /** At connect: an authenticated socket is closed when its token expires. Anonymous sockets have nothing to expire. */
  start(socket: ClosableSocket, token: VerifiedToken | null): void {
    if (token) this.#arm(socket, token);
  }

  /**
   * A `ping` arrived: if it carries `authorization`, renew the socket's
   * token with it. The connection params are updated too, so subscriptions
   * started afterwards are authorised by the new token.
   */
  async onPing(
    socket: ClosableSocket,
    connectionParams: Record<string, unknown> | undefined,
    payload: unknown,
  ): Promise<void> {
    const authorization = (payload as { authorization?: unknown } | undefined)?.authorization;
    if (authorization === undefined) return;
    const tracked = this.#tracked.get(socket);
    let verified: VerifiedToken | null;
    try {
      verified = typeof authorization === 'string' ? await this.tokens.authenticate(authorization) : null;
    } catch {
      verified = null;
    }
    if (!verified || !tracked || verified.viewer.id !== tracked.userId) {
      this.end(socket);
      socket.close(CLOSE_FORBIDDEN, 'Forbidden');
      return;
    }
    if (connectionParams) connectionParams.authorization = authorization;
    this.#arm(socket, verified);
  }

  /** At close: forget the socket. */
  end(socket: ClosableSocket): void {
    this.#forget(socket);
  }

  /** How many authenticated sockets are being watched (for tests and metrics). */
  get size(): number {
    return this.#tracked.size;
  }

  #arm(socket: ClosableSocket, token: VerifiedToken): void {
    this.#forget(socket);
    const closeWith = (code: number, reason: string) => () => {
      this.#forget(socket);
      socket.close(code, reason);
    };
    const timer = setTimeout(
      closeWith(CLOSE_TOKEN_EXPIRED, 'Access token expired'),
      Math.max(0, token.expiresAt.getTime() - Date.now()),
    );
    timer.unref();
    const unwatch = this.sessions.watch(token.viewer.sessionId, closeWith(CLOSE_FORBIDDEN, SESSION_ENDED_REASON));
    this.#tracked.set(socket, { userId: token.viewer.id, timer, unwatch });
  }

  #forget(socket: ClosableSocket): void {
    const tracked = this.#tracked.get(socket);
    if (!tracked) return;
    clearTimeout(tracked.timer);
    tracked.unwatch();
    this.#tracked.delete(socket);
  }
}
