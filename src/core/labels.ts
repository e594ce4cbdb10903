/** Labels dokkup puts on every container it manages; the node's state is rebuilt from them. */
export const LABEL_JOB = 'dokkup.job.name';
export const LABEL_VERSION = 'dokkup.job.version';
/** The entry (`container[].name`) a container runs; absent for the single entry of a job that names none. */
export const LABEL_ENTRY = 'dokkup.job.entry';
/**
 * The replica a container belongs to, for jobs with several entries: the containers created
 * together as one replica (one of every entry) share it. Absent for one-entry jobs: there every
 * container is a replica of its own.
 */
export const LABEL_REPLICA = 'dokkup.job.replica';

export function jobLabels(job: string, version: string): Record<string, string> {
  return { [LABEL_JOB]: job, [LABEL_VERSION]: version };
}

/** The labels of one container of a replica. */
export function containerLabels(
  job: string,
  version: string,
  entry: string | undefined,
  replica: string | undefined,
): Record<string, string> {
  return {
    ...jobLabels(job, version),
    ...(entry !== undefined ? { [LABEL_ENTRY]: entry } : {}),
    ...(replica !== undefined ? { [LABEL_REPLICA]: replica } : {}),
  };
}
