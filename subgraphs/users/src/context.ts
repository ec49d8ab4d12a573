import type { BaseContext, Runtime } from '@chat/common';
import type { AuthService } from './services/auth-service.ts';
import type { UserService } from './services/user-service.ts';

export interface Context extends BaseContext {
  /** Per operation: carries the operation's User DataLoader. */
  users: UserService;
  auth: AuthService;
}

export type { Runtime };
