/**
 * A small path router on node:http: `/v1/jobs/:name/plan` style patterns, 404 for unknown
 * paths and 405 (with `Allow`) for a known path with the wrong method.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from './errors.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  /** Decoded `:param` values. */
  params: Record<string, string>;
  /** Path without the query string. */
  path: string;
  /** The query string's parameters. */
  query: URLSearchParams;
  /** Id of the API key the request authenticated with (see agent/auth). */
  keyId: string;
}

export type RouteHandler = (context: RouteContext) => Promise<void> | void;

interface Route {
  method: Method;
  segments: string[];
  handler: RouteHandler;
}

export type RouteMatch =
  | { kind: 'found'; handler: RouteHandler; params: Record<string, string> }
  | { kind: 'method_not_allowed'; allowed: Method[] }
  | { kind: 'not_found' };

function split(path: string): string[] {
  return path.split('/').slice(1);
}

export class Router {
  private readonly routes: Route[] = [];

  add(method: Method, pattern: string, handler: RouteHandler): this {
    if (!pattern.startsWith('/')) throw new Error(`route pattern must start with /: ${pattern}`);
    this.routes.push({ method, segments: split(pattern), handler });
    return this;
  }

  get(pattern: string, handler: RouteHandler): this {
    return this.add('GET', pattern, handler);
  }

  post(pattern: string, handler: RouteHandler): this {
    return this.add('POST', pattern, handler);
  }

  put(pattern: string, handler: RouteHandler): this {
    return this.add('PUT', pattern, handler);
  }

  /** Throws a 400 `HttpError` for a path parameter that is not valid percent-encoding. */
  match(method: string, path: string): RouteMatch {
    const parts = split(path);
    const allowed: Method[] = [];
    for (const route of this.routes) {
      const params = matchSegments(route.segments, parts);
      if (!params) continue;
      if (route.method === method) return { kind: 'found', handler: route.handler, params };
      allowed.push(route.method);
    }
    return allowed.length > 0 ? { kind: 'method_not_allowed', allowed } : { kind: 'not_found' };
  }
}

function matchSegments(pattern: string[], parts: string[]): Record<string, string> | null {
  if (pattern.length !== parts.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const expected = pattern[i]!;
    const actual = parts[i]!;
    if (expected.startsWith(':')) {
      if (actual === '') return null;
      params[expected.slice(1)] = decodeSegment(actual);
    } else if (expected !== actual) {
      return null;
    }
  }
  return params;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(
      400,
      'invalid_request',
      `path segment ${JSON.stringify(segment)} is not valid URL encoding`,
    );
  }
}
