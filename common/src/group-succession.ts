/**
 * Who inherits a group when its owner leaves it: by `leaveChat` (chats
 * subgraph) or by erasing their account (users subgraph). One rule for both,
 * docs/GROUPS.md.
 */

/** The roles succession looks at; a group has exactly one OWNER. */
export type GroupRole = 'OWNER' | 'ADMIN' | 'MEMBER';

/**
 * The member who becomes OWNER when `ownerId` leaves: the longest-standing
 * ADMIN, else the longest-standing MEMBER.
 * @param members the group's members in joining order (oldest first); the
 *   leaving owner may be among them or already gone.
 * @returns undefined when nobody else is left.
 */
export function heirOf<M extends { userId: unknown; role: GroupRole }>(
  members: readonly M[],
  ownerId: M['userId'],
): M | undefined {
  const others = members.filter((member) => member.userId !== ownerId);
  return others.find((member) => member.role === 'ADMIN') ?? others.find((member) => member.role === 'MEMBER');
}
