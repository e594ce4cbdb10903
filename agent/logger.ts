/**
 * The agent's logs: pino JSON lines (for log collectors), readable lines on a terminal.
 * `LOG_LEVEL` sets the level, `LOG_FORMAT=json|pretty` overrides the TTY guess.
 */
import { type DestinationStream, type Logger, pino } from 'pino';
import PinoPretty from 'pino-pretty';
import { DokkupError } from '../src/core/errors.js';

export type { Logger };

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LoggerOptions {
  /** Default: `LOG_LEVEL`, else `info`. */
  level?: string;
  /** Default: `LOG_FORMAT`, else pretty when stdout is a terminal. */
  format?: string;
  /** Default: stdout. A path appends to that file. */
  destination?: string | DestinationStream;
  env?: NodeJS.ProcessEnv;
  isTTY?: boolean;
}

export function parseLogLevel(value: string | undefined): LogLevel {
  const level = (value ?? 'info').trim().toLowerCase() || 'info';
  if ((LOG_LEVELS as readonly string[]).includes(level)) return level as LogLevel;
  throw new DokkupError(
    'invalid_request',
    `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${value}")`,
  );
}

export function parseLogFormat(value: string | undefined, isTTY: boolean): 'json' | 'pretty' {
  if (value === undefined || value.trim() === '') return isTTY ? 'pretty' : 'json';
  const format = value.trim().toLowerCase();
  if (format === 'json' || format === 'pretty') return format;
  throw new DokkupError('invalid_request', `LOG_FORMAT must be json or pretty (got "${value}")`);
}

/** Throws `DokkupError('invalid_request')` for an unknown level or format. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const env = options.env ?? process.env;
  const level = parseLogLevel(options.level ?? env['LOG_LEVEL']);
  const toStdout = options.destination === undefined;
  const isTTY = options.isTTY ?? (toStdout && process.stdout.isTTY === true);
  const format = parseLogFormat(options.format ?? env['LOG_FORMAT'], isTTY);
  const settings = {
    level,
    base: { pid: process.pid },
    // Belt and braces: nothing should ever log a key or a registry credential (request bodies are
    // never logged), but if a header or a request object slips in, hide them.
    redact: {
      paths: [
        'headers.authorization',
        'req.headers.authorization',
        'key',
        'apiKey',
        'registryAuth',
        '*.registryAuth',
        'authconfig',
        '*.authconfig',
        'password',
        '*.password',
        'identitytoken',
        '*.identitytoken',
        'headers["x-registry-auth"]',
        'req.headers["x-registry-auth"]',
      ],
      censor: '[redacted]',
    },
  };
  const target = options.destination;
  // Synchronous writes: logs must not be lost when the agent exits right after a message.
  const destination =
    typeof target === 'object' ? target : pino.destination({ dest: target ?? 1, sync: true, mkdir: true });
  if (format === 'pretty') {
    return pino(
      settings,
      PinoPretty({
        colorize: isTTY,
        sync: true,
        destination,
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'pid,hostname',
      }),
    );
  }
  return pino(settings, destination);
}

/** A logger that writes nothing (embedded agent, tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
