import { notFound } from '@chat/common';
import type { Resolvers } from '../generated/resolvers.ts';
import type { ConnectionEvent } from '../services/connection-service.ts';
import type { ContactRecord } from '../store/connection-store.ts';

/** connections, invite/accept/cancel/remove/block/unblock, connectionChanged, User.connectionStatus. */
export const connectionResolvers: Resolvers = {
  Query: {
    connections: (_parent, args, { connections }) => connections.connections(args),
  },
  Mutation: {
    inviteConnection: (_parent, { userId }, { connections }) => connections.invite(userId),
    acceptConnection: (_parent, { userId }, { connections }) => connections.accept(userId),
    cancelConnection: (_parent, { userId }, { connections }) => connections.cancel(userId),
    removeConnection: (_parent, { userId }, { connections }) => connections.remove(userId),
    blockUser: (_parent, { userId }, { connections }) => connections.block(userId),
    unblockUser: (_parent, { userId }, { connections }) => connections.unblock(userId),
  },
  Subscription: {
    connectionChanged: {
      subscribe: (_parent, _args, { connections, pubsub }) =>
        pubsub.asyncIterableIterator<ConnectionEvent>(connections.topic()),
      resolve: (event: ConnectionEvent): ContactRecord => event,
    },
  },
  Contact: {
    // Through the operation's user loader: a page of contacts is one query.
    user: async (contact, _args, { users }) => {
      const user = await users.byReference(contact.userId);
      if (!user) throw notFound(`User ${contact.userId}`);
      return user;
    },
  },
  User: {
    connectionStatus: (user, _args, { connections }) => connections.statusOf(user.id),
  },
};
