import { DateTimeScalar } from '@chat/common';
import { mergeResolvers } from '@graphql-tools/merge';
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

const parts: Resolvers[] = [
  profileResolvers,
  sessionResolvers,
  connectionResolvers,
  contactChangeResolvers,
  accountResolvers,
];
assertOneResolverPerField(parts);

/** The resolvers of each area, one map per type. */
export const resolvers = mergeResolvers(parts) as Resolvers;

/** Merging would let a later area silently replace an earlier one's resolver: two for one field is a mistake. */
function assertOneResolverPerField(areas: readonly Resolvers[]): void {
  const seen = new Set<string>();
  for (const area of areas) {
    for (const [type, fields] of Object.entries(area)) {
      if (Object.getPrototypeOf(fields) !== Object.prototype) continue; // a scalar's own object
      for (const field of Object.keys(fields as object)) {
        if (seen.has(`${type}.${field}`)) throw new Error(`two resolvers for ${type}.${field}`);
        seen.add(`${type}.${field}`);
      }
    }
  }
}
