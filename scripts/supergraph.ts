import { readFileSync } from 'node:fs';
import { composeServices } from '@apollo/composition';
import { parse, printSchema } from 'graphql';

/** The subgraphs in the supergraph and the default URL each serves on in the distributed mode. */
export const SUBGRAPHS = [
  { name: 'users', url: 'http://127.0.0.1:4001/graphql' },
  { name: 'chats', url: 'http://127.0.0.1:4002/graphql' },
  { name: 'messages', url: 'http://127.0.0.1:4003/graphql' },
  { name: 'presence', url: 'http://127.0.0.1:4004/graphql' },
  { name: 'media', url: 'http://127.0.0.1:4005/graphql' },
] as const;

/**
 * The supergraph (what gateways serve from) and its API schema: what clients see, without federation's
 * `join__`/`link__` types and directives (and without the internal subgraph URLs they carry), for client
 * code generators and schema explorers while production turns introspection off.
 */
export function composeSupergraph(): { supergraphSdl: string; apiSdl: string } | { errors: readonly Error[] } {
  const root = new URL('../', import.meta.url);
  const result = composeServices(
    SUBGRAPHS.map(({ name, url }) => ({
      name,
      url,
      typeDefs: parse(readFileSync(new URL(`subgraphs/${name}/src/schema.graphql`, root), 'utf8')),
    })),
  );
  if (result.errors) return { errors: result.errors };
  return {
    supergraphSdl: result.supergraphSdl,
    apiSdl: printSchema(result.schema.toAPISchema().toGraphQLJSSchema()),
  };
}
