import { buildFederatedSchema, loadTypeDefs, type Runtime, type Subgraph } from '@chat/common';
import type { Context } from './context.ts';
import { resolvers } from './resolvers/index.ts';
import { AuthService } from './services/auth-service.ts';
import { UserService } from './services/user-service.ts';
import { UserStore } from './store/user-store.ts';

export const typeDefs = loadTypeDefs(new URL('./schema.graphql', import.meta.url));

export function createUsersSubgraph(runtime: Runtime): Subgraph<Context> {
  const store = new UserStore(runtime.db.prisma);
  const auth = new AuthService(store, runtime.ids, runtime.tokens);
  return {
    name: 'users',
    schema: buildFederatedSchema(typeDefs, resolvers),
    async createContext(headers) {
      const viewer = await runtime.tokens.viewerFromAuthorization(headers.authorization);
      return { viewer, auth, users: new UserService(viewer, store) };
    },
  };
}
