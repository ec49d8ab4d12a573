/**
 * Fields of the users subgraph whose value is the same for every signed-in
 * viewer: the public profile. The gateway may fetch them once for all the
 * subscribers of one event instead of once per subscriber
 * (gateway/src/subscriptions/bridge.ts). A field whose value depends on who
 * asks (`email` is the owner's alone, `connectionStatus` is the viewer's own)
 * must never be listed; `shared-fields.test.ts` asks for each listed field as
 * several viewers, a blocked one included, and compares.
 */
export const SHARED_FIELDS: readonly string[] = ['User.id', 'User.username', 'User.displayName', 'User.createdAt'];
