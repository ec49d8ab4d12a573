import { join } from 'node:path';
import { buildFederatedSchema, loadTypeDefs, type Runtime, type Subgraph } from '@chat/common';
import type { Context } from './context.ts';
import { openMessageSender } from './mail/open-sender.ts';
import { resolvers } from './resolvers/index.ts';
import { AccountService } from './services/account-service.ts';
import { AuthService } from './services/auth-service.ts';
import { ConnectionService } from './services/connection-service.ts';
import { ContactChangeService } from './services/contact-change-service.ts';
import { UserService } from './services/user-service.ts';
import { AccountStore } from './store/account-store.ts';
import { ConnectionStore } from './store/connection-store.ts';
import { ContactChangeStore } from './store/contact-change-store.ts';
import { UserStore } from './store/user-store.ts';

export const typeDefs = loadTypeDefs(new URL('./schema.graphql', import.meta.url));

export function createUsersSubgraph(runtime: Runtime): Subgraph<Context> {
  const { env } = runtime.config;
  const store = new UserStore(runtime.db.prisma, runtime.cache);
  const connectionStore = new ConnectionStore(runtime.db.prisma, runtime.cache);
  const contactChangeStore = new ContactChangeStore(runtime.db.prisma, runtime.cache);
  const sender = openMessageSender({
    smtpUrl: env.SMTP_URL,
    from: env.MAIL_FROM,
    outboxDir: env.OUTBOX_DIR ?? join(runtime.config.dataDir, 'outbox'),
    production: env.NODE_ENV === 'production',
  });
  const auth = new AuthService(store, runtime.ids, runtime.tokens);
  const accounts = new AccountStore(runtime.db.prisma);
  const search = { limits: runtime.limits, perWindow: env.SEARCH_RATE_LIMIT };
  return {
    name: 'users',
    schema: buildFederatedSchema(typeDefs, resolvers),
    async createContext(headers) {
      const viewer = await runtime.tokens.viewerFromAuthorization(headers.authorization);
      return {
        viewer,
        auth,
        account: new AccountService(viewer, accounts, connectionStore, runtime.cache, runtime.pubsub, () => runtime.ids.next()),
        pubsub: runtime.pubsub,
        users: new UserService(viewer, store, search),
        connections: new ConnectionService(viewer, connectionStore, runtime.pubsub),
        contactChanges: new ContactChangeService(viewer, contactChangeStore, sender, runtime.config.jwtSecret, () => new Date(), env.CONTACT_CODE_TTL_SECONDS * 1000),
      };
    },
    close: () => sender.close(),
  };
}
export { UserStore, MIN_SUBSTRING_SEARCH } from './store/user-store.ts';
