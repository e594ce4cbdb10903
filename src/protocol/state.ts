/**
 * What an agent persists per job in its data directory (`jobs/<job>.json`): the history of
 * deployed specs and which one is current. Validated on read: the file is a boundary too.
 */
import { z } from 'zod';
import { CanaryMarkSchema } from './api.js';
import { JobSpecSchema } from './job.js';

export const HistoryRecordSchema = z.object({
  version: z.string().regex(/^[0-9a-f]{7}$/),
  spec: JobSpecSchema,
  /** ISO-8601. */
  deployedAt: z.string(),
});
export type HistoryRecord = z.infer<typeof HistoryRecordSchema>;

export const JobStateSchema = z.object({
  schema: z.literal(1),
  job: z.string(),
  /** Version that is (or should be) running; null after a purge or before the first success. */
  current: z.string().nullable(),
  /** Oldest first. */
  entries: z.array(HistoryRecordSchema),
  /**
   * Set while the current version is a canary that was not promoted: it stays with the node, so
   * every operator's CLI and TUI sees it. Valid only while `current` is `canary.version`.
   */
  canary: CanaryMarkSchema.optional(),
});
export type JobState = z.infer<typeof JobStateSchema>;
