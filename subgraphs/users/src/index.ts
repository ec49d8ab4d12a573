import { hkdfSync } from 'node:crypto';
import { buildFederatedSchema, ConfigError, loadConfig, loadTypeDefs, type Runtime, type Subgraph } from '@chat/common';
import { USERS_MODELS, type UsersConfig } from './env.ts';
import type { Context } from './context.ts';
import { withPermissions } from './permissions.ts';
import { openMessageSender } from './mail/open-sender.ts';
import { resolvers } from './resolvers/index.ts';
import { AccountService } from './services/account-service.ts';
import { AuthService } from './services/auth-service.ts';
import { ConnectionService } from './services/connection-service.ts';
import { ContactChangeService } from './services/contact-change-service.ts';
import { PasswordHasher } from './services/password.ts';
import { UserService } from './services/user-service.ts';
import { AccountStore } from './store/account-store.ts';
import { ConnectionStore } from './store/connection-store.ts';
import { ContactChangeStore } from './store/contact-change-store.ts';
import { SessionStore } from './store/session-store.ts';
import { UserStore } from './store/user-store.ts';

export { USERS_MODELS, type UsersConfig } from './env.ts';

export const typeDefs = loadTypeDefs(new URL('./schema.graphql', import.meta.url));

/** Confirmation codes are stored as HMACs under a key of their own, derived from the pepper. */
export function contactCodeKey(pepper: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', pepper, new Uint8Array(0), 'contact-change-codes', 32));
}

/**
 * The users subgraph issues access tokens and hashes passwords, so its
 * process must hold the signing keys and the pepper.
 * @param config this subgraph's settings (`env.ts`); each one left out takes its default (tests).
 * @throws ConfigError when it does not.
 */
export function createUsersSubgraph(runtime: Runtime, config: Partial<UsersConfig> = {}): Subgraph<Context> {
  const { secrets, server } = runtime.config;
  const { users, mail } = { ...loadConfig(USERS_MODELS, {}), ...config };
  const tokens = runtime.tokens;
  if (!tokens || !secrets.passwordPepper) {
    throw new ConfigError(
      'Invalid configuration:\n  JWT_PRIVATE_KEYS, PASSWORD_PEPPER: required where the users subgraph runs',
    );
  }
  const passwords = new PasswordHasher({
    pepper: secrets.passwordPepper,
    previousPepper: secrets.passwordPepperPrevious,
  });
  const codeKey = contactCodeKey(secrets.passwordPepper);
  const store = new UserStore(runtime.db.prisma, runtime.cache);
  const connectionStore = new ConnectionStore(runtime.db.prisma, runtime.cache);
  const contactChangeStore = new ContactChangeStore(runtime.db.prisma, runtime.cache);
  const sender = openMessageSender({ ...mail, production: server.production });
  const auth = new AuthService({
    users: store,
    sessions: new SessionStore(runtime.db.prisma),
    passwords,
    ids: runtime.ids,
    tokens,
    cache: runtime.cache,
    pubsub: runtime.pubsub,
  });
  const accounts = new AccountStore(runtime.db.prisma);
  const search = { limits: runtime.limits, perWindow: users.searchPerWindow };
  return {
    name: 'users',
    schema: withPermissions(buildFederatedSchema(typeDefs, resolvers)),
    async createContext(forwarded) {
      const viewer = await runtime.checkSession(forwarded);
      return {
        viewer,
        auth,
        account: new AccountService(viewer, accounts, auth, connectionStore, runtime.cache, runtime.pubsub, () =>
          runtime.ids.next(),
        ),
        pubsub: runtime.pubsub,
        users: new UserService(viewer, store, search),
        connections: new ConnectionService(viewer, connectionStore, runtime.pubsub),
        contactChanges: new ContactChangeService(
          viewer,
          contactChangeStore,
          sender,
          codeKey,
          () => new Date(),
          users.contactCodeTtlMs,
        ),
      };
    },
    jwks: () => tokens.publicJwks(),
    close: () => sender.close(),
  };
}
export { UserStore, MIN_SUBSTRING_SEARCH } from './store/user-store.ts';
export { SHARED_FIELDS } from './shared-fields.ts';
export { cutOffSessions } from './operator.ts';
