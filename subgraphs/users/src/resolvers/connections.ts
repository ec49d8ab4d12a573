import type { Resolvers } from '../generated/resolvers.ts';

/** connections, invite/accept/cancel/remove/block/unblock, connectionChanged, User.connectionStatus. */
export const connectionResolvers: Resolvers = {};
