// Weights of the web front end's application backends (migration 2,
// table web_weights): a backend without a row has the default weight.

import type { Connection } from './connection.js';
import { checkedRow } from './rows.js';

export interface BackendWeight {
  /** host:port of an application backend. */
  server: string;
  weight: number;
}

export class WebWeights {
  constructor(private readonly c: Connection) {}

  list(): BackendWeight[] {
    return (this.c.db.prepare('SELECT server, weight FROM web_weights ORDER BY server').all() as BackendWeight[]).map((row) => checkedRow('web_weights', row));
  }

  has(server: string): boolean {
    return this.c.db.prepare('SELECT 1 FROM web_weights WHERE server = ?').get(server) !== undefined;
  }

  set(server: string, weight: number): void {
    checkedRow('web_weights', { server, weight });
    this.c.tx(() => this.c.db.prepare('INSERT INTO web_weights (server, weight) VALUES (?, ?) ON CONFLICT(server) DO UPDATE SET weight = excluded.weight').run(server, weight));
  }

  remove(server: string): void {
    this.c.tx(() => this.c.db.prepare('DELETE FROM web_weights WHERE server = ?').run(server));
  }

  /** Replaces every weight at once (putting back what was there before a failed change). */
  replace(weights: readonly BackendWeight[]): void {
    this.c.tx(() => {
      this.c.db.prepare('DELETE FROM web_weights').run();
      const insert = this.c.db.prepare('INSERT INTO web_weights (server, weight) VALUES (?, ?)');
      for (const w of weights) insert.run(w.server, checkedRow('web_weights', { server: w.server, weight: w.weight }).weight);
    });
  }
}
