/**
 * Limits on graphql-ws connections, which the HTTP rate limits never see:
 * connections per user and per client address (across gateway instances;
 * the address's slot taken as the socket opens, before any message, so a
 * socket that never sends `connection_init` counts too),
 * operations open at once on one connection, and `subscribe` messages per
 * connection. Close codes and errors: docs/SUBSCRIPTIONS.md#close-codes.
 */
import type { GraphQLError } from 'graphql';
import { refuse } from '../errors.ts';
import type { RateSetting } from '../env.ts';
import { addressBucket } from './client-address.ts';
import type { SecurityLimits } from './config.ts';
import type { ConnectionCounter, Slot } from './connection-counter.ts';

/**
 * The socket is closed as it opens because its client address already has
 * as many sockets open as allowed, or at `connection_init` because its user
 * has. Retry later (after closing another connection); graphql-ws clients
 * retry it by default.
 */
export const CLOSE_TOO_MANY_CONNECTIONS = 4029;

/** What these limits need of graphql-ws's per-connection context. */
export interface LimitedConnection {
  /** The operations open on the connection, the one being subscribed included. */
  readonly subscriptions: Record<string, unknown>;
  /** `request`: the upgrade request, whose socket {@link WebSocketLimits.admitSocket} counted. */
  readonly extra: { readonly socket: { close(code: number, reason: string): void }; readonly request?: object };
}

/** A socket as {@link WebSocketLimits.admitSocket} needs it. */
export interface LimitedSocket {
  close(code: number, reason: string): void;
  once(event: 'close', listener: () => void): unknown;
}

export interface Caller {
  userId: string | undefined;
  clientIp: string;
}

/**
 * The slots a connection of `caller` takes: one for the user (when logged
 * in), one for the client address (unless `address` is false: its socket
 * holds one already).
 */
export function connectionSlots(
  { maxConnectionsPerUser, maxConnectionsPerIp }: SecurityLimits['ws'],
  { userId, clientIp }: Caller,
  { address = true }: { address?: boolean } = {},
): (Slot & { refusal: string })[] {
  const slots: (Slot & { refusal: string })[] = [];
  if (userId && maxConnectionsPerUser)
    slots.push({
      subject: `user:${userId}`,
      max: maxConnectionsPerUser,
      refusal: 'Too many connections for this user.',
    });
  if (address && maxConnectionsPerIp)
    slots.push({
      subject: `ip:${addressBucket(clientIp)}`,
      max: maxConnectionsPerIp,
      refusal: 'Too many connections from this address.',
    });
  return slots;
}

interface ConnectionState {
  id: string;
  /** Settles when the admission decision is made (and its slots, if any, are held). */
  admitted: Promise<boolean>;
  closed: boolean;
  window: { count: number; endsAt: number } | undefined;
}

export class WebSocketLimits {
  readonly #states = new WeakMap<object, ConnectionState>();
  /** Sockets counted as they opened, by their upgrade request. */
  readonly #sockets = new WeakMap<object, { id: string; admitted: Promise<boolean> }>();

  constructor(
    private readonly limits: SecurityLimits['ws'],
    private readonly counter: ConnectionCounter,
  ) {}

  /**
   * As a socket opens, before it has sent anything: takes a slot for its
   * client address, freed when the socket closes; when the address is full,
   * closes the socket with {@link CLOSE_TOO_MANY_CONNECTIONS}. A socket that
   * never sends `connection_init` is counted from here until graphql-ws
   * closes it (`WS_CONNECTION_INIT_TIMEOUT_MS`).
   * @param request the upgrade request: {@link admit} finds the socket's slot by it
   * @returns whether the socket may go on (false: it is being closed)
   */
  admitSocket(socket: LimitedSocket, request: object, clientIp: string): Promise<boolean> {
    const slots = connectionSlots(this.limits, { userId: undefined, clientIp });
    const id = this.counter.newConnectionId();
    let closed = false;
    const admitted = (async () => {
      if (slots.length === 0) return true;
      const full = await this.counter.acquire(id, slots);
      if (full >= 0) {
        socket.close(CLOSE_TOO_MANY_CONNECTIONS, slots[full]!.refusal);
        return false;
      }
      return true;
    })();
    this.#sockets.set(request, { id, admitted });
    socket.once('close', () => {
      closed = true;
      // Whatever the connection took at `connection_init` too, under the same ID.
      void admitted.then(async (held) => {
        if (held) await this.counter.release(id);
      });
    });
    return admitted.then((held) => held && !closed);
  }

