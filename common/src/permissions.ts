/**
 * Permissions: graphql-shield rules applied to a subgraph's schema, where the
 * resolvers run. (Shield at the gateway is bypassed: the gateway executes a
 * query plan, not resolvers.) Each subgraph's `src/permissions.ts` names a
 * rule for every field of every object type; a field without one is denied
 * with FORBIDDEN, so a field added without a rule fails closed, and its
 * subgraph's permissions test names it.
 *
 * The rules are a first gate, not the only one: services keep their own
 * checks (ownership, roles, checks under a row lock), and a rule refuses with
 * the very error the service would.
 *
 * Cost: shield wraps every field's resolver, trivial property reads
 * included, in an async function. Each field then costs a promise, a check of
 * its rule and, for a cached rule, a look-up in the operation's
 * `context._shield.cache`: negligible for root fields, measurable for a
 * page of 100 messages of 15 fields each (the benchmarks issue measures it).
 * Hence: `isAuthenticated` is evaluated once per operation (`contextual`),
 * `allow` and `deny` are constants with no cache to consult, and member-only
 * rules rely on the services' per-operation DataLoaders, not on shield's
 * cache (`strict` would hash parent and arguments on every call).
 */
import {
  isIntrospectionType,
  isObjectType,
  type GraphQLError,
  type GraphQLFieldResolver,
  type GraphQLResolveInfo,
  type GraphQLSchema,
} from 'graphql';
import { applyMiddleware, type IMiddlewareFunction, type IMiddlewareTypeMap } from 'graphql-middleware';
import { rule, shield, type IRule } from 'graphql-shield';
import { forbidden, unauthenticated } from './errors.ts';
import type { BaseContext } from './subgraph.ts';

/** A field's rule. */
export type PermissionRule = IRule;

/** Type name → field name → rule. No wildcards: every field is named. */
export type PermissionRules = Readonly<Record<string, Readonly<Record<string, PermissionRule>>>>;

/**
 * How shield caches a rule's result within one operation: `contextual` once
 * per operation (the rule reads only the context), `strict` per parent and
 * arguments (hashed with object-hash on every call), `no_cache` never.
 */
export type RuleCache = 'contextual' | 'strict' | 'no_cache';

/** What a check answers: allowed, or the error that refuses (with a registry code). */
export type RuleOutcome = true | GraphQLError;

export type RuleCheck<TContext extends BaseContext> = (
  parent: unknown,
  args: Readonly<Record<string, unknown>>,
  context: TContext,
  info: GraphQLResolveInfo,
) => RuleOutcome | Promise<RuleOutcome>;

/**
 * A named rule. What the check throws is returned as the field's error
 * instead: shield would turn a thrown error into a plain `false`, reporting a
 * failed database read as FORBIDDEN. Returned, a registry error reaches the
 * client as it is, and anything else is masked as INTERNAL_SERVER_ERROR by
 * the host, like any resolver failure.
 * @param name unique per rule: shield keys the `contextual` cache by it.
 */
export function permissionRule<TContext extends BaseContext>(
  name: string,
  cache: RuleCache,
  check: RuleCheck<TContext>,
): PermissionRule {
  return rule(name, { cache })(
    async (parent: unknown, args: Record<string, unknown>, context: TContext, info: GraphQLResolveInfo) => {
      try {
        return await check(parent, args, context, info);
      } catch (error) {
        return error instanceof Error ? error : new Error(String(error));
      }
    },
  );
}

/** A logged-in viewer; UNAUTHENTICATED otherwise. Once per operation: it reads only the context. */
export const isAuthenticated = permissionRule<BaseContext>(
  'isAuthenticated',
  'contextual',
  (_parent, _args, { viewer }) => (viewer ? true : unauthenticated()),
);

/** Anyone. A constant: caching it would cost more than answering. */
export const allow: PermissionRule = rule('allow', { cache: 'no_cache' })(() => true);

/** No one (the fallback): refused with FORBIDDEN. */
export const deny: PermissionRule = rule('deny', { cache: 'no_cache' })(() => false);

