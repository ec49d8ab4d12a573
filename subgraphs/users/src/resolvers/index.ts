import { DateTimeScalar } from '@chat/common';
import type { Resolvers } from '../generated/resolvers.ts';
import { accountResolvers } from './account.ts';
import { connectionResolvers } from './connections.ts';
import { contactChangeResolvers } from './contact-changes.ts';
import { sessionResolvers } from './sessions.ts';

const profileResolvers: Resolvers = {
  DateTime: DateTimeScalar,
  Query: {
    me: (_parent, _args, { users }) => users.me(),
    user: (_parent, { id }, { users }) => users.user(id),
    users: (_parent, args, { users }) => users.users(args),
  },
  Mutation: {
    updateProfile: (_parent, { input }, { users }) => users.updateProfile(input),
    setAvatar: (_parent, { mediaId }, { users }) => users.setAvatar(mediaId),
  },
  User: {
    __resolveReference: (reference, { users }) => users.byReference(reference.id),
    email: (user, _args, { users }) => users.ownerOnly(user, user.email),
    phone: (user, _args, { users }) => users.ownerOnly(user, user.phone),
    version: (user, _args, { users }) => users.ownerOnly(user, user.version),
    groupAddPolicy: (user, _args, { users }) => users.ownerOnly(user, user.groupAddPolicy),
    avatar: (user) => (user.avatarMediaId ? { id: user.avatarMediaId } : null),
  },
};

/** The resolvers of each area, one map per type. */
export const resolvers: Resolvers = mergeResolvers([profileResolvers, sessionResolvers, connectionResolvers, contactChangeResolvers, accountResolvers]);

function mergeResolvers(parts: Resolvers[]): Resolvers {
  const isPlain = (value: unknown): value is Record<string, unknown> =>
    typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
  const merged: Record<string, unknown> = {};
  for (const part of parts) {
    for (const [type, fields] of Object.entries(part)) {
      const existing = merged[type];
      if (isPlain(existing) && isPlain(fields)) {
        const clash = Object.keys(fields).find((field) => field in existing);
        if (clash) throw new Error(`two resolvers for ${type}.${clash}`);
        merged[type] = { ...existing, ...fields };
      } else {
        merged[type] = fields;
      }
    }
  }
  return merged as Resolvers;
}
