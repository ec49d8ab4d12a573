import type { BaseContext, PubSubEngine, Runtime } from '@chat/common';
import type { AccountService } from './services/account-service.ts';
import type { AuthService } from './services/auth-service.ts';
import type { ConnectionService } from './services/connection-service.ts';
import type { ContactChangeService } from './services/contact-change-service.ts';
import type { UserService } from './services/user-service.ts';

export interface Context extends BaseContext {
  /** Per operation: carries the operation's User DataLoader. */
  users: UserService;
  auth: AuthService;
  account: AccountService;
  connections: ConnectionService;
  contactChanges: ContactChangeService;
  pubsub: PubSubEngine;
}

export type { Runtime };
