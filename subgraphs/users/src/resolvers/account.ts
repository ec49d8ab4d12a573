import { unauthenticated } from '@chat/common';
import type { Resolvers } from '../generated/resolvers.ts';

/** The user's own data. */
export const accountResolvers: Resolvers = {
  Mutation: {
    deleteMyAccount: (_parent, { password }, { account }) => account.deleteMyAccount(password),
    exportMyData: (_parent, _args, { account }) => account.exportMyData(),
  },
  DataExport: {
    __resolveReference: (reference, { account }) => account.exportReference(reference.userId),
    exportedAt: (data) => data.exportedAt ?? new Date(),
    profile: async (data, _args, { users }) => {
      const user = await users.byReference(data.userId);
      if (!user) throw unauthenticated('The session has ended; log in again.');
      return user;
    },
    contacts: (data, _args, { account }) => account.contacts(data),
  },
};
