/**
 * Helpers for in-process tests (`*.test.ts` beside the code), imported as
 * `@chat/common/testing`, never by product code: a subgraph on an in-memory
 * runtime (`createSubgraphTestkit`), seed builders and the factories they
 * share with the e2e kit and the benchmarks, result readers and the
 * permission-coverage checks every subgraph makes.
 */
export { createMemoryRuntime } from './runtime.ts';
export * from './testing/factories.ts';
export * from './testing/permission-coverage.ts';
export * from './testing/results.ts';
export * from './testing/seed.ts';
export * from './testing/sessions.ts';
export * from './testing/subgraph-testkit.ts';
