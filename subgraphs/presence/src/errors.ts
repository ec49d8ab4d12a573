/**
 * The reasons (`extensions.reason`) the presence subgraph gives: none yet;
 * its refusals carry a shared code only. Registered in the one registry
 * (`@chat/common` error-registry.ts; docs/ERRORS.md) like every subgraph's.
 */
import type { ErrorCode, ErrorReasonDefinition, ErrorSet } from '@chat/common';

export const PRESENCE_REASONS = {} as const satisfies Record<string, ErrorReasonDefinition<ErrorCode>>;

/** What the presence subgraph registers. */
export const PRESENCE_ERRORS: ErrorSet = { owner: 'presence', reasons: PRESENCE_REASONS };
