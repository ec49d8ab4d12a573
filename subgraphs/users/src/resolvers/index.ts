import { DateTimeScalar } from '@chat/common';
import type { Resolvers } from '../generated/resolvers.ts';

export const resolvers: Resolvers = {
  DateTime: DateTimeScalar,
  Query: {
    me: (_parent, _args, { users }) => users.me(),
    user: (_parent, { id }, { users }) => users.user(id),
    users: (_parent, args, { users }) => users.users(args),
  },
  Mutation: {
    register: (_parent, { input }, { auth }) => auth.register(input),
    login: (_parent, { input }, { auth }) => auth.login(input),
  },
  User: {
    __resolveReference: (reference, { users }) => users.byReference(reference.id),
  },
};
