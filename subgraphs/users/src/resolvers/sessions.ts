import type { Resolvers } from '../generated/resolvers.ts';

/** Logging in and out, tokens and the viewer's devices. */
export const sessionResolvers: Resolvers = {
  Query: {
    sessions: (_parent, _args, { auth, viewer }) => auth.sessions(viewer),
  },
  Mutation: {
    register: (_parent, { input }, { auth }) => auth.register(input),
    login: (_parent, { input }, { auth }) => auth.login(input),
    refreshToken: (_parent, { refreshToken }, { auth }) => auth.refresh(refreshToken),
    logout: (_parent, _args, { auth, viewer }) => auth.logout(viewer),
    logoutEverywhere: (_parent, _args, { auth, viewer }) => auth.logoutEverywhere(viewer),
    endSession: (_parent, { id }, { auth, viewer }) => auth.endSession(viewer, id),
    changePassword: (_parent, { input }, { auth, viewer }) => auth.changePassword(viewer, input),
  },
  Session: {
    current: (session, _args, { viewer }) => session.current ?? session.id === viewer?.sessionId,
  },
};
