/**
 * Long operations answer as NDJSON: progress lines as they happen, then one `done` line.
 * The operation belongs to the agent, not to the connection: a client that goes away does not
 * abort it (a half-done deploy is worse than a finished one nobody watched).
 */
import type { ServerResponse } from 'node:http';
import type { DoneLine, OperationResult, ProgressLine } from '../../src/protocol/api.js';
import type { ProgressSink } from '../jobs/service.js';
import { toErrorResponse } from './errors.js';
import { COMMON_HEADERS } from './respond.js';

export const NDJSON_CONTENT_TYPE = 'application/x-ndjson';

export interface StreamOptions {
  /**
   * Headers wait this long for the first line, so an operation refused at once (job busy, not
   * found) still gets a plain JSON error with its status; after that the 200 stream starts anyway
   * so clients see the operation was accepted.
   */
  headerDelayMs?: number;
  /** Called when the operation threw instead of resolving (a bug in the engine's contract). */
  onUnexpectedError?: (error: unknown) => void;
}

/** What the client sees when an operation threw after its stream had started. */
export function failedResult(error: unknown): OperationResult {
  const { body } = toErrorResponse(error);
  return {
    ok: false,
    action: 'noop',
    message: body.error.message,
    versionFrom: null,
    versionTo: null,
    running: 0,
    total: 0,
    error: body.error,
  };
}

/**
 * Runs `operation`, streaming its progress to `res`. Rejects only when the operation fails
 * before the stream started, so the caller can answer with an ordinary error response.
 */
export async function streamOperation(
  res: ServerResponse,
  operation: (progress: ProgressSink) => Promise<OperationResult>,
  options: StreamOptions = {},
): Promise<void> {
  let started = false;
  const start = () => {
    if (started) return;
    started = true;
    if (res.headersSent || res.destroyed) return;
    res.writeHead(200, { ...COMMON_HEADERS, 'Content-Type': NDJSON_CONTENT_TYPE });
    res.flushHeaders();
  };
  const writeLine = (line: ProgressLine | DoneLine) => {
    start();
    // A client that left is not an error: the operation goes on, its lines go nowhere.
    if (res.destroyed || res.writableEnded) return;
    res.write(`${JSON.stringify(line)}\n`);
  };
  const timer = setTimeout(start, options.headerDelayMs ?? 200);
  let result: OperationResult;
  try {
    result = await operation((line) => writeLine(line));
  } catch (error) {
    if (!started) throw error;
    options.onUnexpectedError?.(error);
    result = failedResult(error);
  } finally {
    clearTimeout(timer);
  }
  writeLine({ type: 'done', result });
  if (!res.destroyed && !res.writableEnded) res.end();
}
