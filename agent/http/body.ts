/** Reading and validating request bodies, with a hard size limit. */
import type { IncomingMessage } from 'node:http';
import type { z } from 'zod';
import { settleOnce } from '../../src/core/settle.js';
import { parseJson } from '../../src/protocol/parse.js';
import { badRequest, HttpError } from './errors.js';

function tooLarge(limit: number): HttpError {
  return new HttpError(413, 'payload_too_large', `request body is larger than the limit of ${limit} bytes`);
}

/**
 * The raw body, refused with 413 as soon as it exceeds `limit` (up front when Content-Length
 * already says so). Past the limit nothing more is buffered.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(tooLarge(limit));
  return settleOnce<Buffer>((settle) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        chunks.length = 0;
        // Keep consuming (and dropping) the rest so the 413 reaches a client still sending.
        req.resume();
        settle.reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => settle.resolve(Buffer.concat(chunks, size));
    const onClose = () =>
      settle.reject(new HttpError(400, 'invalid_request', 'client closed the request before its body ended'));
    // A client that goes away mid-body shows up as an `aborted` ECONNRESET before the close: the
    // same thing, not an internal error.
    const onError = (error: NodeJS.ErrnoException) =>
      error.code === 'ECONNRESET' ? onClose() : settle.reject(error);
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onError);
    req.once('close', onClose);
    return () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
  });
}

/** Reads a JSON body and validates it; an empty body counts as `{}`. */
export async function readJson<T extends z.ZodType>(
  req: IncomingMessage,
  schema: T,
  limit: number,
): Promise<z.infer<T>> {
  const raw = await readBody(req, limit);
  const text = raw.toString('utf8').trim();
  const parsed = parseJson(text === '' ? '{}' : text, schema);
  if (parsed.ok) return parsed.value;
  if (parsed.problem.kind === 'syntax') {
    throw new HttpError(400, 'invalid_request', `request body is not valid JSON: ${parsed.problem.message}`);
  }
  throw badRequest(parsed.problem);
}
