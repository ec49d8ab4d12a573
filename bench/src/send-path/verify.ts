/**
 * "Nothing lost": every acknowledged message must have reached its chat's
 * subscriber and must be readable back from history. History is read the
 * way a client catching up reads it, through the gateway: the first time
 * back from the newest message (`messages(chatId, first: 100, before)`),
 * then forward from the newest one read (`after`), page after page until
 * nothing newer is left, so each check reads only what arrived since the
 * previous one.
 */
const CHECK_QUERY = `query SendPathCheck($chatId: ID!, $after: String, $before: String) {
  messages(chatId: $chatId, first: 100, after: $after, before: $before) {
    edges { node { id } }
    pageInfo { hasNextPage endCursor hasPreviousPage startCursor }
  }
}`;

interface Page {
  edges: { node: { id: string } }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null; hasPreviousPage: boolean; startCursor: string | null };
}

/** One chat to read, as one of its members. */
export interface CheckedChat {
  chatId: string;
  token: string;
}

export class HistoryCheck {
  /** chat → the cursor of the newest message read from it. */
  readonly #newest = new Map<string, string>();

  constructor(
    private readonly url: string,
    private readonly chats: readonly CheckedChat[],
    private readonly concurrency = 8,
  ) {}

  /** Every message ID that reached history since the last call, across all chats (an ID twice if history holds it twice). */
  async readNew(): Promise<string[]> {
    const ids: string[] = [];
    let next = 0;
    const reader = async () => {
      while (next < this.chats.length) ids.push(...(await this.#readChat(this.chats[next++]!)));
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, this.chats.length) }, reader));
    return ids;
  }

  async #readChat(chat: CheckedChat): Promise<string[]> {
    const ids: string[] = [];
    const newest = this.#newest.get(chat.chatId);
    if (newest === undefined) {
      // Everything, newest first.
      let before: string | undefined;
      for (;;) {
        const page = await this.#page(chat, { before });
        ids.push(...page.edges.map((edge) => edge.node.id));
        if (before === undefined && page.pageInfo.startCursor) this.#newest.set(chat.chatId, page.pageInfo.startCursor);
        if (!page.pageInfo.hasNextPage || !page.pageInfo.endCursor) return ids;
        before = page.pageInfo.endCursor;
      }
    }
    // What is newer than the newest read: each page newest first, `startCursor` its newest.
    for (let after = newest; ;) {
      const page = await this.#page(chat, { after });
      ids.push(...page.edges.map((edge) => edge.node.id));
      if (!page.pageInfo.startCursor) return ids;
      after = page.pageInfo.startCursor;
      this.#newest.set(chat.chatId, after);
      if (!page.pageInfo.hasPreviousPage) return ids;
    }
  }

  async #page(chat: CheckedChat, variables: { after?: string; before?: string }): Promise<Page> {
    const response = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${chat.token}` },
      body: JSON.stringify({ query: CHECK_QUERY, variables: { chatId: chat.chatId, ...variables } }),
    });
    const body = (await response.json()) as { data?: { messages: Page }; errors?: unknown };
    if (!body.data || body.errors) {
      throw new Error(
        `reading back the history of chat ${chat.chatId} failed (HTTP ${response.status}): ${JSON.stringify(body.errors ?? body).slice(0, 500)}`,
      );
    }
    return body.data.messages;
  }
}

export interface Accounting {
  acknowledged: number;
  /** Acknowledged, but not delivered to the chat's subscriber; not in history; either (lost). */
  notDelivered: number;
  notStored: number;
  lost: number;
  /** Deliveries beyond the first of one message, and messages history holds more than once. */
  duplicatedDeliveries: number;
  duplicatedInHistory: number;
}

function counted(ids: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

const extra = (counts: Map<string, number>) => [...counts.values()].reduce((sum, count) => sum + count - 1, 0);

/**
 * Compares what was acknowledged with what the subscribers received and what
 * history holds. A message that was never acknowledged (a request that timed
 * out after the server took it) cannot be lost; a duplicate counts whoever
 * sent it.
 */
export function account(
  acknowledged: readonly string[],
  delivered: readonly string[],
  stored: readonly string[],
): Accounting {
  const deliveredCounts = counted(delivered);
  const storedCounts = counted(stored);
  let notDelivered = 0;
  let notStored = 0;
  let lost = 0;
  for (const id of acknowledged) {
    const missingDelivery = !deliveredCounts.has(id);
    const missingStore = !storedCounts.has(id);
    if (missingDelivery) notDelivered += 1;
    if (missingStore) notStored += 1;
    if (missingDelivery || missingStore) lost += 1;
  }
  return {
    acknowledged: acknowledged.length,
    notDelivered,
    notStored,
    lost,
    duplicatedDeliveries: extra(deliveredCounts),
    duplicatedInHistory: extra(storedCounts),
  };
}
