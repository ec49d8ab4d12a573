/**
 * Serves the four heavy-query subgraphs from one process, each on its own
 * path: `/accounts`, `/inventory`, `/products`, `/reviews` (`PORT`, `HOST`).
 *
 * Like the benchmark's own subgraphs, they are meant to cost the gateways as
 * little as possible: their data is static, so an answer is kept by request
 * body and served again without parsing (The Guild: "subgraphs … serve
 * responses mostly from cache"); what is left of the time is the gateway's.
 */
import { createServer } from 'node:http';
import { execute, parse, validate, type DocumentNode, type GraphQLSchema } from 'graphql';
import { HEAVY_SUBGRAPHS, heavySchema } from './heavy-subgraphs.ts';

const MAX_CACHED = 10_000;
const schemas = new Map<string, GraphQLSchema>(
  HEAVY_SUBGRAPHS.map((subgraph) => [`/${subgraph.name}`, heavySchema(subgraph)]),
);
const answers = new Map<string, string>();
const documents = new Map<string, DocumentNode | readonly Error[]>();

async function answer(schema: GraphQLSchema, body: string): Promise<string> {
  const { query, variables, operationName } = JSON.parse(body) as {
    query?: string;
    variables?: Record<string, unknown>;
    operationName?: string;
  };
  if (typeof query !== 'string') return JSON.stringify({ errors: [{ message: 'query must be a string' }] });
  let document = documents.get(query);
  if (!document) {
    const parsed = parse(query);
    const errors = validate(schema, parsed);
    document = errors.length > 0 ? errors : parsed;
    documents.set(query, document);
  }
  if (Array.isArray(document))
    return JSON.stringify({ errors: document.map((error: Error) => ({ message: error.message })) });
  const result = await execute({
    schema,
    document: document as DocumentNode,
    variableValues: variables,
    operationName,
  });
  return JSON.stringify(result);
}

const server = createServer((request, response) => {
  const schema = schemas.get(request.url ?? '');
  if (!schema || request.method !== 'POST') {
    // `{ __typename }` on GET or elsewhere: the readiness probe gets a 404 it can tell from "not listening".
    response
      .writeHead(404, { 'content-type': 'application/json' })
      .end('{"errors":[{"message":"POST to /accounts, /inventory, /products or /reviews"}]}');
    return;
  }
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const body = Buffer.concat(chunks).toString();
    const key = `${request.url}\n${body}`;
    const cached = answers.get(key);
    const send = (text: string) => response.writeHead(200, { 'content-type': 'application/json' }).end(text);
    if (cached) return send(cached);
    answer(schema, body).then(
      (text) => {
        if (answers.size >= MAX_CACHED) answers.clear();
        if (!text.includes('"errors"')) answers.set(key, text);
        send(text);
      },
      (error: unknown) =>
        response
          .writeHead(400, { 'content-type': 'application/json' })
          .end(JSON.stringify({ errors: [{ message: String(error) }] })),
    );
  });
});

server.listen(Number(process.env.PORT ?? 4200), process.env.HOST ?? '127.0.0.1');
const stop = () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
