/** Safe Engine API paths. */

/**
 * A container, image or network reference as one Engine API path segment. dockerode pastes
 * references into paths as they are (`/images/<ref>/json`), so a reference holding `?`, `#`,
 * `/..` or `%` could otherwise reach another endpoint or add query parameters; Docker decodes
 * the segment back (`/` in image names included).
 */
export function engineRef(ref: string): string {
  const encoded = encodeURIComponent(ref);
  // `.` and `..` survive encodeURIComponent and would still be read as path steps.
  return /^\.+$/.test(ref) ? encoded.replace(/\./g, '%2E') : encoded;
}
