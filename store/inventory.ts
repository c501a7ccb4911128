// The cluster inventory: the nodes of this node's cluster, as the primary
// last provisioned them (migration 2, table cluster_nodes).

import type { Connection } from './connection.js';
import { checkedRow } from './rows.js';
import type { NodeSettings, Settings } from './settings.js';

type RoleName = NodeSettings['roles'][number];

export interface InventoryNode {
  address: string;
  hostname: string;
  roles: RoleName[];
  dataCentre: string;
  primary: boolean;
  /** SHA-256 of the node's cluster certificate. */
  fingerprint?: string;
  lastSeen?: string;
}

interface NodeRow {
  joined_at: string;
  address: string;
  hostname: string;
  roles: string;
  data_centre: string;
  is_primary: number;
  fingerprint: string | null;
  last_seen: string | null;
}

const toNode = (r: NodeRow): InventoryNode => ({
  address: r.address,
  hostname: r.hostname,
  roles: JSON.parse(r.roles) as RoleName[],
  dataCentre: r.data_centre,
  primary: r.is_primary === 1,
  fingerprint: r.fingerprint ?? undefined,
  lastSeen: r.last_seen ?? undefined,
});

export class Inventory {
  constructor(
    private readonly c: Connection,
    private readonly settings: Settings,
  ) {}

  /** Every node, by data centre, hostname and address. */
  list(): InventoryNode[] {
    return (this.c.db.prepare('SELECT * FROM cluster_nodes ORDER BY data_centre, hostname, address').all() as NodeRow[]).map((row) => toNode(checkedRow('cluster_nodes', row)));
  }

  /** Whether the node at `address` is the cluster's primary. */
  isPrimaryAddress(address: string): boolean {
    return (this.c.db.prepare('SELECT is_primary FROM cluster_nodes WHERE address = ?').get(address) as { is_primary: number } | undefined)?.is_primary === 1;
  }

  /** Whether the node with this certificate fingerprint is the cluster's primary. */
  isPrimaryFingerprint(fingerprint: string): boolean {
    return (this.c.db.prepare('SELECT is_primary FROM cluster_nodes WHERE fingerprint = ?').get(fingerprint) as { is_primary: number } | undefined)?.is_primary === 1;
  }

  /** Whether a certificate fingerprint belongs to a member. */
  knows(fingerprint: string): boolean {
    return this.c.db.prepare('SELECT 1 FROM cluster_nodes WHERE fingerprint = ?').get(fingerprint) !== undefined;
  }

  /** Replaces the inventory in one transaction; `joinedAt` is stamped on every row. */
  replace(nodes: readonly InventoryNode[], joinedAt: string): void {
    this.c.tx(() => {
      this.c.db.prepare('DELETE FROM cluster_nodes').run();
      const insert = this.c.db.prepare('INSERT INTO cluster_nodes (address, hostname, roles, data_centre, is_primary, fingerprint, joined_at, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
      for (const n of nodes) {
        const row = checkedRow('cluster_nodes', { address: n.address, hostname: n.hostname, roles: JSON.stringify(n.roles), data_centre: n.dataCentre, is_primary: n.primary ? 1 : 0, fingerprint: n.fingerprint ?? null, joined_at: joinedAt, last_seen: n.lastSeen ?? null });
        insert.run(row.address, row.hostname, row.roles, row.data_centre, row.is_primary, row.fingerprint, row.joined_at, row.last_seen);
      }
    });
  }

  /** Marks nodes as seen at `at`. */
  touch(addresses: readonly string[], at: string): void {
    const touch = this.c.db.prepare('UPDATE cluster_nodes SET last_seen = ? WHERE address = ?');
    this.c.tx(() => addresses.forEach((address) => touch.run(at, address)));
  }

  /**
   * Whether a primary may join this node now (`cluster prepnode` opened the
   * window and it has not ended): what the firewall needs to open the agent's
   * port, without the join code.
   */
  joinWindowOpen(now = new Date()): boolean {
    const window = this.settings.get('cluster.joinable');
    return window !== undefined && new Date(window.until) > now;
  }
}
