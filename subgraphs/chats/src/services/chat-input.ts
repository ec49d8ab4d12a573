/** Validation of the chats subgraph's inputs, in one place. */
import { parseId } from '@chat/common';
import { z } from 'zod';

export const MAX_TITLE_LENGTH = 100;
/** Members of a group besides its owner. */
export const MAX_OTHER_MEMBERS = 255;

/** An ID argument, parsed to its numeric value. */
const ZId = z.string().transform((value, ctx) => {
  const id = parseId(value);
  if (id === undefined) {
    ctx.addIssue({ code: 'custom', message: 'is not a valid ID', input: value });
    return z.NEVER;
  }
  return id;
});

/**
 * `createGroupChat(input)` together with the viewer who creates the group:
 * the title is trimmed; member IDs are deduplicated and the viewer (who joins
 * as OWNER anyway) is removed before the limit is applied.
 */
export const ZCreateGroupChatInputSchema = z
  .object({
    viewerId: ZId,
    title: z
      .string()
      .trim()
      .min(1, 'must not be empty')
      .max(MAX_TITLE_LENGTH, `must be at most ${MAX_TITLE_LENGTH} characters`),
    memberIds: z.array(ZId),
  })
  .transform(({ viewerId, title, memberIds }, ctx) => {
    const others = [...new Set(memberIds)].filter((id) => id !== viewerId);
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
