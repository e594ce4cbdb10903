/** Live feeds (events, stats, logs) over the agent's WebSocket; see `attach.ts`. */
export {
  type AttachFeedsOptions,
  attachFeeds,
  type FeedAuthorizer,
  type FeedsDiagnostics,
  type FeedsHandle,
} from './attach.js';
export { FeedHub, type OperationSource } from './hub.js';
export type { FeedLogger } from './logger.js';
export { DEFAULT_FEED_LIMITS, type FeedLimits } from './subscription.js';
export type { SummarySource } from './summary.js';
