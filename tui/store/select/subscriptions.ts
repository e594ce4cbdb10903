/**
 * Which live feeds the screen needs (Elm's `subscriptions`): stats of the online nodes while
 * usage is on screen, and the logs the Logs tab shows while it is visible. The feeds controller
 * keeps the open subscriptions equal to this after every change.
 */
import { layoutOf } from '../layout.js';
import type { LogTarget, TuiState } from '../state.js';

export interface Subscriptions {
  /** Nodes whose stats feed is wanted (containers are on screen). */
  stats: string[];
  logs: LogTarget | null;
}

export function subscriptions(state: TuiState): Subscriptions {
  const layout = layoutOf(state);
  const statsVisible =
    layout.containers !== null ||
    layout.nodes !== null ||
    (layout.detail !== null && (state.detail.tab === 'stats' || state.detail.tab === 'info'));
  const statsNodes = statsVisible ? state.nodeOrder.filter((n) => state.nodes[n]!.conn === 'online') : [];
  const logsVisible = layout.detail !== null && state.detail.tab === 'logs';
  return { stats: statsNodes, logs: logsVisible ? state.logs.target : null };
}
