/**
 * The Node.js lines dokkup runs on: 24 (the runtime of the image and the single file) and 22
 * (the oldest supported, `engines` in package.json). An older Node gets one clear line instead
 * of whatever a dependency happens to trip over first.
 */
export const OLDEST_NODE_MAJOR = 22;

/** Why this Node cannot run dokkup, or undefined when it can. */
export function unsupportedNode(version: string): string | undefined {
  const major = Number(/^v?(\d+)\./.exec(version)?.[1]);
  if (Number.isInteger(major) && major >= OLDEST_NODE_MAJOR) return undefined;
  return `dokkup needs Node.js ${OLDEST_NODE_MAJOR} or newer (24 recommended); this is Node.js ${version}`;
}
