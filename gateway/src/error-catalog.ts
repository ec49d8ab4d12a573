/**
 * Every package's errors in one registry, and docs/ERRORS.md rendered from
 * it. Only the doc script (`npm run errors:doc`) and its drift test import
 * this; product code imports its own package's errors.ts.
 */
import { COMMON_ERRORS, ErrorRegistry, type ErrorEntry } from '@chat/common';
import { CHATS_ERRORS } from '@chat/subgraph-chats/errors';
import { MEDIA_ERRORS, MEDIA_URL_ERRORS } from '@chat/subgraph-media/errors';
import { MESSAGES_ERRORS } from '@chat/subgraph-messages/errors';
import { PRESENCE_ERRORS } from '@chat/subgraph-presence/errors';
import { USERS_ERRORS } from '@chat/subgraph-users/errors';
import { GATEWAY_ERRORS } from './errors.ts';

/** The errors of `/graphql`: `extensions.code` and `extensions.reason`. */
export function graphqlErrors(): ErrorRegistry {
  const registry = new ErrorRegistry();
  const subgraphs = [USERS_ERRORS, CHATS_ERRORS, MESSAGES_ERRORS, PRESENCE_ERRORS, MEDIA_ERRORS];
  for (const set of [COMMON_ERRORS, GATEWAY_ERRORS, ...subgraphs]) registry.register(set);
  return registry;
}

/** The errors of the media subgraph's signed URLs: the `code` of a plain-HTTP JSON body. */
export function mediaUrlErrors(): ErrorRegistry {
  return new ErrorRegistry().register(MEDIA_URL_ERRORS);
}

const HEADER = `# Errors

<!-- Generated from the error registry by \`npm run errors:doc\`: edit the packages' errors.ts, not this file. -->

Every error of \`/graphql\` carries \`extensions.code\`; many also carry
\`extensions.reason\`, which says which rule refused, and further fields named
below. A code or a reason never changes meaning once published. Anything
unexpected is logged on the server and answered \`INTERNAL_SERVER_ERROR\` with
a generic message (\`maskError\`), in every host; refusals pass through
subgraphs and gateway as they are. In development an error raised in a
subgraph also names it (\`extensions.serviceName\`, added by
\`@apollo/gateway\`); a production gateway leaves that out.

**HTTP status** is what \`/graphql\` answers over HTTP when this error refuses
the whole request. An error of one field (most refusals: a mutation, a
\`node\`) comes with the data that could be had and 200, as any GraphQL error;
over graphql-ws there is no status.

Where each code and reason is declared: \`common/src/errors.ts\`,
\`gateway/src/errors.ts\` and each subgraph's \`src/errors.ts\` ("Declared by").
`;

const cell = (text: string) => text.replace(/\|/g, '\\|');

function table(headers: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map((row) => line(row.map(cell)))].join('\n');
}

const quoted = (name: string) => `\`${name}\``;

/** Code, HTTP status, declared by, description. */
const row = (entry: ErrorEntry) => [quoted(entry.code), String(entry.httpStatus), entry.owner, entry.description];

const codeRows = (entries: ErrorEntry[]) => entries.filter((entry) => !entry.reason).map(row);

const reasonRows = (entries: ErrorEntry[]) =>
  entries.filter((entry) => entry.reason).map((entry) => [quoted(entry.reason!), ...row(entry)]);

/** docs/ERRORS.md, from the registries. */
export function renderErrorsDoc(graphql = graphqlErrors(), mediaUrls = mediaUrlErrors()): string {
  const entries = graphql.entries();
  return [
    HEADER,
    '## Codes\n',
    table(['Code', 'HTTP status', 'Declared by', 'Description'], codeRows(entries)),
    '',
    '## Reasons\n',
    'Read a reason with its code: one name under two codes is two rules (`NOT_CONNECTED`), under one code in two',
    'subgraphs the same rule in two places (`BLOCKED`).\n',
    table(['Reason', 'Code', 'HTTP status', 'Declared by', 'Description'], reasonRows(entries)),
    '',
    '## Media URLs\n',
    'The signed upload and download URLs of the local media storage answer plain HTTP, not GraphQL: a refusal',
    'is JSON `{ "error": "<sentence>", "code": "<CODE>" }` with this status ([MEDIA.md](MEDIA.md)).\n',
    table(['Code', 'HTTP status', 'Declared by', 'Description'], codeRows(mediaUrls.entries())),
    '',
  ].join('\n');
}
