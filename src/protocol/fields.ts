/**
 * Field shapes the job file's parts share (entry names, durations), in a module of their own so
 * that job.ts and proxy.ts both build on them.
 */
import { z } from 'zod';

/**
 * An entry's name is a DNS label (lower case letters, digits and inner hyphens, at most 63): it
 * becomes a network alias other containers resolve, and part of the container names.
 */
export const ENTRY_NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
export const ENTRY_NAME_RULE =
  'must be a DNS label: lower-case letters, digits and hyphens (not first or last), at most 63';
/** `30s`, `1m30s`, `500ms`, `2h`, or a plain number of seconds. */
export const DURATION_PATTERN = /^(\d+(\.\d+)?(ms|s|m|h))+$/;

/** A zod schema: an entry name. */
export const entryName = z.string().regex(ENTRY_NAME_PATTERN, ENTRY_NAME_RULE);
/** A zod schema: seconds as a number, or a duration string. */
export const duration = z.union([
  z.number().nonnegative(),
  z.string().regex(DURATION_PATTERN, 'must be a duration like 30s, 1m30s or 500ms'),
]);
