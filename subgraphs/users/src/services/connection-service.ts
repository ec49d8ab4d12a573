/**
 * Who may connect with whom, and how each change is announced to both users.
 *
 * A pair of users is NONE, INVITE_SENT / INVITE_RECEIVED (one invited the
 * other), or CONNECTED. Either may block the other: that ends whatever
 * connection or invitation they had, and while it lasts the blocked user
 * cannot invite the blocker (NOT_FOUND, as for a user who does not exist),
 * and sees NONE wherever the blocker shows up. Only the blocker sees BLOCKED.
 *
 * Every change runs under the pair's lock (`ConnectionStore.changePair`); a
 * refusal changes nothing. Once committed, each user is told on their own
 * topic (`Topics.userConnections`) how they now see the other.
 */
import {
  badInput,
  decodeCursor,
  encodeCursor,
  log,
  notFound,
  pageSize,
  parseDateTime,
  parseId,
  requireId,
  toConnection,
  Topics,
  unauthenticated,
  type Connection,
  type PubSubEngine,
  type Viewer,
} from '@chat/common';
import type DataLoader from 'dataloader';
import type {
  ConnectionStatus,
  ConnectionStore,
  ContactPosition,
  ContactRecord,
  LockedPair,
  PairState,
} from '../store/connection-store.ts';
import { refuse } from '../errors.ts';

/** The event published on a user's connections topic: the change as that user sees it; JSON-safe. */
export interface ConnectionEvent {
  /** The other user. */
  userId: string;
  status: ConnectionStatus;
  /** ISO-8601; null for NONE. */
  since: string | null;
}

export interface ConnectionsArgs {
  status?: ConnectionStatus | null | undefined;
  first?: number | null | undefined;
  after?: string | null | undefined;
}

/** A refusal of a connection change: BAD_USER_INPUT with `extensions.reason`. */
const refused = (message: string, reason: 'SELF' | 'BLOCKED' | 'ALREADY' | 'NO_INVITATION' | 'NOT_CONNECTED') =>
  refuse(reason, message, { argument: 'userId' });

/** The same answer for a user who does not exist and for one who blocked the viewer. */
const userNotFound = (userId: bigint) => notFound(`User ${userId}`);

/** What a committed change tells whom; nothing when the request changed nothing. */
interface PairChange {
  /** The viewer's view of the other user after the change. */
  contact: ContactRecord;
  events: { to: string; contact: ContactRecord }[];
}

const none = (userId: string): ContactRecord => ({ userId, status: 'NONE', since: null });

/** How `state`'s user sees the other: BLOCKED when they blocked them, else their row's state, else NONE. */
function viewOf(otherId: string, state: PairState): ContactRecord {
  if (state.blockedAt) return { userId: otherId, status: 'BLOCKED', since: state.blockedAt };
  if (state.mine) return { userId: otherId, status: state.mine.state, since: state.mine.updatedAt };
  return none(otherId);
}

function cursorOf(contact: ContactRecord): string {
  const since = contact.since instanceof Date ? contact.since.toISOString() : (contact.since ?? '');
  return encodeCursor([since, contact.userId]);
}

/** @throws BAD_USER_INPUT for a cursor that `cursorOf` did not make. */
function positionOf(cursor: string): ContactPosition {
  const [at = '', id = ''] = decodeCursor(cursor, 2);
  const since = parseDateTime(at);
  const otherId = parseId(id);
  if (since === undefined || otherId === undefined) throw badInput('Invalid cursor.');
  return { since, otherId };
}

const toEvent = (contact: ContactRecord): ConnectionEvent => ({
  userId: contact.userId,
  status: contact.status,
  since: contact.since instanceof Date ? contact.since.toISOString() : contact.since,
});

/** One per operation (per subscription for `connectionChanged`). */
export class ConnectionService {
  /** The viewer's status with each user, batched per operation. */
  #statuses: DataLoader<string, ConnectionStatus> | undefined;

  constructor(
    private readonly viewer: Viewer | null,
    private readonly store: ConnectionStore,
    private readonly pubsub: PubSubEngine,
  ) {}

