/** A minimal GraphQL client over real HTTP and WebSocket connections. */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { EVENT_WAIT_MS } from './readiness.ts';

export interface GraphQLResponse<T = Record<string, unknown>> {
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
}

export async function gql<T = Record<string, any>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Promise<GraphQLResponse<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  }).catch((error: unknown) => {
    // fetch says only "fetch failed": name the transport's reason (a refused connection, a closed socket, ...).
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`POST ${url}: ${String(error)} (${cause?.code ?? cause?.message ?? 'no cause'})`, { cause: error });
  });
  const text = await response.text();
  try {
    return JSON.parse(text) as GraphQLResponse<T>;
  } catch {
    throw new Error(`HTTP ${response.status}: not a GraphQL response: ${text.slice(0, 500)}`);
  }
}

/** Like gql, but fails the test on any error. */
export async function gqlOk<T = Record<string, any>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Promise<T> {
  const result = await gql<T>(url, query, variables, token);
  if (result.errors?.length || !result.data) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
  return result.data;
}

/** The `extensions.code` of a response's first error (undefined when it has none), as a client branches on it. */
export const codeOf = (response: { errors?: readonly { extensions?: Record<string, unknown> }[] | null }): unknown =>
  response.errors?.[0]?.extensions?.code;

export function wsClient(url: string, token?: string): Client {
  return createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
    lazy: true,
  });
}

/**
 * Subscribes and collects events. `ready` resolves once the subscription is
 * live at the subgraph, proven by the caller's `probe` (a first event).
 */
export class Subscription<T = Record<string, any>> {
  readonly events: GraphQLResponse<T>[] = [];
  readonly done: Promise<void>;
  #waiters: (() => void)[] = [];
  #dispose: () => void;
  #ended = false;
  error: unknown;

  constructor(client: Client, query: string, variables: Record<string, unknown> = {}) {
    let finish!: () => void;
    this.done = new Promise((resolve) => (finish = resolve));
    this.#dispose = client.subscribe<T>(
      { query, variables },
      {
        next: (value) => {
          this.events.push(value as GraphQLResponse<T>);
          for (const wake of this.#waiters.splice(0)) wake();
        },
        error: (error) => {
          this.error = error;
          for (const wake of this.#waiters.splice(0)) wake();
          finish();
        },
        complete: () => {
          this.#ended = true;
          for (const wake of this.#waiters.splice(0)) wake();
          finish();
        },
      },
    );
  }

  /** Waits until `count` events arrived (or the stream ended), at most `ms`. */
  async waitFor(count: number, ms = EVENT_WAIT_MS): Promise<GraphQLResponse<T>[]> {
    const deadline = Date.now() + ms;
    while (this.events.length < count && this.error === undefined && !this.#ended) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`expected ${count} events, got ${this.events.length}: ${JSON.stringify(this.events)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    if (this.events.length < count) {
      const completed = this.#ended && this.error === undefined;
      throw new Error(
        completed
          ? `the subscription completed after ${this.events.length} of ${count} events`
          : `subscription failed: ${JSON.stringify(this.error)}`,
      );
    }
    return this.events;
  }

  /** Waits for the first event that satisfies `match`, at most `ms`. */
  async waitForMatch(match: (event: GraphQLResponse<T>) => boolean, ms = EVENT_WAIT_MS): Promise<GraphQLResponse<T>> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.events.find(match);
      if (found) return found;
      await this.waitFor(this.events.length + 1, Math.max(1, deadline - Date.now()));
    }
  }

  stop(): void {
    this.#dispose();
  }
}

/**
 * A subscription over server-sent events (`POST /graphql` with
 * `Accept: text/event-stream`, as Yoga serves it), reading the stream as it
 * arrives. `ended` resolves when the server closes the stream.
 */
export class EventStream<T = Record<string, any>> {
  readonly events: GraphQLResponse<T>[] = [];
  /** The HTTP status the stream was answered with. */
  status = 0;
  /** When the server closed the stream (ms since the epoch). */
  readonly ended: Promise<number>;
  readonly #abort = new AbortController();
  #waiters: (() => void)[] = [];

  /** Opens the stream; resolves once the response headers arrived. */
  static async open<T = Record<string, any>>(
    url: string,
    query: string,
    variables: Record<string, unknown> = {},
    token?: string,
  ): Promise<EventStream<T>> {
    const stream = new EventStream<T>(url, query, variables, token);
    await stream.#opened;
    return stream;
  }

