/**
 * Who is in a chat, as the pipeline needs it for every message it announces:
 * kept in memory so a busy chat does not cost a database read per message.
 * Bounded (least recently used entries go first) and short-lived, so a
 * membership change is seen within `ttlMs` even without an explicit
 * invalidation; `invalidate` drops an entry at once.
 */
export interface MemberCacheOptions {
  load: (chatId: string) => Promise<string[]>;
  /** @default 10_000 chats */
  maxEntries?: number;
  /** @default 5_000 ms */
  ttlMs?: number;
  now?: () => number;
}

export class MemberCache {
  readonly #entries = new Map<string, { memberIds: Promise<string[]>; expires: number }>();
  readonly #load: (chatId: string) => Promise<string[]>;
  readonly #maxEntries: number;
  readonly #ttlMs: number;
  readonly #now: () => number;
  hits = 0;
  misses = 0;

  constructor({ load, maxEntries = 10_000, ttlMs = 5_000, now = Date.now }: MemberCacheOptions) {
    this.#load = load;
    this.#maxEntries = maxEntries;
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  get size(): number {
    return this.#entries.size;
  }

  memberIds(chatId: string): Promise<string[]> {
    const entry = this.#entries.get(chatId);
    if (entry && entry.expires > this.#now()) {
      // Re-insert: Map order is the recency order.
      this.#entries.delete(chatId);
      this.#entries.set(chatId, entry);
      this.hits += 1;
      return entry.memberIds;
    }
    this.misses += 1;
    const memberIds = this.#load(chatId);
    this.#entries.delete(chatId);
    this.#entries.set(chatId, { memberIds, expires: this.#now() + this.#ttlMs });
    memberIds.catch(() => this.#entries.delete(chatId));
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
    return memberIds;
  }

  invalidate(chatId?: string): void {
    if (chatId === undefined) this.#entries.clear();
    else this.#entries.delete(chatId);
  }
}
