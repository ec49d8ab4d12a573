/**
 * What clients may send to the messages subgraph: the texts, IDs, emoji and
 * cursors of its arguments, validated at the edge (zod), with the limits
 * they follow.
 */
import { badInput, decodeCursor, encodeCursor, INVALID_TEXT, normaliseMessageText, parseId } from '@chat/common';
import { z } from 'zod';

export const MAX_TEXT_LENGTH = 4000;
/**
 * Longest text accepted before trimming: room for surrounding whitespace, and
 * a cheap refusal of huge strings before any work is done on them.
 */
export const MAX_RAW_TEXT_LENGTH = 2 * MAX_TEXT_LENGTH;
export const MAX_CLIENT_MESSAGE_ID_LENGTH = 64;

const ZId = z.string().refine((value) => parseId(value) !== undefined, 'must be a valid ID');

/**
 * Control characters other than tab and line breaks: invisible in a chat, and
 * able to rewrite a terminal that prints them. (Postgres text cannot hold NUL
 * at all.)
 */
// eslint-disable-next-line no-control-regex -- control characters are what it looks for
const CONTROL_CHARACTER = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;

/**
 * A message's text as stored: trimmed, normalised (NFC, bidi controls
 * balanced: see `normaliseMessageText`), then counted; empty is allowed only
 * with media (checked on the whole input, `ZSendMessageInputSchema`).
 */
const ZCaptionSchema = z
  .string()
  .max(MAX_RAW_TEXT_LENGTH, `must be at most ${MAX_TEXT_LENGTH} characters`)
  .transform((text) => normaliseMessageText(text.trim()))
  .pipe(
    z
      .string()
      .max(MAX_TEXT_LENGTH, `must be at most ${MAX_TEXT_LENGTH} characters`)
      .refine((text) => !CONTROL_CHARACTER.test(text), {
        message: 'must not contain control characters other than tab and line breaks',
        params: { reason: INVALID_TEXT },
      }),
  );

/** An edited message's text: the rules of `ZCaptionSchema`, and never empty. */
const ZTextSchema = ZCaptionSchema.refine((text) => text.length > 0, 'must not be empty');

/** How many media one message may carry. */
export const MAX_MEDIA_PER_MESSAGE = 10;

export const ZSendMessageInputSchema = z
  .object({
    chatId: ZId,
    text: ZCaptionSchema,
    mediaIds: z
      .array(z.string().regex(/^\d{1,20}$/, 'must be media IDs'))
      .max(MAX_MEDIA_PER_MESSAGE, `at most ${MAX_MEDIA_PER_MESSAGE} media per message`)
      .refine((ids) => new Set(ids).size === ids.length, 'must not repeat a media')
      .nullish()
      .transform((ids) => ids ?? []),
    clientMessageId: z
      .string()
      .min(1, 'must not be empty')
      .max(MAX_CLIENT_MESSAGE_ID_LENGTH, `must be at most ${MAX_CLIENT_MESSAGE_ID_LENGTH} characters`)
      .regex(/^[A-Za-z0-9._:-]*$/, 'may contain only letters, digits and . _ : -'),
  })
  .refine((input) => input.text.length > 0 || input.mediaIds.length > 0, {
    path: ['text'],
    message: 'must not be empty',
  });

export type SendMessageInput = z.input<typeof ZSendMessageInputSchema>;

export const ZEditMessageInputSchema = z.object({ id: ZId, text: ZTextSchema });

/** One emoji, as Unicode defines them (skin tones, flags and ZWJ sequences included). */
export const ZEmojiSchema = z
  .string()
  .max(64, 'must be a single emoji')
  // The `v` flag (Unicode sets) is what knows emoji sequences; built at run time since the compile target predates it.
  .regex(new RegExp('^\\p{RGI_Emoji}$', 'v'), 'must be a single emoji');

/** How many different emoji one user may put on one message. */
export const MAX_REACTIONS_PER_USER = 20;

/** The cursor of a placed message: its `seq`. */
export const messageCursor = (seq: string): string => encodeCursor([seq]);

/** The sequence number inside a cursor. @throws BAD_USER_INPUT for a cursor this API did not issue. */
export function cursorSeq(cursor: string, argument: string): string {
  const [seq] = decodeCursor(cursor, 1);
  const parsed = seq === undefined ? undefined : parseId(seq);
  if (parsed === undefined) throw badInput('Invalid cursor.', { argument });
  return parsed.toString();
}

/** A time window in words, for refusals: "15 minutes", "48 hours". */
export function formatWindow(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} hour${ms === 3_600_000 ? '' : 's'}`;
  if (ms % 60_000 === 0) return `${ms / 60_000} minute${ms === 60_000 ? '' : 's'}`;
  return `${Math.round(ms / 1000)} seconds`;
}
