/**
 * Who may call what in the users subgraph (common/src/permissions.ts): every
 * root field needs a logged-in viewer except the three that log one in.
 * Fields of object types are allowed: they are reached only through those
 * root fields, and where a value belongs to its owner alone the resolver
 * already hides it from everyone else (noted per field).
 */
import { allow, applyPermissions, isAuthenticated, sameRule, type PermissionRules } from '@chat/common';
import type { GraphQLSchema } from 'graphql';

export const permissions: PermissionRules = {
  Query: {
    ...sameRule(isAuthenticated, 'me', 'sessions', 'user', 'users', 'connections'),
    // Entity references from other subgraphs, on behalf of a logged-in viewer only.
    _entities: isAuthenticated,
    // The subgraph's SDL, which introspection shows too.
    _service: allow,
  },
  Mutation: {
    // Anonymous by nature: they are how a caller becomes a viewer.
    ...sameRule(allow, 'register', 'login', 'refreshToken'),
    ...sameRule(
      isAuthenticated,
      'logout',
      'logoutEverywhere',
      'endSession',
      'changePassword',
      'updateProfile',
      'setAvatar',
      'inviteConnection',
      'acceptConnection',
      'cancelConnection',
      'removeConnection',
      'blockUser',
      'unblockUser',
      'requestEmailChange',
      'confirmEmailChange',
      'requestPhoneChange',
      'confirmPhoneChange',
      'deleteMyAccount',
      'exportMyData',
    ),
  },
  Subscription: {
    connectionChanged: isAuthenticated,
  },
  // The viewer's own sessions only: `sessions` and the AuthPayload of their own login.
  Session: sameRule(allow, 'id', 'deviceName', 'userAgent', 'createdAt', 'lastUsedAt', 'expiresAt', 'current'),
  // Handed to the (possibly anonymous) caller of register, login and refreshToken.
  AuthPayload: sameRule(allow, 'accessToken', 'refreshToken', 'accessTokenExpiresAt', 'session', 'user'),
  User: {
    // The public profile.
    ...sameRule(allow, 'id', 'username', 'displayName', 'createdAt'),
    // Owner only: UserService.ownerOnly answers null to everyone else.
    ...sameRule(allow, 'email', 'phone', 'version', 'groupAddPolicy'),
    // The viewer's own relationship with the user.
    connectionStatus: allow,
    // A reference: the media subgraph serves READY avatars to anyone logged in.
    avatar: allow,
  },
  Media: { id: allow },
  // The viewer's own contacts: `connections`, their export and their own connectionChanged topic.
  Contact: sameRule(allow, 'user', 'status', 'since'),
  ContactConnection: sameRule(allow, 'edges', 'pageInfo'),
  ContactEdge: sameRule(allow, 'cursor', 'node'),
  ContactChangeRequest: sameRule(allow, 'sentTo', 'expiresAt'),
  UserConnection: sameRule(allow, 'edges', 'pageInfo'),
  UserEdge: sameRule(allow, 'cursor', 'node'),
  PageInfo: sameRule(allow, 'hasNextPage', 'endCursor', 'hasPreviousPage', 'startCursor'),
  // The viewer's own export only: AccountService.exportReference refuses anyone else's (FORBIDDEN).
  DataExport: sameRule(allow, 'userId', 'exportedAt', 'profile', 'contacts'),
  _Service: { sdl: allow },
};

/** The users subgraph's schema behind its permissions. */
export const withPermissions = (schema: GraphQLSchema): GraphQLSchema => applyPermissions(schema, permissions);
