/**
 * Reads the nodes' audit logs when the reducer asks (`readAudit`), and reports each node's new
 * entries (`auditRead`). A node that cannot answer is left out quietly: its connection state is
 * the feeds' and the refresh's to report, and an agent older than the audit log has none.
 */
import type { Cluster } from '../../src/client/cluster.js';
import type { InventoryNode } from '../../src/protocol/inventory.js';
import type { Store } from '../store/store.js';

/** A first read looks this far back. */
export const AUDIT_FIRST_READ = '24h';
/** Entries per node and read (the newest). */
export const AUDIT_READ_LIMIT = 200;

export class AuditReader {
  private readonly inFlight = new Set<string>();
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly cluster: Cluster,
    private readonly nodes: readonly InventoryNode[],
  ) {}

  read(since: Record<string, string | null>): void {
    for (const node of this.nodes) {
      if (!(node.name in since) || this.inFlight.has(node.name)) continue;
      void this.readNode(node, since[node.name] ?? AUDIT_FIRST_READ);
    }
  }

  stop(): void {
    this.stopped = true;
  }

  private async readNode(node: InventoryNode, since: string): Promise<void> {
    this.inFlight.add(node.name);
    try {
      const { entries } = await this.cluster.client(node).audit({ since, limit: AUDIT_READ_LIMIT });
      if (!this.stopped && entries.length > 0)
        this.store.dispatch({ type: 'auditRead', node: node.name, entries });
    } catch {
      // Offline, unauthorized or too old for an audit log: shown (or not) by the node's status.
    } finally {
      this.inFlight.delete(node.name);
    }
  }
}
