import type { Resolvers } from '../generated/resolvers.ts';

/** request/confirm email and phone changes. */
export const contactChangeResolvers: Resolvers = {
  Mutation: {
    requestEmailChange: (_parent, { newEmail }, { contactChanges }) => contactChanges.requestEmailChange(newEmail),
    confirmEmailChange: (_parent, { code }, { contactChanges }) => contactChanges.confirmEmailChange(code),
    requestPhoneChange: (_parent, { newPhone }, { contactChanges }) => contactChanges.requestPhoneChange(newPhone),
    confirmPhoneChange: (_parent, { code }, { contactChanges }) => contactChanges.confirmPhoneChange(code),
  },
};