  /**
   * At `connection_init`, once the token is known good. Takes a slot for the
   * viewer, and for the client address unless {@link admitSocket} counted the
   * socket; when either is full, closes the socket with
   * {@link CLOSE_TOO_MANY_CONNECTIONS}.
   * @returns whether the connection may go on (false: it is being closed)
   */
  admit(connection: LimitedConnection, caller: Caller): Promise<boolean> {
    const socket = connection.extra.request ? this.#sockets.get(connection.extra.request) : undefined;
    const slots = connectionSlots(this.limits, caller, { address: !socket });
    const state = this.#state(connection, socket?.id);
    if (slots.length === 0) return socket ? socket.admitted : Promise.resolve(true);
    state.admitted = (async () => {
      if (socket && !(await socket.admitted)) return false;
      const full = await this.counter.acquire(state.id, slots);
      if (full >= 0) {
        connection.extra.socket.close(CLOSE_TOO_MANY_CONNECTIONS, slots[full]!.refusal);
        return false;
      }
      if (state.closed) {
        // The socket went away while the slots were being taken.
        await this.counter.release(state.id);
        return false;
      }
      return true;
    })();
    return state.admitted;
  }

  /**
   * At each `subscribe` message, before anything else is done with it.
   * @returns the errors to answer it with (graphql-ws sends them as its `error` message), or undefined to go on
   */
  checkSubscribe(connection: LimitedConnection): GraphQLError[] | undefined {
    const { subscribeRate, maxSubscriptionsPerConnection } = this.limits;
    if (subscribeRate) {
      const state = this.#state(connection);
      const retryAfterMs = hit(state, subscribeRate);
      if (retryAfterMs !== undefined) {
        const retryAfterSeconds = Math.max(1, Math.ceil(retryAfterMs / 1_000));
        return [
          refuse('SUBSCRIBE_RATE', `Too many subscribe messages on this connection; retry in ${retryAfterSeconds} s.`, {
            retryAfterSeconds,
          }),
        ];
      }
    }
    if (maxSubscriptionsPerConnection && Object.keys(connection.subscriptions).length > maxSubscriptionsPerConnection) {
      return [
        refuse(
          'TOO_MANY_SUBSCRIPTIONS',
          `At most ${maxSubscriptionsPerConnection} operations may be open at once on one connection; complete one first.`,
          {
            limit: maxSubscriptionsPerConnection,
          },
        ),
      ];
    }
    return undefined;
  }

  /** When the socket closes, however far it got: frees its slots. */
  async release(connection: LimitedConnection): Promise<void> {
    const state = this.#states.get(connection);
    if (!state || state.closed) return;
    state.closed = true;
    if (await state.admitted) await this.counter.release(state.id);
  }

  close(): Promise<void> {
    return this.counter.close();
  }

  #state(connection: LimitedConnection, id?: string): ConnectionState {
    let state = this.#states.get(connection);
    if (!state)
      this.#states.set(
        connection,
        (state = {
          id: id ?? this.counter.newConnectionId(),
          admitted: Promise.resolve(false),
          closed: false,
          window: undefined,
        }),
      );
    return state;
  }
}

/** Counts one use in the connection's fixed window; the ms until it ends when the use is one too many. */
function hit(state: ConnectionState, rate: RateSetting): number | undefined {
  const now = Date.now();
  if (!state.window || state.window.endsAt <= now) state.window = { count: 0, endsAt: now + rate.windowMs };
  state.window.count += 1;
  return state.window.count > rate.max ? state.window.endsAt - now : undefined;
}
