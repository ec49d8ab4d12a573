/** Changing the email address or the phone number, confirmed by a single-use code sent to the new one. */
import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';
import { apiError, conflict, fromZodError, log, notFound, unauthenticated, type Viewer } from '@chat/common';
import type { GraphQLError } from 'graphql';
import { z } from 'zod';
import type { MessageSender, OutgoingMessage } from '../mail/sender.ts';
import type { UserRecord } from '../store/user-store.ts';
import type { ContactChangeStore, ContactKind } from '../store/contact-change-store.ts';
import { refuse } from '../errors.ts';

/** How long a code is valid. */
export const CODE_TTL_MS = 15 * 60 * 1000;
/** Wrong codes allowed per code; asking again starts over. */
export const MAX_ATTEMPTS = 5;
/** Codes sent per user and kind per window. */
export const MAX_SENDS = 5;
/** The send window starts at the first send and lasts this long. */
export const SEND_WINDOW_MS = 60 * 60 * 1000;
export const CODE_DIGITS = 6;
export const EMAIL_MAX = 254;
export const CODE_SUBJECT = 'Your confirmation code';

/** Trimmed and lower-cased; at most 254 characters. */
export const ZNewEmailSchema = z.object({
  newEmail: z
    .string()
    .trim()
    .toLowerCase()
    .max(EMAIL_MAX, `must be at most ${EMAIL_MAX} characters`)
    .pipe(z.email('must be an email address')),
});

/** Spaces, dashes and parentheses removed, then E.164: + and 8 to 15 digits, not starting with 0. */
export const ZNewPhoneSchema = z.object({
  newPhone: z
    .string()
    .transform((value) => value.replace(/[\s()-]/g, ''))
    .pipe(
      z
        .string()
        .regex(/^\+[1-9]\d{7,14}$/, 'must be a phone number in E.164 form: + and 8 to 15 digits, e.g. +447700900123'),
    ),
});

/** Six digits; spaces are ignored. A malformed code is refused without counting an attempt. */
export const ZConfirmationCodeSchema = z.object({
  code: z
    .string()
    .transform((value) => value.replace(/\s/g, ''))
    .pipe(z.string().regex(new RegExp(`^\\d{${CODE_DIGITS}}$`), `must be the ${CODE_DIGITS}-digit code`)),
});

export interface ContactChangeRequest {
  /** Where the code went, partly hidden. */
  sentTo: string;
  expiresAt: Date;
}

/** a***@example.com */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  return `${email.slice(0, 1)}***${email.slice(at)}`;
}

/** +44******789: the country code's first two digits and the last three stay. */
export function maskPhone(phone: string): string {
  const digits = phone.slice(1);
  return `+${digits.slice(0, 2)}${'*'.repeat(digits.length - 5)}${digits.slice(-3)}`;
}

interface KindRules {
  channel: OutgoingMessage['channel'];
  argument: string;
  noun: string;
  mask(value: string): string;
  /** Said when another account took the value first; the same whoever holds it. */
  unusable: string;
}

const RULES: Record<ContactKind, KindRules> = {
  EMAIL: {
    channel: 'EMAIL',
    argument: 'newEmail',
    noun: 'email address',
    mask: maskEmail,
    unusable: 'This address cannot be used.',
  },
  PHONE: {
    channel: 'SMS',
    argument: 'newPhone',
    noun: 'phone number',
    mask: maskPhone,
    unusable: 'This number cannot be used.',
  },
};

const invalidCode = (message: string, attemptsLeft: number): GraphQLError =>
  refuse('INVALID_CODE', message, { argument: 'code', attemptsLeft });

/**
 * Per operation, for the viewer. Whether another account uses an address is
 * never told before its code is confirmed: a request is answered the same
 * either way, and the unique index decides at confirmation.
 */
export class ContactChangeService {
  constructor(
    private readonly viewer: Viewer | null,
    private readonly store: ContactChangeStore,
    private readonly sender: MessageSender,
    /** Keys the code hashes (HMAC), so a copy of the database alone cannot test codes. */
    private readonly secret: string | Uint8Array,
    /** @default the system clock */
    private readonly now: () => Date = () => new Date(),
    /** How long a code lasts (CONTACT_CODE_TTL_SECONDS). */
    private readonly codeTtlMs: number = CODE_TTL_MS,
  ) {}

  /**
   * Sends a code to `newEmail`. @throws UNAUTHENTICATED without a viewer;
   * BAD_USER_INPUT for an invalid address, or reason UNCHANGED for the current
   * one; RATE_LIMITED (`retryAfterSeconds`) beyond the sends allowed per hour;
   * UNAVAILABLE when the message could not be handed over.
   */
  requestEmailChange(newEmail: string): Promise<ContactChangeRequest> {
    this.#requireViewer();
    const parsed = ZNewEmailSchema.safeParse({ newEmail });
    if (!parsed.success) throw fromZodError(parsed.error);
    return this.#request('EMAIL', parsed.data.newEmail);
  }