/** `{ [field]: rule }` for fields that share a rule, each named explicitly. */
export function sameRule<const F extends string>(
  permission: PermissionRule,
  ...fields: F[]
): Record<F, PermissionRule> {
  return Object.fromEntries(fields.map((field) => [field, permission])) as Record<F, PermissionRule>;
}

const refusedByFallback = (
  _error: unknown,
  _parent: object,
  _args: object,
  _context: unknown,
  info: GraphQLResolveInfo,
) => forbidden(`No permission rule allows ${info.parentType.name}.${info.fieldName}.`);

/**
 * The schema with `rules` applied: a field without a rule is denied
 * (FORBIDDEN). Errors that resolvers throw pass through unchanged
 * (`allowExternalErrors`), for the host to mask or not; without it shield
 * would replace every one of them with the fallback error.
 *
 * Subscription fields are checked once, when the subscription opens, rather
 * than on every event.
 * @throws shield's ValidationError at start for a rule naming a type or field the schema lacks.
 */
export function applyPermissions(schema: GraphQLSchema, rules: PermissionRules): GraphQLSchema {
  const middleware = shield(rules, {
    fallbackRule: deny,
    allowExternalErrors: true,
    fallbackError: refusedByFallback,
  }).generate(schema) as IMiddlewareTypeMap;
  const permitted = applyMiddleware(schema, middleware);
  checkSubscriptionsOnSubscribe(schema, permitted, middleware);
  return permitted;
}

/**
 * graphql-middleware wraps only `resolve` of a field that has both `resolve`
 * and `subscribe` (every subscription here maps its events): the rule would
 * run per event, after the subscription had been opened for anyone. Move it
 * to `subscribe`, and leave the per-event mapping unwrapped.
 */
function checkSubscriptionsOnSubscribe(
  source: GraphQLSchema,
  permitted: GraphQLSchema,
  middleware: IMiddlewareTypeMap,
): void {
  const sourceType = source.getSubscriptionType();
  const permittedType = permitted.getSubscriptionType();
  if (!sourceType || !permittedType) return;
  // Shield generates a map of fields for every object type.
  const fieldMiddleware = middleware[sourceType.name] as Record<string, IMiddlewareFunction> | undefined;
  for (const [name, field] of Object.entries(permittedType.getFields())) {
    const original = sourceType.getFields()[name];
    const wrap = fieldMiddleware?.[name];
    const check = typeof wrap === 'function' ? wrap : wrap?.resolve;
    const { subscribe, resolve } = original ?? {};
    if (!check || !subscribe || !resolve) continue; // only `subscribe`: graphql-middleware wrapped it already
    const guarded: GraphQLFieldResolver<unknown, unknown> = (parent, args, context, info) =>
      check((p = parent, a = args, c = context, i = info) => subscribe(p, a, c, i), parent, args, context, info);
    field.subscribe = guarded;
    field.resolve = resolve;
  }
}

/**
 * `Type.field` of every field of an object type that has no rule, and of
 * every rule that names no field: what a subgraph's permissions test checks.
 */
export function permissionGaps(
  schema: GraphQLSchema,
  rules: PermissionRules,
): { withoutRule: string[]; withoutField: string[] } {
  const withoutRule: string[] = [];
  const withoutField: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || isIntrospectionType(type)) continue;
    const fields = type.getFields();
    const typeRules = rules[type.name] ?? {};
    for (const field of Object.keys(fields))
      if (!Object.hasOwn(typeRules, field)) withoutRule.push(`${type.name}.${field}`);
  }
  for (const [typeName, typeRules] of Object.entries(rules)) {
    const type = schema.getType(typeName);
    const fields = type && isObjectType(type) ? type.getFields() : {};
    for (const field of Object.keys(typeRules))
      if (!Object.hasOwn(fields, field)) withoutField.push(`${typeName}.${field}`);
  }
  return { withoutRule, withoutField };
}
