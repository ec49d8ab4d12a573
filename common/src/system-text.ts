/** The English rendering of a SYSTEM message, stored as its text (e.g. `Ann added Bob and Carl`). */
import type { SystemEventRecord } from './events.ts';

/** More users than this are summed up: `Ann added Bob, Carl, Dan, Eve and 12 others`. */
const MAX_NAMED = 5;
const SOMEONE = 'Someone';

/** `Bob`, `Bob and Carl`, `Bob, Carl and Dan`, …, `Bob, Carl, Dan, Eve and 12 others`. */
function listOf(names: readonly string[]): string {
  const shown =
    names.length <= MAX_NAMED
      ? [...names]
      : [...names.slice(0, MAX_NAMED - 1), `${names.length - (MAX_NAMED - 1)} others`];
  const last = shown.pop() ?? '';
  return shown.length === 0 ? last : `${shown.join(', ')} and ${last}`;
}

/** @param names display names by user ID; a missing one reads "Someone". */
export function renderSystemText(event: SystemEventRecord, names: ReadonlyMap<string, string>): string {
  const name = (id: string) => names.get(id) ?? SOMEONE;
  const actor = name(event.actorId);
  const users = listOf(event.userIds.map(name));
  switch (event.action) {
    case 'CHAT_CREATED':
      return `${actor} created the group "${event.title ?? ''}"`;
    case 'MEMBERS_ADDED':
      return `${actor} added ${users}`;
    case 'MEMBER_REMOVED':
      return `${actor} removed ${users}`;
    case 'MEMBER_LEFT':
      return `${users} left`;
    case 'ROLE_CHANGED':
      if (event.role === 'OWNER') return `${users} ${event.userIds.length === 1 ? 'is' : 'are'} now the owner`;
      return `${actor} made ${users} ${event.role === 'ADMIN' ? 'an admin' : 'a member'}`;
    case 'CHAT_RENAMED':
      return `${actor} renamed the group to "${event.title ?? ''}"`;
  }
}
