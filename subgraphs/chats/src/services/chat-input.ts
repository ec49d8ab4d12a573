/** Validation of the chats subgraph's inputs, in one place. */
import { parseId, zName } from '@chat/common';
import { z } from 'zod';

export const MAX_TITLE_LENGTH = 100;
/** Members of a group, its owner included: createGroupChat and addChatMembers both stop here. */
export const MAX_GROUP_MEMBERS = 256;
/** Members of a group besides its owner; also the most users one addChatMembers call may name. */
export const MAX_OTHER_MEMBERS = MAX_GROUP_MEMBERS - 1;

/** An ID argument, parsed to its numeric value. */
const ZId = z.string().transform((value, ctx) => {
  const id = parseId(value);
  if (id === undefined) {
    ctx.addIssue({ code: 'custom', message: 'is not a valid ID', input: value });
    return z.NEVER;
  }
  return id;
});

/** A group's title, for createGroupChat and renameChat alike: a name (`zName`) of at most 100 characters. */
export const ZTitleSchema = zName(MAX_TITLE_LENGTH);

/** Distinct IDs, in the order first given. */
const ZIdList = z.array(ZId).transform((ids) => [...new Set(ids)]);

/**
 * `createGroupChat(input)` together with the viewer who creates the group:
 * the title is trimmed; member IDs are deduplicated and the viewer (who joins
 * as OWNER anyway) is removed before the limit is applied.
 */
export const ZCreateGroupChatInputSchema = z
  .object({
    viewerId: ZId,
    title: ZTitleSchema,
    memberIds: ZIdList,
  })
  .transform(({ viewerId, title, memberIds }, ctx) => {
    const others = memberIds.filter((id) => id !== viewerId);
    if (others.length > MAX_OTHER_MEMBERS) {
      ctx.addIssue({
        code: 'custom',
        path: ['memberIds'],
        message: `must name at most ${MAX_OTHER_MEMBERS} users besides you`,
        input: memberIds,
      });
      return z.NEVER;
    }
    return { title, memberIds: others };
  });

export type CreateGroupChatInput = z.infer<typeof ZCreateGroupChatInputSchema>;

/** `addChatMembers`: duplicates are dropped before the per-call limit is applied. */
export const ZAddChatMembersInputSchema = z.object({
  chatId: ZId,
  userIds: ZIdList.refine((ids) => ids.length <= MAX_OTHER_MEMBERS, `must name at most ${MAX_OTHER_MEMBERS} users`),
});

/** `removeChatMember`. */
export const ZRemoveChatMemberInputSchema = z.object({ chatId: ZId, userId: ZId });

/**
 * `setChatMemberRole` together with the viewer: OWNER cannot be given (the
 * owner hands it over only by leaving), and nobody changes their own role.
 */
export const ZSetChatMemberRoleInputSchema = z
  .object({
    viewerId: ZId,
    chatId: ZId,
    userId: ZId,
    role: z.enum(['ADMIN', 'MEMBER'], {
      error: 'must be ADMIN or MEMBER: ownership passes only when the owner leaves',
    }),
  })
  .refine(({ viewerId, userId }) => viewerId !== userId, {
    path: ['userId'],
    message: 'you cannot change your own role',
  })
  .transform(({ chatId, userId, role }) => ({ chatId, userId, role }));

/** `renameChat`: the title follows the rule of createGroupChat. */
export const ZRenameChatInputSchema = z.object({ chatId: ZId, title: ZTitleSchema });
