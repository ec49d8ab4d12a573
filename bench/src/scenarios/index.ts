import type { Scenario } from '../harness.ts';
import { scenario as fanout } from './fanout.ts';
import { scenario as federatedQuery } from './federated-query.ts';
import { scenario as history } from './history.ts';
import { scenario as sendPath } from './send-path.ts';

/** Every scenario, in the order `npm run bench` runs them. */
export const scenarios: Scenario[] = [federatedQuery, fanout, sendPath, history];
