/**
 * Who may call what in the media subgraph (common/src/permissions.ts): every
 * root field needs a logged-in viewer. Who may see a media is MediaService's
 * rule (its uploader; READY avatars for anyone logged in; NOT_FOUND for
 * everyone else), so its fields are allowed once the media was returned.
 * A user's storage is theirs alone (`isSelf`).
 */
import {
  allow,
  applyPermissions,
  forbidden,
  isAuthenticated,
  permissionRule,
  sameRule,
  unauthenticated,
  type BaseContext,
  type PermissionRules,
} from '@chat/common';
import type { GraphQLSchema } from 'graphql';

/** The user the field belongs to is the viewer; FORBIDDEN for anyone else. */
const isSelf = permissionRule<BaseContext>('media.isSelf', 'no_cache', (parent, _args, { viewer }) => {
  if (!viewer) return unauthenticated();
  return (parent as { id?: unknown }).id === viewer.id ? true : forbidden('Only you see your storage.');
});

export const permissions: PermissionRules = {
  Query: {
    media: isAuthenticated,
    // Entity references from other subgraphs, on behalf of a logged-in viewer only.
    _entities: isAuthenticated,
    // The subgraph's SDL, which introspection shows too.
    _service: allow,
  },
  Mutation: sameRule(isAuthenticated, 'createUpload', 'completeUpload'),
  Subscription: { mediaStatusChanged: isAuthenticated },
  Media: sameRule(
    allow,
    'id',
    'purpose',
    'contentType',
    'size',
    'fileName',
    'kind',
    'status',
    'rejectionReason',
    'width',
    'height',
    'durationMs',
    'thumbnailUrl',
    'url',
    'createdAt',
  ),
  User: {
    id: allow,
    storage: isSelf,
  },
  StorageUsage: sameRule(allow, 'used', 'quota'),
  UploadTicket: sameRule(allow, 'mediaId', 'uploadUrl', 'headers', 'expiresAt'),
  UploadHeader: sameRule(allow, 'name', 'value'),
  _Service: { sdl: allow },
};

/** The media subgraph's schema behind its permissions. */
export const withPermissions = (schema: GraphQLSchema): GraphQLSchema => applyPermissions(schema, permissions);
