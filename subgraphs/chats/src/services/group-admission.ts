/**
 * Who joins a group at once and who is only invited (docs/GROUPS.md#consent).
 *
 * The person added decides, with their `groupAddPolicy`: EVERYONE lets
 * anyone add them; CONNECTIONS (the default) only their connections; NOBODY
 * nobody: everyone else gets an invitation they may accept or decline. A
 * block, either way, refuses both: no membership, no invitation. A user who
 * blocked the adder is answered as a user who does not exist (NOT_FOUND), so
 * the adder cannot tell a block from a deleted account; a user the adder
 * blocked is BAD_USER_INPUT with reason BLOCKED (the adder knows already).
 */
import { apiError } from '@chat/common';
import { refuse } from '../errors.ts';
import type { Standing } from '../store/chat-store.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
/** An invitation not answered within this time lapses. */
export const INVITATION_TTL_MS = 30 * DAY_MS;
/** After a decline, the same group does not invite the same user again for this long. */
export const REINVITE_WAIT_MS = 7 * DAY_MS;

/** Invitations sent at or before this instant have lapsed. */
export const invitationCutoff = (now: Date): Date => new Date(now.getTime() - INVITATION_TTL_MS);

/** When an invitation sent at `invitedAt` lapses. */
export const invitationExpiry = (invitedAt: Date): Date => new Date(invitedAt.getTime() + INVITATION_TTL_MS);

/** The users of one request, split. */
export interface Admission {
  /** Added as members now. */
  members: bigint[];
  /** Invited: members once they accept. */
  invited: bigint[];
}

/** NOT_FOUND naming the users that do not exist, in `extensions.userIds`. */
export function usersNotFound(userIds: readonly string[]): Error {
  return apiError('NOT_FOUND', `${userIds.length === 1 ? 'User' : 'Users'} ${userIds.join(', ')} not found.`, {
    userIds: [...userIds],
  });
}

/** NOT_FOUND for an acceptance or a decline without a pending invitation. */
export const invitationNotFound = () => apiError('NOT_FOUND', 'You have no pending invitation to this chat.');

/**
 * Splits `userIds` (none of them the adder) into members and invitees, by
 * the `standings` of the adder with each (`ChatStore.standings`).
 * @throws NOT_FOUND naming unknown users and users who blocked the adder;
 * BAD_USER_INPUT (reason BLOCKED, on `argument`) naming users the adder blocked.
 */
export function admit(userIds: readonly bigint[], standings: readonly Standing[], argument: string): Admission {
  const byId = new Map(standings.map((standing) => [standing.userId, standing]));
  const missing = userIds.filter((id) => byId.get(id.toString())?.blockedByThem !== false).map(String);
  if (missing.length > 0) throw usersNotFound(missing);
  const blocked = userIds.filter((id) => byId.get(id.toString())?.blockedByAdder).map(String);
  if (blocked.length > 0) {
    throw refuse(
      'BLOCKED',
      `You blocked ${blocked.length === 1 ? 'user' : 'users'} ${blocked.join(', ')}; unblock them first.`,
      {
        argument,
        userIds: blocked,
      },
    );
  }
  const admission: Admission = { members: [], invited: [] };
  for (const id of userIds) {
    const standing = byId.get(id.toString());
    const direct = standing?.policy === 'EVERYONE' || (standing?.policy === 'CONNECTIONS' && standing.connected);
    (direct ? admission.members : admission.invited).push(id);
  }
  return admission;
}
