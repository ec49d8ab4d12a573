import type { Resolvers } from '../generated/resolvers.ts';

/** The user's own data. */
export const accountResolvers: Resolvers = {
  Mutation: {
    deleteMyAccount: (_parent, { password }, { account }) => account.deleteMyAccount(password),
  },
};
