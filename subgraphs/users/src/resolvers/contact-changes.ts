import type { Resolvers } from '../generated/resolvers.ts';

/** request/confirm email and phone changes. */
export const contactChangeResolvers: Resolvers = {};
