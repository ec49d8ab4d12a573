import { DateTimeScalar, Topics, unauthenticated, withFilter } from '@chat/common';
import type { Context } from '../context.ts';
import type { Resolvers } from '../generated/resolvers.ts';

interface MediaEvent {
  mediaId: string;
}

export const resolvers: Resolvers = {
  DateTime: DateTimeScalar,
  Query: {
    media: (_parent, { id }, { media }) => media.media(id),
  },
  Mutation: {
    createUpload: (_parent, { input }, { media }) => media.createUpload(input),
    completeUpload: (_parent, { mediaId }, { media }) => media.completeUpload(mediaId),
  },
  Subscription: {
    mediaStatusChanged: {
      subscribe: (_parent, { mediaId }, { viewer, pubsub }) => {
        if (!viewer) throw unauthenticated();
        // The topic is the viewer's own: only their uploads are announced on it.
        return withFilter<MediaEvent>(
          () => pubsub.asyncIterableIterator<MediaEvent>(Topics.userMedia(viewer.id)),
          (event) => Boolean(event && (!mediaId || event.mediaId === mediaId)),
        )();
      },
      resolve: (event: MediaEvent, _args: unknown, { media }: Context) => media.current(event.mediaId),
    },
  },
  User: {
    __resolveReference: (reference) => ({ id: reference.id }),
    storage: (user, _args, { media }) => media.storage(user.id),
  },
  Media: {
    __resolveReference: (reference, { media }) => media.visible(reference.id),
    url: (record, _args, { media }) => media.url(record),
    thumbnailUrl: (record, _args, { media }) => media.thumbnailUrl(record),
  },
};
