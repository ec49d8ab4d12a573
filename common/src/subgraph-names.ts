/**
 * Every subgraph, with the port its own process listens on by default
 * (distributed mode); the gateway mounts each one without a URL.
 */
export const SUBGRAPH_PORTS = { users: 4001, chats: 4002, messages: 4003, presence: 4004, media: 4005 } as const;

export type SubgraphName = keyof typeof SUBGRAPH_PORTS;

export const SUBGRAPH_NAMES = Object.keys(SUBGRAPH_PORTS) as SubgraphName[];
