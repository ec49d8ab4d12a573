/**
 * `GET /export`: the viewer's data export (`exportMyData`) as a JSON file to
 * download, for the same `Authorization: Bearer …` as any API call. The
 * archive is the federated `exportMyData` result, so each subgraph
 * contributes its part and this route adds no data access of its own.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Everything exportMyData holds, as the archive's shape. */
export const EXPORT_DOCUMENT = `mutation ExportMyData {
  exportMyData {
    userId
    exportedAt
    profile { id username displayName email phone createdAt }
    contacts { status since user { id username displayName } }
    chats {
      id kind title createdAt lastActivityAt
      members { role joinedAt user { id username displayName } }
    }
    messages {
      id chat { id } text kind createdAt editedAt deletedAt
      reactions { emoji count reactedByMe }
    }
  }
}`;

/** Something that answers GraphQL over the Fetch API: the gateway's Yoga. */
export interface FetchHandler {
  /** `context` is the server context: the original request, so limits see the caller's address. */
  fetch(input: string, init: RequestInit, context: { req: IncomingMessage }): Promise<Response> | Response;
}

export async function handleExportDownload(
  yoga: FetchHandler,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  if (request.method !== 'GET') {
    response
      .writeHead(405, { allow: 'GET', 'content-type': 'application/json' })
      .end(JSON.stringify({ error: 'Use GET.' }));
    return;
  }
  const authorization = request.headers.authorization;
  if (!authorization) {
    response
      .writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' })
      .end(JSON.stringify({ error: 'Send Authorization: Bearer <access token>.' }));
    return;
  }
  const answer = await yoga.fetch(
    'http://gateway.internal/graphql',
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization },
      body: JSON.stringify({ query: EXPORT_DOCUMENT, operationName: 'ExportMyData' }),
    },
    { req: request },
  );
  const result = (await answer.json()) as {
    data?: { exportMyData?: { userId: string } | null };
    errors?: { extensions?: { code?: string } }[];
  };
  const archive = result.data?.exportMyData;
  if (!archive || result.errors?.length) {
    const code = result.errors?.[0]?.extensions?.code;
    const status = code === 'UNAUTHENTICATED' ? 401 : code === 'FORBIDDEN' ? 403 : 503;
    response
      .writeHead(status, { 'content-type': 'application/json' })
      .end(JSON.stringify({ errors: result.errors ?? [] }));
    return;
  }
  const day = new Date().toISOString().slice(0, 10);
  response
    .writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'content-disposition': `attachment; filename="chat-export-${archive.userId}-${day}.json"`,
      'cache-control': 'no-store',
    })
    .end(JSON.stringify({ format: 'federated-chat-export/1', ...archive }, null, 2));
}
