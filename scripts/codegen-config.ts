/**
 * GraphQL Code Generator settings shared by the subgraphs: resolver types are
 * generated from each subgraph's schema.graphql (the contract), so resolvers
 * are type-checked against it and nothing is written twice.
 */
import type { CodegenConfig } from '@graphql-codegen/cli';

export function subgraphCodegen(mappers: Record<string, string>): CodegenConfig {
  return {
    schema: 'src/schema.graphql',
    errorsOnly: true,
    generates: {
      'src/generated/resolvers.ts': {
        plugins: [
          { add: { content: '/* Generated from src/schema.graphql by GraphQL Code Generator; do not edit. */' } },
          'typescript',
          'typescript-resolvers',
        ],
        config: {
          federation: true,
          useIndexSignature: true,
          contextType: '../context.ts#Context',
          mappers,
          enumsAsTypes: true,
          scalars: { DateTime: { input: 'Date', output: 'Date | string' } },
          useTypeImports: true,
          emitLegacyCommonJSImports: false,
          importExtension: '.ts',
          avoidOptionals: { field: true, inputValue: false, object: false, defaultValue: false },
          maybeValue: 'T | null',
          inputMaybeValue: 'T | null | undefined',
        },
      },
    },
  };
}
