import { DateTimeScalar } from '@chat/common';
import type { PresenceEvent } from '../services/presence-service.ts';
import type { Resolvers } from '../generated/resolvers.ts';
import type { UserPresenceRef } from '../store/presence-store.ts';

export const resolvers: Resolvers = {
  DateTime: DateTimeScalar,
  Mutation: {
    setPresence: (_parent, { status }, { presence }) => presence.setPresence(status),
  },
  Subscription: {
    presenceChanged: {
      subscribe: async (_parent, { userIds }, { presence, pubsub }) =>
        pubsub.asyncIterableIterator<PresenceEvent>(await presence.watchTopics(userIds)),
      resolve: (event: PresenceEvent): UserPresenceRef => ({
        id: event.userId,
        presence: { status: event.status, lastSeenAt: event.lastSeenAt },
      }),
    },
  },
  User: {
    __resolveReference: (reference) => ({ id: reference.id }),
    presence: (user, _args, { presence }) => user.presence ?? presence.presenceOf(user.id),
  },
};
