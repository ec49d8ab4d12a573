/**
 * The permission checks every subgraph's `permissions.test.ts` makes, in one
 * place: a rule for every field (deny by default leaves no gap unnoticed),
 * the root fields open to anonymous callers named exactly, and a membership
 * rule on every root field that names a chat.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { getNamedType, isInputObjectType, type DocumentNode, type GraphQLField, type GraphQLObjectType } from 'graphql';
import { allow, permissionGaps, type PermissionRules } from '../permissions.ts';
import { buildFederatedSchema } from '../subgraph.ts';

export interface PermissionCoverage {
  typeDefs: DocumentNode;
  resolvers: object;
  permissions: PermissionRules;
  /** Every root field (`Mutation.login`) whose rule is `allow`, `Query._service` included. */
  anonymous: readonly string[];
  /** For subgraphs whose root fields name chats: who may use them. */
  membership?: {
    /** The rule every such field has: its name, or the start of it (`chats.isChatMember`). */
    rule: string;
    /**
     * Root fields naming a chat other than by a `chatId` argument or an
     * input's `chatId` field (`Query.chat`).
     */
    alsoNamingChat?: readonly string[];
    /** Root fields naming a chat that knowingly have another rule, and why the test says so. */
    unchecked?: readonly string[];
  };
}

/** Registers the coverage tests (`it`) in the current `describe`. */
export function describePermissionCoverage(coverage: PermissionCoverage): void {
  const schema = () => buildFederatedSchema(coverage.typeDefs, coverage.resolvers);

  it('names a rule for every field of every object type, and none for a field that does not exist', () => {
    assert.deepEqual(permissionGaps(schema(), coverage.permissions), { withoutRule: [], withoutField: [] });
  });

  it(`lets anonymous callers reach only ${coverage.anonymous.join(', ')}`, () => {
    const allowed = rootFields(schema()).flatMap(({ root, field }) =>
      coverage.permissions[root.name]?.[field.name] === allow ? [`${root.name}.${field.name}`] : [],
    );
    assert.deepEqual(allowed.sort(), [...coverage.anonymous].sort());
  });

  const { membership } = coverage;
  if (!membership) return;
  it('checks membership wherever a root field names a chat', () => {
    const unchecked = rootFields(schema()).flatMap(({ root, field }) => {
      const coordinate = `${root.name}.${field.name}`;
      const namesChat = membership.alsoNamingChat?.includes(coordinate) || field.args.some(namesChatId);
      const rule = coverage.permissions[root.name]?.[field.name];
      return namesChat && !rule?.name.startsWith(membership.rule) ? [coordinate] : [];
    });
    assert.deepEqual(unchecked.sort(), [...(membership.unchecked ?? [])].sort());
  });
}

function rootFields(
  schema: ReturnType<typeof buildFederatedSchema>,
): { root: GraphQLObjectType; field: GraphQLField<unknown, unknown> }[] {
  const roots = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].flatMap((type) =>
    type ? [type] : [],
  );
  return roots.flatMap((root) => Object.values(root.getFields()).map((field) => ({ root, field })));
}

/** An argument `chatId`, or an input object with a `chatId` field. */
function namesChatId(arg: { name: string; type: Parameters<typeof getNamedType>[0] }): boolean {
  const type = getNamedType(arg.type);
  return arg.name === 'chatId' || (isInputObjectType(type) && 'chatId' in type.getFields());
}
