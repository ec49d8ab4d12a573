/**
 * Who is in a chat, as the pipeline needs it for every message it announces:
 * kept in memory so a busy chat does not cost a database read per message.
 * Bounded (least recently used entries go first) and short-lived, so a
 * membership change is seen within `ttlMs` even without an explicit
 * invalidation; `invalidate` drops an entry at once.
 */
import { LRUCache } from 'lru-cache';

export interface MemberCacheOptions {
  load: (chatId: string) => Promise<string[]>;
  /** @default 10_000 chats */
  maxEntries?: number;
  /** @default 5_000 ms */
  ttlMs?: number;
  now?: () => number;
}

export class MemberCache {
  readonly #entries: LRUCache<string, Promise<string[]>>;
  readonly #load: (chatId: string) => Promise<string[]>;
  hits = 0;
  misses = 0;

  constructor({ load, maxEntries = 10_000, ttlMs = 5_000, now = Date.now }: MemberCacheOptions) {
    this.#load = load;
    // ttlResolution 0: ask the clock on every read (lru-cache otherwise reuses a reading for a millisecond).
    this.#entries = new LRUCache({ max: maxEntries, ttl: ttlMs, ttlResolution: 0, perf: { now } });
  }

  get size(): number {
    return this.#entries.size;
  }

  memberIds(chatId: string): Promise<string[]> {
    const cached = this.#entries.get(chatId);
    if (cached) {
      this.hits += 1;
      return cached;
    }
    this.misses += 1;
    const memberIds = this.#load(chatId);
    this.#entries.set(chatId, memberIds);
    memberIds.catch(() => this.#entries.delete(chatId));
    return memberIds;
  }

  invalidate(chatId?: string): void {
    if (chatId === undefined) this.#entries.clear();
    else this.#entries.delete(chatId);
  }
}
