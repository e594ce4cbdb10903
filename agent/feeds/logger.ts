/** What the feeds log through: the agent's pino logger, or a silent one in tests. */
export interface FeedLogger {
  debug(details: object, message: string): void;
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}
