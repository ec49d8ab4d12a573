/**
 * The foundation's suite on distributed topologies (tests/src/kit/topology.ts):
 * a subscriber on one gateway receives what is sent through the other.
 */
import { startDistributed } from '../kit/topology.ts';
import { chatFlowSuite } from './chat-flow.ts';

chatFlowSuite(
  'distributed on Postgres + Redis: send via gateway A (in-process subgraphs), subscribe via gateway B (subgraph processes)',
  async () => {
    const topology = await startDistributed();
    return { sendUrl: topology.gatewayA.url, subscribeUrl: topology.gatewayB.url, stop: topology.stop };
  },
);

chatFlowSuite(
  'distributed with the backplane (Kafka, Cassandra, consumer processes): send via gateway B, subscribe via gateway A',
  async () => {
    const topology = await startDistributed({ backplane: { consumers: 2 } });
    return { sendUrl: topology.gatewayB.url, subscribeUrl: topology.gatewayA.url, stop: topology.stop };
  },
);
