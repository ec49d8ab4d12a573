/**
 * Federated subscriptions through @apollo/gateway, which plans subscriptions
 * but does not execute them. For each client subscription:
 *
 * 1. plan it with the Federation query planner: a `Subscription` node whose
 *    `primary` fetch goes to the subgraph that owns the root field, and whose
 *    `rest` fetches the fields owned by other subgraphs;
 * 2. open `primary` as a subscription on the owning subgraph;
 * 3. for every event, execute `[primary, rest]` with the gateway's own
 *    executor, the owning subgraph's data source answering `primary` with the
 *    event instead of a network call; the result is the federated payload.
 *
 * Ending the client's subscription ends the subgraph's. See
 * docs/SUBSCRIPTIONS.md for the protocol as clients see it.
 */
import {
  buildOperationContext,
  executeQueryPlan,
  type GraphQLDataSource,
  type ServiceMap,
} from '@apollo/gateway';
import { operationFromDocument, Supergraph, type Schema } from '@apollo/federation-internals';
import { QueryPlanner, type FetchNode, type QueryPlan, type SubscriptionNode } from '@apollo/query-planner';
import { mapAsyncIterator } from '@chat/common';
import { GraphQLError, print, type DocumentNode, type ExecutionArgs, type ExecutionResult, type GraphQLSchema } from 'graphql';
import type { GatewayContext, SubgraphHost } from '../subgraph-hosts.ts';

type RequestContext = Parameters<typeof executeQueryPlan>[2];
type DataSourceResponse = Awaited<ReturnType<GraphQLDataSource['process']>>;

export interface SubscriptionPlan {
  primary: FetchNode;
  /** The plan run for each event: the primary fetch, then the rest. */
  perEvent: QueryPlan;
}

export class SubscriptionBridge {
  readonly #planner: QueryPlanner;
  readonly #apiSchema: Schema;
  readonly #apiGraphQLSchema: GraphQLSchema;
  readonly #supergraphSchema: GraphQLSchema;
  readonly #hosts: ReadonlyMap<string, SubgraphHost>;
  readonly #serviceMap: ServiceMap;
  readonly #plans = new Map<string, SubscriptionPlan>();

  constructor(supergraphSdl: string, hosts: ReadonlyMap<string, SubgraphHost>) {
    const supergraph = Supergraph.build(supergraphSdl);
    this.#planner = new QueryPlanner(supergraph);
    this.#apiSchema = supergraph.apiSchema();
    this.#apiGraphQLSchema = this.#apiSchema.toGraphQLJSSchema();
    this.#supergraphSchema = supergraph.schema.toGraphQLJSSchema();
    this.#hosts = hosts;
    this.#serviceMap = Object.fromEntries([...hosts].map(([name, host]) => [name, host.dataSource]));
  }

  /** Plans a subscription operation (cached per document and operation name). */
  plan(document: DocumentNode, operationName?: string | null): SubscriptionPlan {
    const key = `${operationName ?? ''}\u0000${print(document)}`;
    let plan = this.#plans.get(key);
    if (!plan) {
      const operation = operationFromDocument(this.#apiSchema, document, { operationName: operationName ?? undefined });
      const node = this.#planner.buildQueryPlan(operation).node;
      if (node?.kind !== 'Subscription') throw new Error(`expected a subscription plan, got ${node?.kind ?? 'nothing'}`);
      plan = toSubscriptionPlan(node);
      if (this.#plans.size > 1000) this.#plans.clear();
      this.#plans.set(key, plan);
    }
    return plan;
  }

  async subscribe(args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
    const context = args.contextValue as GatewayContext;
    const variables = (args.variableValues ?? {}) as Record<string, unknown>;
    const operationName = args.operationName ?? null;
    const plan = this.plan(args.document, operationName);
    const owner = this.#hosts.get(plan.primary.serviceName);
    if (!owner) throw new Error(`no host for subgraph ${plan.primary.serviceName}`);

    const upstream = await owner.subscribe({
      query: plan.primary.operation,
      operationName: plan.primary.operationName,
      variables: pick(variables, plan.primary.variableUsages ?? []),
      viewer: context.viewer,
    });
    if (!(Symbol.asyncIterator in upstream)) return upstream;

    const operationContext = buildOperationContext({
      schema: this.#apiGraphQLSchema,
      operationDocument: args.document,
      operationName: operationName ?? undefined,
    });
    const source = print(args.document);
    const requestContext = {
      request: { query: source, variables, operationName: operationName ?? undefined },
      context,
      logger: console,
      metrics: {},
    } as unknown as RequestContext;

    return mapAsyncIterator(upstream, async (event) => {
      if (!event.data) return event;
      // The owning subgraph "answers" the primary fetch with the event; the others are fetched for real.
      const serviceMap: ServiceMap = {
        ...this.#serviceMap,
        [plan.primary.serviceName]: { process: async () => ({ data: event.data, errors: event.errors }) as DataSourceResponse },
      };
      const result = await executeQueryPlan(
        plan.perEvent,
        serviceMap,
        requestContext,
        operationContext,
        this.#supergraphSchema,
        this.#apiSchema,
      );
      return { data: result.data ?? null, ...(result.errors?.length ? { errors: result.errors.map(toGraphQLError) } : {}) };
    });
  }
}

function toSubscriptionPlan(node: SubscriptionNode): SubscriptionPlan {
  const { primary, rest } = node;
  return {
    primary,
    perEvent: { kind: 'QueryPlan', node: rest ? { kind: 'Sequence', nodes: [primary, rest] } : primary },
  };
}

function pick(variables: Record<string, unknown>, names: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(names.filter((name) => name in variables).map((name) => [name, variables[name]]));
}

function toGraphQLError(error: unknown): GraphQLError {
  return error instanceof GraphQLError ? error : new GraphQLError(String((error as Error)?.message ?? error));
}
