/** Changing the email address or the phone number, confirmed by a single-use code sent to the new one. */
import type { Viewer } from '@chat/common';
import type { MessageSender } from '../mail/sender.ts';
import type { ContactChangeStore } from '../store/contact-change-store.ts';

export class ContactChangeService {
  constructor(
    private readonly viewer: Viewer | null,
    private readonly store: ContactChangeStore,
    private readonly sender: MessageSender,
    /** Keys the code hashes (HMAC), so a copy of the database alone cannot test codes. */
    private readonly secret: Uint8Array,
  ) {}
}
