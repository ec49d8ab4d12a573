import { hkdfSync } from 'node:crypto';
import { join } from 'node:path';
import { buildFederatedSchema, ConfigError, loadTypeDefs, type Runtime, type Subgraph } from '@chat/common';
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

export const typeDefs = loadTypeDefs(new URL('./schema.graphql', import.meta.url));

/** Confirmation codes are stored as HMACs under a key of their own, derived from the pepper. */
export function contactCodeKey(pepper: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', pepper, new Uint8Array(0), 'contact-change-codes', 32));
}

/**
 * The users subgraph issues access tokens and hashes passwords, so its
 * process must hold the signing keys and the pepper.
 * @throws ConfigError when it does not.
 */
export function createUsersSubgraph(runtime: Runtime): Subgraph<Context> {
  const { env, secrets } = runtime.config;
  const tokens = runtime.tokens;
  if (!tokens || !secrets.passwordPepper) {
    throw new ConfigError('Invalid configuration:\n  JWT_PRIVATE_KEYS, PASSWORD_PEPPER: required where the users subgraph runs');
  }
  const passwords = new PasswordHasher({ pepper: secrets.passwordPepper, previousPepper: secrets.passwordPepperPrevious });
  const codeKey = contactCodeKey(secrets.passwordPepper);
  const store = new UserStore(runtime.db.prisma, runtime.cache);
  const connectionStore = new ConnectionStore(runtime.db.prisma, runtime.cache);
  const contactChangeStore = new ContactChangeStore(runtime.db.prisma, runtime.cache);
  const sender = openMessageSender({
    smtpUrl: env.SMTP_URL,
    from: env.MAIL_FROM,
    outboxDir: env.OUTBOX_DIR ?? join(runtime.config.dataDir, 'outbox'),
    production: env.NODE_ENV === 'production',
  });
  const auth = new AuthService({ users: store, sessions: new SessionStore(runtime.db.prisma), passwords, ids: runtime.ids, tokens, cache: runtime.cache, pubsub: runtime.pubsub });
  const accounts = new AccountStore(runtime.db.prisma);
  const search = { limits: runtime.limits, perWindow: env.SEARCH_RATE_LIMIT };
  return {
    name: 'users',
    schema: withPermissions(buildFederatedSchema(typeDefs, resolvers)),
    async createContext(forwarded) {
      const viewer = await runtime.checkSession(forwarded);
      return {
        viewer,
        auth,
        account: new AccountService(viewer, accounts, auth, connectionStore, runtime.cache, runtime.pubsub, () => runtime.ids.next()),
        pubsub: runtime.pubsub,
        users: new UserService(viewer, store, search),
        connections: new ConnectionService(viewer, connectionStore, runtime.pubsub),
        contactChanges: new ContactChangeService(viewer, contactChangeStore, sender, codeKey, () => new Date(), env.CONTACT_CODE_TTL_SECONDS * 1000),
      };
    },
    jwks: () => tokens.publicJwks(),
    close: () => sender.close(),
  };
}
export { UserStore, MIN_SUBSTRING_SEARCH } from './store/user-store.ts';
export { SHARED_FIELDS } from './shared-fields.ts';
export { cutOffSessions } from './operator.ts';
