/** The rendering lives in @chat/common: the messages subgraph re-renders SYSTEM texts when a name must go (account deletion). */
export { renderSystemText } from '@chat/common';
