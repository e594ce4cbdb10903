/**
 * An operation's answer: NDJSON progress lines, then one result line (`routes.deploy`, rollback,
 * stop). Each progress line goes to `onProgress` as it comes; the result ends the stream. A
 * stream that ends, breaks or times out without a result leaves the outcome on the node unknown,
 * and says so.
 */
import type http from 'node:http';
import { OperationLineSchema, type OperationResult } from '../protocol/api.js';
import type { ProgressCallback } from './agent-client.js';
import { AgentProtocolError, AgentRequestError } from './errors.js';

/** Largest answer the client accepts (a JSON body, or one progress line): a job status of a few
 * thousand containers fits easily. */
export const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

export interface OperationStreamOptions {
  /** The node's name, for errors. */
  node: string;
  /** The route, for errors. */
  path: string;
  onProgress: ProgressCallback;
  signal?: AbortSignal;
  /** The whole operation's deadline. */
  timeoutMs: number;
}

export function readOperationStream(
  res: http.IncomingMessage,
  { node, path, onProgress, signal, timeoutMs }: OperationStreamOptions,
): Promise<OperationResult> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    let result: OperationResult | undefined;
    let settled = false;
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (error) {
        res.destroy();
        reject(error);
      } else if (result) resolve(result);
      else {
        reject(
          new AgentProtocolError(
            node,
            'the connection closed before the operation reported its result; its outcome on the node is unknown',
          ),
        );
      }
    };
    const timer = setTimeout(
      () =>
        finish(
          new AgentProtocolError(
            node,
            `the operation did not finish within ${seconds(timeoutMs)}; its outcome on the node is unknown`,
          ),
        ),
      timeoutMs,
    );
    const onAbort = () => finish(new AgentRequestError(node, 'request cancelled'));
    signal?.addEventListener('abort', onAbort, { once: true });
    const handleLine = (raw: string) => {
      const text = raw.trim();
      if (!text || result) return;
      const parsed = OperationLineSchema.safeParse(tryJson(text));
      if (!parsed.success) {
        finish(new AgentProtocolError(node, `unexpected line from ${path}: ${text.slice(0, 200)}`));
        return;
      }
      if (parsed.data.type === 'progress') {
        try {
          onProgress(parsed.data);
        } catch (error) {
          finish(error instanceof Error ? error : new Error(String(error)));
        }
      } else result = parsed.data.result;
    };
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buffered += chunk;
      let newline = buffered.indexOf('\n');
      while (newline !== -1 && !settled) {
        handleLine(buffered.slice(0, newline));
        buffered = buffered.slice(newline + 1);
        newline = buffered.indexOf('\n');
      }
      if (buffered.length > MAX_RESPONSE_BYTES)
        finish(new AgentProtocolError(node, 'progress line too long'));
    });
    res.on('end', () => {
      handleLine(buffered);
      finish();
    });
    res.on('error', (error) => finish(result ? undefined : lostDuringOperation(node, error)));
    res.on('aborted', () => finish(result ? undefined : lostDuringOperation(node)));
  });
}

/** `5s`, `1.5s`: a deadline as messages say it. */
export function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(1)}s`;
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function lostDuringOperation(node: string, cause?: unknown): AgentProtocolError {
  return new AgentProtocolError(
    node,
    'the connection was lost during the operation; its outcome on the node is unknown',
    cause === undefined ? undefined : { cause },
  );
}
