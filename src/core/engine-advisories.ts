/**
 * Known defects of Docker Engine versions that bite an orchestrator: the agent warns about them
 * once, at start, naming the version it found and the first one that is fixed, so an operator
 * learns it from the agent's log rather than from a hung engine.
 */

export interface EngineAdvisory {
  /** What can go wrong, and what to do. */
  message: string;
  /** Where the defect and its fix are described. */
  reference: string;
}

/** `20.10.24+dfsg1`, `v24.0.7`, `28.2.2` → [major, minor, patch]; null for anything else. */
export function parseEngineVersion(version: string): [number, number, number] | null {
  const match = /^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(version.trim());
  if (!match) return null;
  return [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)];
}

function before(version: [number, number, number], fixed: [number, number, number]): boolean {
  for (let i = 0; i < 3; i++) {
    if (version[i]! !== fixed[i]!) return version[i]! < fixed[i]!;
  }
  return false;
}

/**
 * The advisories that apply to an engine reporting `version` (Docker's `/version` `Version`).
 * An unparseable version (a development build) gets none.
 */
export function engineAdvisories(version: string): EngineAdvisory[] {
  const parsed = parseEngineVersion(version);
  if (!parsed) return [];
  const advisories: EngineAdvisory[] = [];
  // libnetwork's controller and network locks taken in opposite orders when endpoints are
  // deleted while service records are read: fixed in 22.06 (moby#42545) and backported to
  // 20.10.27 (libnetwork#2679). Containers that exit together (an update's old replicas, a
  // purge) on a user-defined network are what races; the engine then hangs for good.
  if (before(parsed, [20, 10, 27])) {
    advisories.push({
      message: `Docker Engine ${version} can deadlock when many containers on one network stop at once (the engine then hangs until restarted): dokkup stops a job's old containers together, so upgrade to Docker 20.10.27 or newer (23+ recommended)`,
      reference: 'https://github.com/moby/moby/issues/46661',
    });
  }
  return advisories;
}