  /** The same as {@link requestEmailChange} for a phone number, sent by SMS. */
  requestPhoneChange(newPhone: string): Promise<ContactChangeRequest> {
    this.#requireViewer();
    const parsed = ZNewPhoneSchema.safeParse({ newPhone });
    if (!parsed.success) throw fromZodError(parsed.error);
    return this.#request('PHONE', parsed.data.newPhone);
  }

  /**
   * Applies the pending email change if `code` is its code. @throws
   * BAD_USER_INPUT reason INVALID_CODE (`attemptsLeft`) for a wrong code, and
   * with no attempts left for an expired, used-up or missing one; CONFLICT
   * when another account holds the address by now (the change is dropped).
   */
  confirmEmailChange(code: string): Promise<UserRecord> {
    return this.#confirm('EMAIL', code);
  }

  /** The same as {@link confirmEmailChange} for the phone number. */
  confirmPhoneChange(code: string): Promise<UserRecord> {
    return this.#confirm('PHONE', code);
  }

  #requireViewer(): Viewer {
    if (!this.viewer) throw unauthenticated();
    return this.viewer;
  }

  async #request(kind: ContactKind, newValue: string): Promise<ContactChangeRequest> {
    const viewer = this.#requireViewer();
    const rules = RULES[kind];
    const current = await this.store.currentValue(viewer.id, kind);
    if (current === undefined) throw notFound('User');
    if (current === newValue)
      throw refuse('UNCHANGED', `That is already your ${rules.noun}.`, { argument: rules.argument });

    const code = randomInt(0, 10 ** CODE_DIGITS)
      .toString()
      .padStart(CODE_DIGITS, '0');
    const now = this.now();
    const expiresAt = new Date(now.getTime() + this.codeTtlMs);
    const saved = await this.store.saveRequest(
      { userId: viewer.id, kind, newValue, codeHash: this.#hash(viewer.id, kind, newValue, code), expiresAt },
      { now, windowStartsAfter: new Date(now.getTime() - SEND_WINDOW_MS), maxSends: MAX_SENDS },
    );
    if (!saved.ok) {
      const retryAfterSeconds = Math.max(
        1,
        Math.ceil((saved.windowStartedAt.getTime() + SEND_WINDOW_MS - now.getTime()) / 1000),
      );
      throw apiError(
        'RATE_LIMITED',
        `Too many codes were asked for: try again in ${Math.ceil(retryAfterSeconds / 60)} minutes.`,
        {
          retryAfterSeconds,
        },
      );
    }

    try {
      await this.sender.send({
        channel: rules.channel,
        to: newValue,
        subject: CODE_SUBJECT,
        text: `Your confirmation code is ${code}. It expires in ${describeDuration(this.codeTtlMs)}.\n\nIf you did not ask to change the ${rules.noun} of your account to this one, ignore this message.`,
      });
    } catch (error) {
      log.error('could not send a confirmation code', { channel: rules.channel, error });
      throw apiError('UNAVAILABLE', 'The code could not be sent; try again later.');
    }
    return { sentTo: rules.mask(newValue), expiresAt };
  }

  async #confirm(kind: ContactKind, code: string): Promise<UserRecord> {
    const viewer = this.#requireViewer();
    const parsed = ZConfirmationCodeSchema.safeParse({ code });
    if (!parsed.success) throw fromZodError(parsed.error);
    const pending = await this.store.countAttempt(viewer.id, kind, this.now(), MAX_ATTEMPTS);
    if (!pending)
      throw invalidCode(
        'There is no valid code to confirm (none was asked for, it expired, or it was tried too often): ask for a new one.',
        0,
      );
    if (!this.#matches(pending.codeHash, this.#hash(viewer.id, kind, pending.newValue, parsed.data.code))) {
      const attemptsLeft = Math.max(0, MAX_ATTEMPTS - pending.attempts);
      throw invalidCode(
        attemptsLeft > 0
          ? `The code is wrong: ${attemptsLeft} attempts left.`
          : 'The code is wrong and no attempts are left: ask for a new one.',
        attemptsLeft,
      );
    }
    const applied = await this.store.applyChange(viewer.id, kind, pending.newValue, pending.codeHash);
    if (applied.ok) return applied.user;
    if (applied.reason === 'TAKEN') throw conflict(RULES[kind].unusable);
    // Confirmed or replaced by a concurrent request meanwhile.
    throw invalidCode('The code is no longer valid: ask for a new one.', 0);
  }

  /** Hex HMAC-SHA256 binding the code to the user, the kind and the new value. */
  #hash(userId: string, kind: ContactKind, newValue: string, code: string): string {
    return createHmac('sha256', this.secret).update(`${userId}:${kind}:${newValue}:${code}`).digest('hex');
  }

  #matches(storedHex: string, computedHex: string): boolean {
    const stored = Buffer.from(storedHex, 'hex');
    const computed = Buffer.from(computedHex, 'hex');
    return stored.length === computed.length && timingSafeEqual(stored, computed);
  }
}

/** `15 minutes`, `1 minute`, `30 seconds`. */
function describeDuration(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (ms >= 60_000 && ms % 60_000 === 0) return `${minutes} minute${minutes === 1 ? '' : 's'}`;
  const seconds = Math.max(1, Math.round(ms / 1000));
  return `${seconds} second${seconds === 1 ? '' : 's'}`;
}
