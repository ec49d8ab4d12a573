/**
 * A client paging history through the gateway over HTTP, the way an app
 * scrolling back does: `messages(chatId, first: 50, before: <cursor>)`, the
 * next page from the previous page's `endCursor`. Each walk starts at a
 * position drawn uniformly across the whole history (a cursor is the
 * position's `seq`, encoded as the API encodes it), so the pages read are
 * spread over the chat, not concentrated on the newest ones.
 *
 * Every page is checked (no errors, the expected 50 messages, the expected
 * cursors): a benchmark of wrong answers measures nothing.
 */
import { Agent, request } from 'node:http';
import { encodeCursor } from '@chat/common';

export const PAGE_SIZE = 50;

/**
 * The fields a history screen shows, all from the messages subgraph (the
 * sender only as a reference): this scenario measures history storage, the
 * federated-query scenario measures joining other subgraphs in.
 */
export const HISTORY_QUERY = `query History($chatId: ID!, $before: String) {
  messages(chatId: $chatId, first: ${PAGE_SIZE}, before: $before) {
    edges { cursor node { id text createdAt kind editedAt deletedAt clientMessageId sender { id } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

interface HistoryPage {
  data?: {
    messages: {
      edges: { cursor: string; node: { id: string; text: string } }[];
      pageInfo: { hasNextPage: boolean; endCursor: string | null };
    };
  };
  errors?: { message: string; extensions?: { code?: string } }[];
}

/** The position inside a cursor (the API's encoding: base64url of `["<seq>"]`). */
export const cursorSeq = (cursor: string): number =>
  Number((JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as string[])[0]);

/** A small, seedable PRNG (mulberry32): the same start positions for every variant in a round. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

export class HistoryReader {
  readonly #agent: Agent;
  readonly #url: URL;

  constructor(
    url: string,
    private readonly chatId: string,
    private readonly messages: number,
    /** Current access token (re-minted by the caller before it expires). */
    private readonly token: () => string,
    sockets: number,
  ) {
    this.#url = new URL(url);
    this.#agent = new Agent({ keepAlive: true, maxSockets: sockets });
  }

  /** One page before `beforeSeq`; resolves with its latency (ms) and the next position (0: none). */
  async page(beforeSeq: number): Promise<{ ms: number; next: number }> {
    const body = JSON.stringify({
      query: HISTORY_QUERY,
      variables: { chatId: this.chatId, before: encodeCursor([String(beforeSeq)]) },
    });
    const started = performance.now();
    const text = await new Promise<string>((resolve, reject) => {
      const req = request(
        this.#url,
        {
          method: 'POST',
          agent: this.#agent,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            authorization: `Bearer ${this.token()}`,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            res.statusCode === 200
              ? resolve(Buffer.concat(chunks).toString('utf8'))
              : reject(new Error(`HTTP ${res.statusCode}: ${Buffer.concat(chunks).toString('utf8').slice(0, 500)}`)),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    const result = JSON.parse(text) as HistoryPage;
    const ms = performance.now() - started;
    this.#check(beforeSeq, result);
    const { pageInfo } = result.data!.messages;
    return { ms, next: pageInfo.hasNextPage && pageInfo.endCursor ? cursorSeq(pageInfo.endCursor) : 0 };
  }

  #check(beforeSeq: number, result: HistoryPage): void {
    if (result.errors?.length || !result.data)
      throw new Error(`history page before ${beforeSeq} failed: ${JSON.stringify(result.errors ?? result)}`);
    const { edges, pageInfo } = result.data.messages;
    const expected = Math.min(PAGE_SIZE, beforeSeq - 1);
    const first = edges[0] ? cursorSeq(edges[0].cursor) : undefined;
    const last = pageInfo.endCursor ? cursorSeq(pageInfo.endCursor) : undefined;
    if (
      edges.length !== expected ||
      first !== beforeSeq - 1 ||
      last !== beforeSeq - expected ||
      pageInfo.hasNextPage !== beforeSeq - expected > 1
    ) {
      throw new Error(
        `history page before ${beforeSeq} is wrong: ${edges.length} messages (expected ${expected}), seq ${first}…${last}, hasNextPage ${pageInfo.hasNextPage}`,
      );
    }
  }

  /** A start position: uniformly anywhere in history with a full page below it (and at most the newest message + 1). */
  startPosition(next: () => number): number {
    return PAGE_SIZE + 1 + Math.floor(next() * (this.messages - PAGE_SIZE));
  }

  /**
   * `readers` clients paging concurrently until `pages` pages were read in
   * all: each walks `pagesPerWalk` pages back from a random position, then
   * starts over elsewhere.
   * @returns every page's latency (ms) and the wall time (ms) of the whole.
   */
  async walk({
    pages,
    pagesPerWalk,
    readers,
    seed,
  }: {
    pages: number;
    pagesPerWalk: number;
    readers: number;
    seed: number;
  }): Promise<{ latencies: number[]; elapsedMs: number }> {
    const next = random(seed);
    const latencies: number[] = [];
    let claimed = 0;
    const reader = async () => {
      let position = 0;
      let left = 0;
      while (claimed < pages) {
        claimed += 1;
        if (left === 0 || position === 0) {
          position = this.startPosition(next);
          left = pagesPerWalk;
        }
        const { ms, next: older } = await this.page(position);
        latencies.push(ms);
        position = older;
        left -= 1;
      }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: readers }, reader));
    return { latencies, elapsedMs: performance.now() - started };
  }

  close(): void {
    this.#agent.destroy();
  }
}

/** The `p`-th percentile (0 < p ≤ 1) by nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? Number.NaN;
}
