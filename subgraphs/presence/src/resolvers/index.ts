import { DateTimeScalar, withFilter } from '@chat/common';
import type { PresenceEvent } from '../services/presence-service.ts';
import type { Resolvers } from '../generated/resolvers.ts';
import type { UserPresenceRef } from '../store/presence-store.ts';

export const resolvers: Resolvers = {
  DateTime: DateTimeScalar,
  Mutation: {
    setPresence: (_parent, { status, deviceId }, { presence }) => presence.setPresence(status, deviceId),
    presenceHeartbeat: (_parent, { deviceId, active }, { presence }) => presence.heartbeat(deviceId, active),
    presenceSignOff: (_parent, { deviceId }, { presence }) => presence.signOff(deviceId),
  },
  Subscription: {
    presenceChanged: {
      // Visibility is checked at subscribe time and again per event: someone who
      // stops sharing a chat with the viewer stops showing up at once.
      subscribe: async (_parent, { userIds }, { presence, pubsub }) => {
        const topics = await presence.watchTopics(userIds);
        return withFilter<PresenceEvent>(
          () => pubsub.asyncIterableIterator<PresenceEvent>(topics),
          (event) => (event ? presence.stillVisible(event.userId) : false),
        )();
      },
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
