/**
 * Who may call what in the presence subgraph (common/src/permissions.ts):
 * every root field needs a logged-in viewer. A user's presence is allowed
 * as a field: PresenceService.presenceOf answers FORBIDDEN for anyone whose
 * presence the viewer may not see, and presenceChanged checks the same at
 * subscribe time and per event.
 */
import { allow, applyPermissions, isAuthenticated, sameRule, type PermissionRules } from '@chat/common';
import type { GraphQLSchema } from 'graphql';

export const permissions: PermissionRules = {
  Query: {
    // Entity references from other subgraphs, on behalf of a logged-in viewer only.
    _entities: isAuthenticated,
    // The subgraph's SDL, which introspection shows too.
    _service: allow,
  },
  Mutation: sameRule(isAuthenticated, 'setPresence', 'presenceHeartbeat', 'presenceSignOff'),
  Subscription: {
    presenceChanged: isAuthenticated,
  },
  User: {
    id: allow,
    // Visibility is PresenceService.presenceOf's: FORBIDDEN for someone the viewer may not see.
    presence: allow,
  },
  Presence: sameRule(allow, 'status', 'lastSeenAt'),
  _Service: { sdl: allow },
};

/** The presence subgraph's schema behind its permissions. */
export const withPermissions = (schema: GraphQLSchema): GraphQLSchema => applyPermissions(schema, permissions);