  readonly #opened: Promise<void>;

  private constructor(url: string, query: string, variables: Record<string, unknown>, token?: string) {
    let opened!: () => void;
    this.#opened = new Promise((resolve) => (opened = resolve));
    this.ended = (async () => {
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'text/event-stream',
            ...(token ? { authorization: `Bearer ${token}` } : {}),
          },
          body: JSON.stringify({ query, variables }),
          signal: this.#abort.signal,
        });
        this.status = response.status;
        opened();
        if (!response.headers.get('content-type')?.startsWith('text/event-stream')) {
          this.#push((await response.json()) as GraphQLResponse<T>);
          return Date.now();
        }
        const decoder = new TextDecoder();
        let buffer = '';
        for await (const chunk of response.body!) {
          buffer += decoder.decode(chunk as Uint8Array, { stream: true });
          let boundary;
          while ((boundary = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, boundary);
            buffer = buffer.slice(boundary + 2);
            const event = /^event: (.*)$/m.exec(block)?.[1];
            const data = block
              .split('\n')
              .filter((line) => line.startsWith('data:'))
              .map((line) => line.slice(5).trim())
              .join('\n');
            if ((event === 'next' || event === undefined) && data) this.#push(JSON.parse(data) as GraphQLResponse<T>);
          }
        }
      } catch (error) {
        opened();
        if (!this.#abort.signal.aborted) throw error;
      } finally {
        for (const wake of this.#waiters.splice(0)) wake();
      }
      return Date.now();
    })();
    this.ended.catch(() => {});
  }

  /** Waits for the first event that satisfies `match`, at most `ms`. */
  async waitForMatch(match: (event: GraphQLResponse<T>) => boolean, ms = EVENT_WAIT_MS): Promise<GraphQLResponse<T>> {
    const deadline = Date.now() + ms;
    let done = false;
    void this.ended.finally(() => (done = true));
    for (;;) {
      const found = this.events.find(match);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0 || done)
        throw new Error(`no matching event${done ? ' before the stream ended' : ''}: ${JSON.stringify(this.events)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.#abort.abort();
  }

  #push(event: GraphQLResponse<T>): void {
    this.events.push(event);
    for (const wake of this.#waiters.splice(0)) wake();
  }
}

/** A raw graphql-transport-ws socket, to send what a library client would not (pings with payloads). */
export class RawSocket {
  readonly messages: { type: string; id?: string; payload?: any }[] = [];
  readonly closed: Promise<{ code: number; reason: string; at: number }>;
  readonly #socket: WebSocket;
  #waiters: (() => void)[] = [];

  constructor(url: string) {
    this.#socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    this.#socket.on('message', (data) => {
      this.messages.push(JSON.parse((data as Buffer).toString())); // ws's default binaryType: one Buffer
      for (const wake of this.#waiters.splice(0)) wake();
    });
    this.closed = new Promise((resolve) =>
      this.#socket.on('close', (code, reason) => {
        resolve({ code, reason: String(reason), at: Date.now() });
        for (const wake of this.#waiters.splice(0)) wake();
      }),
    );
  }

  async open(token: string): Promise<void> {
    await this.init(token);
    await this.next((message) => message.type === 'connection_ack');
  }

  /** Connects and sends `connection_init`, without waiting for the answer. */
  async init(token: string): Promise<void> {
    if (this.#socket.readyState !== WebSocket.OPEN) {
      await new Promise<void>((resolve, reject) => {
        this.#socket.once('open', () => resolve());
        this.#socket.once('error', reject);
      });
    }
    this.send({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } });
  }

  send(message: Record<string, unknown>): void {
    this.#socket.send(JSON.stringify(message));
  }

  /** Waits for the first message that satisfies `match`, at most `ms`. @throws at once when the socket closed first */
  async next(match: (message: { type: string; id?: string; payload?: any }) => boolean, ms = EVENT_WAIT_MS) {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.messages.find(match);
      if (found) return found;
      const closed = this.#socket.readyState === WebSocket.CLOSED;
      if (closed || Date.now() > deadline) {
        throw new Error(
          `no matching message${closed ? ' before the socket closed' : ''}; got ${JSON.stringify(this.messages)}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.#socket.close();
  }
}
