/** A minimal GraphQL client over real HTTP and WebSocket connections. */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

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
  });
  const text = await response.text();
  try {
    return JSON.parse(text) as GraphQLResponse<T>;
  } catch {
    throw new Error(`HTTP ${response.status}: not a GraphQL response: ${text.slice(0, 500)}`);
  }
}

/** Like gql, but fails the test on any error. */
export async function gqlOk<T = Record<string, any>>(url: string, query: string, variables: Record<string, unknown> = {}, token?: string): Promise<T> {
  const result = await gql<T>(url, query, variables, token);
  if (result.errors?.length || !result.data) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
  return result.data;
}

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
          for (const wake of this.#waiters.splice(0)) wake();
          finish();
        },
      },
    );
  }

  /** Waits until `count` events arrived (or the stream ended), at most `ms`. */
  async waitFor(count: number, ms = 10_000): Promise<GraphQLResponse<T>[]> {
    const deadline = Date.now() + ms;
    while (this.events.length < count && this.error === undefined) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${count} events, got ${this.events.length}: ${JSON.stringify(this.events)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    if (this.events.length < count) throw new Error(`subscription failed: ${JSON.stringify(this.error)}`);
    return this.events;
  }

  /** Waits for the first event that satisfies `match`, at most `ms`. */
  async waitForMatch(match: (event: GraphQLResponse<T>) => boolean, ms = 10_000): Promise<GraphQLResponse<T>> {
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
