/**
 * Helpers for in-process tests (`*.test.ts` beside the code), which run
 * subgraphs without a gateway: a session and its access token for a user row
 * a test created directly, and the viewer the gateway would forward for an
 * `Authorization` value.
 */
import type { Viewer } from '../auth.ts';
import type { Runtime } from '../runtime.ts';

let nextSessionId = 9_000_000_000n;

/** Starts a session for an existing user and returns `Bearer <access token>` for it. */
export async function openTestSession(runtime: Runtime, user: { id: string; username: string }): Promise<string> {
  if (!runtime.tokens) throw new Error('this runtime issues no tokens');
  const sessionId = nextSessionId++;
  await runtime.db.prisma.authSession.create({
    data: { id: sessionId, userId: BigInt(user.id), expiresAt: new Date(Date.now() + 86_400_000) },
  });
  const { token } = await runtime.tokens.issueAccessToken({ ...user, sessionId: sessionId.toString() });
  return `Bearer ${token}`;
}

/** What the gateway forwards for `authorization`: the viewer its token names (no session check; the subgraph makes it). */
export async function viewerOf(runtime: Runtime, authorization: string | null | undefined): Promise<Viewer | null> {
  if (!runtime.tokens) throw new Error('this runtime issues no tokens');
  return runtime.tokens.viewerFromAuthorization(authorization);
}
