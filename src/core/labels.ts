/** Labels dokkup puts on every container it manages; the node's state is rebuilt from them. */
export const LABEL_JOB = 'dokkup.job.name';
export const LABEL_VERSION = 'dokkup.job.version';

export function jobLabels(job: string, version: string): Record<string, string> {
  return { [LABEL_JOB]: job, [LABEL_VERSION]: version };
}
