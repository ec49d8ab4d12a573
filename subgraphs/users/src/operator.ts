/**
 * What an operator does to accounts outside the API, from a shell
 * (`npm run sessions:end`), with the deployment's own configuration.
 */
import { announceEndedSessions, type Runtime } from '@chat/common';
import { SessionStore } from './store/session-store.ts';
import { UserStore } from './store/user-store.ts';

/**
 * Cuts a user off: ends every session of theirs at once (a stolen device, a
 * compromised account), so their access and refresh tokens are refused and
 * their live streams end on every gateway, as after `logoutEverywhere`.
 * @returns the sessions ended, or null for an unknown username
 */
export async function cutOffSessions(runtime: Runtime, username: string, now = new Date()): Promise<string[] | null> {
  const found = await new UserStore(runtime.db.prisma, runtime.cache).findCredentials(username.toLowerCase());
  if (!found) return null;
  const ended = await new SessionStore(runtime.db.prisma).endAll(found.user.id, 'CUT_OFF', now);
  await announceEndedSessions(runtime, ended);
  return ended;
}
