/**
 * The fan-out scenario's baseline: the least a Node server can do to deliver
 * the same `messageAdded` payload over graphql-ws, the practical ceiling of
 * Node on the machine. `ws` + graphql-ws's `useServer`, one non-federated
 * graphql-js schema, an in-process pub/sub with a topic per user (as the
 * product publishes, one event per member), no authentication, no database:
 * users and chats are the scenario's layout, computed.
 *
 * Run as its own process: `node --import tsx bench/src/fanout/bare-server.ts`
 * with PORT, FANOUT_USERS (users 0…N−1) and FANOUT_CHAT_SIZE (chat k holds
 * users k·size … k·size+size−1). Clients send `{ userId }` as their
 * `connection_init` payload; `POST /graphql` runs `sendMessage`, which
 * publishes to every member of the chat (the sender included).
 */
import { createServer, type IncomingMessage } from 'node:http';
import {
  execute,
  GraphQLBoolean,
  GraphQLID,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
  parse,
  validate,
  type DocumentNode,
} from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { BARE_ID_BASE as BASE_ID, bareChatId as chatId, bareUserId as userId } from './protocol.ts';

const port = Number(process.env.PORT ?? 0);
const userCount = Number(process.env.FANOUT_USERS);
const chatSize = Number(process.env.FANOUT_CHAT_SIZE);
if (!Number.isInteger(userCount) || userCount < 1 || !Number.isInteger(chatSize) || chatSize < 1) {
  throw new Error('FANOUT_USERS and FANOUT_CHAT_SIZE must be positive integers');
}

const users = new Map(
  Array.from({ length: userCount }, (_, index) => [
    userId(index),
    { id: userId(index), displayName: `Fanout user ${index}` },
  ]),
);
const chats = new Map(
  Array.from({ length: Math.ceil(userCount / chatSize) }, (_, chat) => [
    chatId(chat),
    Array.from({ length: Math.min(chatSize, userCount - chat * chatSize) }, (_, member) =>
      userId(chat * chatSize + member),
    ),
  ]),
);

interface MessageEvent {
  id: string;
  text: string;
  createdAt: string;
  senderId: string;
  chatId: string;
}

/** In-process pub/sub: a topic per user; each subscription is a queue its async iterator drains. */
class PubSub {
  readonly #topics = new Map<string, Set<(event: MessageEvent) => void>>();

  publish(topic: string, event: MessageEvent): void {
    for (const push of this.#topics.get(topic) ?? []) push(event);
  }

  listen(topic: string): AsyncIterableIterator<MessageEvent> {
    const queue: MessageEvent[] = [];
    const waiting: ((step: IteratorResult<MessageEvent>) => void)[] = [];
    let done = false;
    const push = (event: MessageEvent) => {
      const wake = waiting.shift();
      if (wake) wake({ value: event, done: false });
      else queue.push(event);
    };
    let listeners = this.#topics.get(topic);
    if (!listeners) this.#topics.set(topic, (listeners = new Set()));
    listeners.add(push);
    const stop = () => {
      done = true;
      listeners.delete(push);
      if (listeners.size === 0) this.#topics.delete(topic);
      for (const wake of waiting.splice(0)) wake({ value: undefined, done: true });
    };
    const iterator: AsyncIterableIterator<MessageEvent> = {
      next: () => {
        if (queue.length > 0) return Promise.resolve({ value: queue.shift()!, done: false });
        if (done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => waiting.push(resolve));
      },
      return: () => {
        stop();
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }
}

const pubsub = new PubSub();
let nextMessage = 0n;

interface Context {
  userId?: string;
}

const User = new GraphQLObjectType({
  name: 'User',
  fields: { id: { type: new GraphQLNonNull(GraphQLID) }, displayName: { type: new GraphQLNonNull(GraphQLString) } },
});
const Chat = new GraphQLObjectType({ name: 'Chat', fields: { id: { type: new GraphQLNonNull(GraphQLID) } } });
const Message = new GraphQLObjectType<MessageEvent, Context>({
  name: 'Message',
  fields: {
    id: { type: new GraphQLNonNull(GraphQLID) },
    text: { type: new GraphQLNonNull(GraphQLString) },
    createdAt: { type: new GraphQLNonNull(GraphQLString) },
    sender: { type: new GraphQLNonNull(User), resolve: (event) => users.get(event.senderId) },
    chat: { type: new GraphQLNonNull(Chat), resolve: (event) => ({ id: event.chatId }) },
  },
});

const schema = new GraphQLSchema({
  query: new GraphQLObjectType({
    name: 'Query',
    fields: { ok: { type: new GraphQLNonNull(GraphQLBoolean), resolve: () => true } },
  }),
  mutation: new GraphQLObjectType<unknown, Context>({
    name: 'Mutation',
    fields: {
      sendMessage: {
        type: new GraphQLNonNull(Message),
        args: { chatId: { type: new GraphQLNonNull(GraphQLID) }, text: { type: new GraphQLNonNull(GraphQLString) } },
        resolve: (_root, args: { chatId: string; text: string }) => {
          const members = chats.get(args.chatId);
          if (!members) throw new Error('no such chat');
          // As in the product's groups, the chat's first member (its owner) is the one who sends.
          const event: MessageEvent = {
            id: String(BASE_ID + 2_000_000_000n + nextMessage++),
            text: args.text,
            createdAt: new Date().toISOString(),
            senderId: members[0]!,
            chatId: args.chatId,
          };
          for (const member of members) pubsub.publish(`user.${member}`, event);
          return event;
        },
      },
    },
  }),
  subscription: new GraphQLObjectType<unknown, Context>({
    name: 'Subscription',
    fields: {
      messageAdded: {
        type: new GraphQLNonNull(Message),
        subscribe: (_root, _args, context) => {
          if (!context.userId || !users.has(context.userId)) throw new Error('unknown user');
          return pubsub.listen(`user.${context.userId}`);
        },
        resolve: (event) => event,
      },
    },
  }),
});

/** Parsed and validated documents, by text: the senders repeat one mutation. */
const documents = new Map<string, DocumentNode>();
function prepared(query: string): DocumentNode {
  let document = documents.get(query);
  if (!document) {
    document = parse(query);
    const errors = validate(schema, document);
    const [invalid] = errors;
    if (invalid) throw invalid;
    documents.set(query, document);
  }
  return document;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

const server = createServer((request, response) => {
  if (request.method !== 'POST' || request.url !== '/graphql') {
    response.writeHead(404).end();
    return;
  }
  void (async () => {
    try {
      const { query, variables } = JSON.parse(await readBody(request)) as {
        query: string;
        variables?: Record<string, unknown>;
      };
      const result = await execute({ schema, document: prepared(query), variableValues: variables, contextValue: {} });
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
    } catch (error) {
      response
        .writeHead(400, { 'content-type': 'application/json' })
        .end(JSON.stringify({ errors: [{ message: String(error) }] }));
    }
  })();
});

const wss = new WebSocketServer({ server, path: '/graphql' });
const wsServer = useServer<{ userId?: string }>(
  {
    schema,
    context: (ctx): Context => ({
      userId: typeof ctx.connectionParams?.userId === 'string' ? ctx.connectionParams.userId : undefined,
    }),
  },
  wss,
);

server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  process.stderr.write(
    `${JSON.stringify({ msg: 'bare graphql-ws server ready', port: typeof address === 'object' && address ? address.port : port })}\n`,
  );
});

const shutdown = () => {
  void Promise.resolve(wsServer.dispose()).then(() => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
