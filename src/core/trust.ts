/**
 * How an operator's machine decides whom to trust, in pure functions: the certificate
 * fingerprint an inventory pins (`SHA256:<hex>`, as `dokkup agent` prints it) and which nodes
 * are reached over plain HTTP beyond this machine (worth a warning on every run).
 */

/** `dokkup agent` prints `SHA256:` and 64 lowercase hex digits. */
export const FINGERPRINT_PATTERN = /^SHA256:[0-9a-f]{64}$/;

/**
 * The canonical form of a fingerprint as written in an inventory, or null when it is not one.
 * Accepted: `SHA256:` (any case) and 64 hex digits, any case, with or without colons between
 * the bytes (what `openssl x509 -fingerprint -sha256` prints after its `=`).
 */
export function normaliseFingerprint(text: string): string | null {
  const match = /^sha256:\s*(.*)$/i.exec(text.trim());
  if (!match) return null;
  const hex = match[1]!.replaceAll(':', '').toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? `SHA256:${hex}` : null;
}

/** A host name or address that stays on this machine: `localhost`, 127.0.0.0/8, ::1. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost' || bare.endsWith('.localhost')) return true;
  if (bare === '::1' || bare === '0:0:0:0:0:0:0:1') return true;
  if (/^::ffff:127\.\d+\.\d+\.\d+$/.test(bare)) return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare);
}

/** The nodes whose requests (and key) travel unencrypted across a network: `http://` to another machine. */
export function plainHttpNodes<N extends { baseUrl: string }>(nodes: readonly N[]): N[] {
  return nodes.filter((node) => {
    const url = URL.canParse(node.baseUrl) ? new URL(node.baseUrl) : undefined;
    return url?.protocol === 'http:' && !isLoopbackHost(url.hostname);
  });
}

/** The one warning a run prints about them (null when there are none). At most `shown` are named. */
export function plainHttpWarning(
  nodes: readonly { name: string; baseUrl: string }[],
  shown = 10,
): string | null {
  const plain = plainHttpNodes(nodes);
  if (plain.length === 0) return null;
  const named = plain.slice(0, shown).map((node) => `${node.name} (${node.baseUrl})`);
  const more = plain.length > shown ? ` and ${plain.length - shown} more` : '';
  const count = plain.length === 1 ? '1 node' : `${plain.length} nodes`;
  return `Warning: plain HTTP to ${count}, the key travels unencrypted: ${named.join(', ')}${more}. Run those agents with TLS (the default) and write https:// or no scheme, with their fingerprint.`;
}