  #requireViewer(): Viewer {
    if (!this.viewer) throw unauthenticated();
    return this.viewer;
  }

  /**
   * The viewer's contacts in `status` (default CONNECTED), most recently
   * changed first. @throws BAD_USER_INPUT for status NONE, a bad `first` or `after`.
   */
  async connections({ status, first, after }: ConnectionsArgs): Promise<Connection<ContactRecord>> {
    const viewer = this.#requireViewer();
    const wanted = status ?? 'CONNECTED';
    if (wanted === 'NONE')
      throw badInput('status NONE lists nobody: ask for CONNECTED, INVITE_SENT, INVITE_RECEIVED or BLOCKED.', {
        argument: 'status',
      });
    const take = pageSize(first);
    const position = after === null || after === undefined ? null : positionOf(after);
    const rows = await this.store.page(viewer.id, wanted, take + 1, position);
    if (this.#statuses) for (const row of rows) this.#statuses.prime(row.userId, row.status);
    return toConnection(rows, take, cursorOf, (row) => row);
  }

  /**
   * How the viewer and `userId` are connected: NONE for the viewer themself,
   * and for a caller without a viewer (only `register` and `login` show a
   * user to one, and it is the caller).
   */
  statusOf(userId: string): Promise<ConnectionStatus> {
    if (!this.viewer || userId === this.viewer.id) return Promise.resolve('NONE');
    this.#statuses ??= this.store.statusLoader(this.viewer.id);
    return this.#statuses.load(userId);
  }

  /** The topic of the viewer's `connectionChanged`. @throws UNAUTHENTICATED without a viewer. */
  topic(): string {
    return Topics.userConnections(this.#requireViewer().id);
  }

  /**
   * Invites `userId`; if they already invited the viewer, both are connected.
   * @throws BAD_USER_INPUT with reason SELF, BLOCKED (the viewer blocked
   * them) or ALREADY (connected or invited); NOT_FOUND for an unknown user
   * and for one who blocked the viewer.
   */
  async invite(userId: string): Promise<ContactRecord> {
    this.#refuseSelf(userId, 'You cannot invite yourself.');
    return this.#change(userId, async (pair, at) => {
      const { state } = pair;
      if (!state.otherExists) throw userNotFound(pair.otherId);
      if (state.blockedAt) throw refused('You blocked this user: unblock them first.', 'BLOCKED');
      if (state.blockedByOther) throw userNotFound(pair.otherId);
      if (state.mine?.state === 'CONNECTED') throw refused('You are already connected with this user.', 'ALREADY');
      if (state.mine?.state === 'INVITE_SENT') throw refused('You already invited this user.', 'ALREADY');
      if (state.mine?.state === 'INVITE_RECEIVED') return this.#connect(pair, 'CONNECTED', 'CONNECTED', at);
      return this.#connect(pair, 'INVITE_SENT', 'INVITE_RECEIVED', at);
    });
  }

  /** Accepts an invitation from `userId`. @throws BAD_USER_INPUT (NO_INVITATION) when there is none. */
  async accept(userId: string): Promise<ContactRecord> {
    return this.#change(userId, async (pair, at) => {
      if (pair.state.mine?.state !== 'INVITE_RECEIVED')
        throw refused('This user has not invited you.', 'NO_INVITATION');
      return this.#connect(pair, 'CONNECTED', 'CONNECTED', at);
    });
  }

  /** Withdraws an invitation to `userId`, or declines one from them. @throws BAD_USER_INPUT (NO_INVITATION) when there is none. */
  async cancel(userId: string): Promise<ContactRecord> {
    return this.#change(userId, async (pair) => {
      const state = pair.state.mine?.state;
      if (state !== 'INVITE_SENT' && state !== 'INVITE_RECEIVED')
        throw refused('There is no invitation between you and this user.', 'NO_INVITATION');
      return this.#disconnect(pair);
    });
  }

  /** Ends the connection with `userId`. @throws BAD_USER_INPUT (NOT_CONNECTED) when there is none. */
  async remove(userId: string): Promise<ContactRecord> {
    return this.#change(userId, async (pair) => {
      if (pair.state.mine?.state !== 'CONNECTED')
        throw refused('You are not connected with this user.', 'NOT_CONNECTED');
      return this.#disconnect(pair);
    });
  }

  /**
   * Blocks `userId`, ending any connection or invitation between the two;
   * blocking again changes nothing. The blocked user is told only that what
   * they had with the viewer ended (NONE), and nothing if they had nothing.
   * @throws BAD_USER_INPUT (SELF); NOT_FOUND for an unknown user.
   */
  async block(userId: string): Promise<ContactRecord> {
    this.#refuseSelf(userId, 'You cannot block yourself.');
    return this.#change(userId, async (pair, at) => {
      const { state } = pair;
      if (!state.otherExists) throw userNotFound(pair.otherId);
      const viewerId = pair.userId.toString();
      const otherId = pair.otherId.toString();
      if (state.blockedAt) return { contact: viewOf(otherId, state), events: [] };
      if (state.mine || state.theirs) await pair.disconnect();
      await pair.block(at);
      const contact: ContactRecord = { userId: otherId, status: 'BLOCKED', since: at };
      const events = [{ to: viewerId, contact }];
      if (state.theirs) events.push({ to: otherId, contact: none(viewerId) });
      return { contact, events };
    });
  }

  /**
   * Lifts the viewer's block of `userId` (NONE afterwards: connect again to
   * be connected); unblocking someone not blocked changes nothing. The
   * unblocked user is not told. @throws BAD_USER_INPUT (SELF); NOT_FOUND for an unknown user.
   */
  async unblock(userId: string): Promise<ContactRecord> {
    this.#refuseSelf(userId, 'You cannot unblock yourself.');
    return this.#change(userId, async (pair) => {
      const { state } = pair;
      if (!state.otherExists) throw userNotFound(pair.otherId);
      const otherId = pair.otherId.toString();
      if (!state.blockedAt) return { contact: viewOf(otherId, state), events: [] };
      await pair.unblock();
      const contact = none(otherId);
      return { contact, events: [{ to: pair.userId.toString(), contact }] };
    });
  }

  /** @throws BAD_USER_INPUT for a malformed ID, and (reason SELF) for the viewer's own. */
  #refuseSelf(userId: string, message: string): void {
    const viewer = this.#requireViewer();
    if (requireId(userId, 'userId').toString() === viewer.id) throw refused(message, 'SELF');
  }

  /** Both rows in the given states, changed now; each user is told their side. */
  async #connect(
    pair: LockedPair,
    mine: 'INVITE_SENT' | 'CONNECTED',
    theirs: 'INVITE_RECEIVED' | 'CONNECTED',
    at: Date,
  ): Promise<PairChange> {
    await pair.connect(mine, theirs, at);
    const [viewerId, otherId] = [pair.userId.toString(), pair.otherId.toString()];
    const contact: ContactRecord = { userId: otherId, status: mine, since: at };
    return {
      contact,
      events: [
        { to: viewerId, contact },
        { to: otherId, contact: { userId: viewerId, status: theirs, since: at } },
      ],
    };
  }

  /** Deletes both rows; both users are told NONE. */
  async #disconnect(pair: LockedPair): Promise<PairChange> {
    await pair.disconnect();
    const [viewerId, otherId] = [pair.userId.toString(), pair.otherId.toString()];
    return {
      contact: none(otherId),
      events: [
        { to: viewerId, contact: none(otherId) },
        { to: otherId, contact: none(viewerId) },
      ],
    };
  }

  /**
   * Runs `work` on the pair of the viewer and `userId` under the pair's
   * lock, then announces what it changed once committed.
   * @throws UNAUTHENTICATED without a viewer; BAD_USER_INPUT for a malformed ID.
   */
  async #change(userId: string, work: (pair: LockedPair, at: Date) => Promise<PairChange>): Promise<ContactRecord> {
    const viewer = this.#requireViewer();
    const otherId = requireId(userId, 'userId');
    const change = await this.store.changePair(BigInt(viewer.id), otherId, (pair) => work(pair, new Date()));
    // Later fields of this operation (user { connectionStatus }) read the pair as it is now.
    this.#statuses?.clear(otherId.toString());
    await this.#announce(change);
    return change.contact;
  }

  /**
   * Publishes each user's view of a committed change. It is committed by
   * now, so a failure to publish is logged rather than reported as a failed
   * change: clients reload their lists on reconnecting.
   */
  async #announce(change: PairChange): Promise<void> {
    try {
      for (const { to, contact } of change.events)
        await this.pubsub.publish(Topics.userConnections(to), toEvent(contact));
    } catch (error) {
      log.warn('could not announce a committed connection change', { userId: change.contact.userId, error });
    }
  }
}
