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
 *
 * One event reaches every subscriber of a chat at once, and step 3 would
 * fetch the same entities once per subscriber. When every field the rest of
 * a plan fetches is one its subgraph declares the same for every signed-in
 * viewer (`sharedFields`, e.g. a sender's public profile), subscribers whose
 * operation, variables and event are identical share one execution while it
 * is in flight: one entity fetch per event instead of one per subscriber.
 * A shared result that carries errors is not reused (they may be the first
 * subscriber's own, such as an ended session); each then executes its own.
 *
 * Copies of one subscription (the same operation and variables, from the same
 * viewer's session, however many connections carry them) share more: one
 * subgraph subscription and one execution per event for all of them
 * (multicast.ts), so per-event work does not grow with copies. Not when the
 * subscription resumes from a cursor (`after`): its replay is its own.
 */
import { buildOperationContext, executeQueryPlan, type GraphQLDataSource, type ServiceMap } from '@apollo/gateway';
import { operationFromDocument, Supergraph, type Schema } from '@apollo/federation-internals';
import {
  QueryPlanner,
  type FetchNode,
  type PlanNode,
  type QueryPlan,
  type SubscriptionNode,
} from '@apollo/query-planner';
import { mapAsyncIterator } from '@chat/common';
import {
  getNamedType,
  getOperationAST,
  GraphQLError,
  isObjectType,
  Kind,
  parse,
  print,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';
import type { GatewayContext, SubgraphHost } from '../subgraph-hosts.ts';
import { Multicast } from './multicast.ts';

type RequestContext = Parameters<typeof executeQueryPlan>[2];
type DataSourceResponse = Awaited<ReturnType<GraphQLDataSource['process']>>;

export interface SubscriptionPlan {
  primary: FetchNode;
  /** The plan run for each event: the primary fetch, then the rest. */
  perEvent: QueryPlan;
  /** Whether the rest fetches only fields that are the same for every signed-in viewer (so subscribers may share it). */
  shareable: boolean;
}

export interface SubscriptionBridgeOptions {
  /** Per subgraph, the fields (`Type.field`) whose value is the same for every signed-in viewer. */
  sharedFields?: ReadonlyMap<string, ReadonlySet<string>>;
}

/** How often subscribers shared work, for tests and benchmarks. */
export interface SharingCounts {
  /** Per-event executions of a plan. */
  executed: number;
  /** Results one viewer's execution gave another viewer (`sharedFields`). */
  shared: number;
  /** Subscriptions that joined a running copy of themselves instead of opening their own. */
  joined: number;
}

export class SubscriptionBridge {
  readonly #planner: QueryPlanner;
  readonly #apiSchema: Schema;
  readonly #apiGraphQLSchema: GraphQLSchema;
  readonly #supergraphSchema: GraphQLSchema;
  readonly #hosts: ReadonlyMap<string, SubgraphHost>;
  readonly #serviceMap: ServiceMap;
  readonly #plans = new Map<string, SubscriptionPlan>();
  readonly #sharedFields: ReadonlyMap<string, ReadonlySet<string>>;
  /** Executions in flight that subscribers of the same event may share, by plan, variables and event. */
  readonly #inFlight = new Map<string, Promise<ExecutionResult>>();
  /** Running subscriptions that copies of them join, by viewer session, operation and variables. */
  readonly #copies = new Map<string, Multicast>();
  readonly counts: SharingCounts = { executed: 0, shared: 0, joined: 0 };

  constructor(
    supergraphSdl: string,
    hosts: ReadonlyMap<string, SubgraphHost>,
    options: SubscriptionBridgeOptions = {},
  ) {
    const supergraph = Supergraph.build(supergraphSdl);
    this.#planner = new QueryPlanner(supergraph);
    this.#apiSchema = supergraph.apiSchema();
    this.#apiGraphQLSchema = this.#apiSchema.toGraphQLJSSchema();
    this.#supergraphSchema = supergraph.schema.toGraphQLJSSchema();
    this.#hosts = hosts;
    this.#serviceMap = Object.fromEntries([...hosts].map(([name, host]) => [name, host.dataSource]));
    this.#sharedFields = options.sharedFields ?? new Map();
  }

  /** Plans a subscription operation (cached per document and operation name). */
  plan(document: DocumentNode, operationName?: string | null, source = print(document)): SubscriptionPlan {
    const key = `${operationName ?? ''}\u0000${source}`;
    let plan = this.#plans.get(key);
    if (!plan) {
      const operation = operationFromDocument(this.#apiSchema, document, { operationName: operationName ?? undefined });
      const node = this.#planner.buildQueryPlan(operation).node;
      if (node?.kind !== 'Subscription')
        throw new Error(`expected a subscription plan, got ${node?.kind ?? 'nothing'}`);
      plan = { ...toSubscriptionPlan(node), shareable: !!node.rest && this.#onlySharedFields(node.rest) };
      if (this.#plans.size > 1000) this.#plans.clear();
      this.#plans.set(key, plan);
    }
    return plan;
  }

  async subscribe(args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
    const { viewer } = args.contextValue as GatewayContext;
    const variables = (args.variableValues ?? {}) as Record<string, unknown>;
    // Printed once per subscription: the plan's cache key, the copies' key and the request the plan executes with.
    const source = print(args.document);
    if (!viewer || resumes(args.document, args.operationName, variables)) return this.#open(args, source);
    const key = [viewer.id, viewer.sessionId, args.operationName ?? '', source, JSON.stringify(variables)].join(
      '\u0000',
    );
    let copies = this.#copies.get(key);
    if (copies && !copies.over) {
      this.counts.joined++;
    } else {
      const started: Multicast = new Multicast(
        () => this.#open(args, source),
        () => this.#copies.get(key) === started && this.#copies.delete(key),
      );
      this.#copies.set(key, (copies = started));
    }
    return copies.join();
  }

  /** Opens a subscription of its own: the owning subgraph's stream, each event executed through the plan. */
  async #open(args: ExecutionArgs, source: string): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
    const context = args.contextValue as GatewayContext;
    const variables = (args.variableValues ?? {}) as Record<string, unknown>;
    const operationName = args.operationName ?? null;
    const plan = this.plan(args.document, operationName, source);
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
    const shareKey =
      plan.shareable && context.viewer
        ? `${operationName ?? ''}\u0000${source}\u0000${JSON.stringify(variables)}\u0000`
        : undefined;
    const requestContext = {
      request: { query: source, variables, operationName: operationName ?? undefined },
      context,
      logger: console,
      metrics: {},
    } as unknown as RequestContext;

    const execute = async (event: ExecutionResult): Promise<ExecutionResult> => {
      this.counts.executed++;
      // The owning subgraph "answers" the primary fetch with the event; the others are fetched for real.
      const serviceMap: ServiceMap = {
        ...this.#serviceMap,
        [plan.primary.serviceName]: {
          process: async () => ({ data: event.data, errors: event.errors }) as DataSourceResponse,
        },
      };
      const result = await executeQueryPlan(
        plan.perEvent,
        serviceMap,
        requestContext,
        operationContext,
        this.#supergraphSchema,
        this.#apiSchema,
      );
      return {
        data: result.data ?? null,
        ...(result.errors?.length ? { errors: result.errors.map(toGraphQLError) } : {}),
      };
    };

    return mapAsyncIterator(upstream, async (event) => {
      if (!event.data) return event;
      if (shareKey === undefined || event.errors) return execute(event);
      const key = shareKey + JSON.stringify(event.data);
      const pending = this.#inFlight.get(key);
      if (pending) {
        const shared = await pending;
        if (!shared.errors) {
          this.counts.shared++;
          return { ...shared };
        }
        return execute(event);
      }
      const started = execute(event);
      this.#inFlight.set(key, started);
      // Kept until the subscribers woken by the same publish have had their turn, then forgotten: never a cache.
      const forget = () => setImmediate(() => this.#inFlight.delete(key));
      started.then(forget, forget);
      return started;
    });
  }

  /** Whether every field `node` fetches is declared the same for every signed-in viewer by its subgraph. */
  #onlySharedFields(node: PlanNode): boolean {
    switch (node.kind) {
      case 'Sequence':
      case 'Parallel':
        return node.nodes.every((child) => this.#onlySharedFields(child));
      case 'Flatten':
        return this.#onlySharedFields(node.node);
      case 'Fetch': {
        const shared = this.#sharedFields.get(node.serviceName);
        if (!shared) return false;
        const document = parse(node.operation);
        const fragments = new Map(
          document.definitions
            .filter((definition): definition is FragmentDefinitionNode => definition.kind === Kind.FRAGMENT_DEFINITION)
            .map((fragment) => [fragment.name.value, fragment]),
        );
        const operation = document.definitions.find((definition) => definition.kind === Kind.OPERATION_DEFINITION);
        if (operation?.kind !== Kind.OPERATION_DEFINITION || operation.operation !== 'query') return false;
        // An entity fetch: `_entities(representations: …) { … on Type { fields } }`.
        return operation.selectionSet.selections.every(
          (selection) =>
            selection.kind === Kind.FIELD &&
            selection.name.value === '_entities' &&
            !!selection.selectionSet &&
            this.#selectsOnly(shared, undefined, selection.selectionSet, fragments),
        );
      }
      default:
        return false; // conditions, deferred parts: not worth reasoning about
    }
  }

  #selectsOnly(
    shared: ReadonlySet<string>,
    typeName: string | undefined,
    selectionSet: SelectionSetNode,
    fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  ): boolean {
    return selectionSet.selections.every((selection) => {
      switch (selection.kind) {
        case Kind.INLINE_FRAGMENT:
          return this.#selectsOnly(
            shared,
            selection.typeCondition?.name.value ?? typeName,
            selection.selectionSet,
            fragments,
          );
        case Kind.FRAGMENT_SPREAD: {
          const fragment = fragments.get(selection.name.value);
          return (
            !!fragment && this.#selectsOnly(shared, fragment.typeCondition.name.value, fragment.selectionSet, fragments)
          );
        }
        case Kind.FIELD: {
          const field = selection.name.value;
          if (field === '__typename') return true;
          if (!typeName || !shared.has(`${typeName}.${field}`)) return false;
          if (!selection.selectionSet) return true;
          const type = this.#supergraphSchema.getType(typeName);
          const fieldType = isObjectType(type) ? type.getFields()[field]?.type : undefined;
          return (
            !!fieldType && this.#selectsOnly(shared, getNamedType(fieldType).name, selection.selectionSet, fragments)
          );
        }
      }
    });
  }
}

function toSubscriptionPlan(node: SubscriptionNode): Omit<SubscriptionPlan, 'shareable'> {
  const { primary, rest } = node;
  return {
    primary,
    perEvent: { kind: 'QueryPlan', node: rest ? { kind: 'Sequence', nodes: [primary, rest] } : primary },
  };
}

/** Whether the operation resumes from a cursor: an `after` argument with a value on a root field. */
function resumes(
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown>,
): boolean {
  const operation = getOperationAST(document, operationName);
  return !!operation?.selectionSet.selections.some(
    (selection) =>
      selection.kind === Kind.FIELD &&
      !!selection.arguments?.some(({ name, value }) => {
        if (name.value !== 'after') return false;
        if (value.kind === Kind.VARIABLE) return variables[value.name.value] != null;
        return value.kind !== Kind.NULL;
      }),
  );
}

function pick(variables: Record<string, unknown>, names: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(names.filter((name) => name in variables).map((name) => [name, variables[name]]));
}

function toGraphQLError(error: unknown): GraphQLError {
  return error instanceof GraphQLError ? error : new GraphQLError(String((error as Error)?.message ?? error));
}
