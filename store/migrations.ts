// Versioned schema. The database's `user_version` says which migrations have
// run; each runs in its own transaction, so a crash leaves the last complete
// version. Append only: never edit a migration that has shipped.

export interface Migration {
  version: number;
  summary: string;
  sql: string;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    summary: 'node settings and the audit log',
    sql: `
      CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL            -- JSON
      );
      CREATE TABLE audit (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        at          TEXT NOT NULL,     -- ISO 8601, UTC
        user        TEXT NOT NULL,
        origin      TEXT NOT NULL,     -- console | ssh | cluster | local
        address     TEXT,              -- SSH source or cluster peer
        words       TEXT NOT NULL,     -- secrets redacted
        outcome     TEXT NOT NULL,     -- ok | failed | bad-input | refused | cancelled
        exit_status INTEGER NOT NULL,
        message     TEXT
      );
      CREATE INDEX audit_at ON audit(at);
    `,
  },
  {
    version: 2,
    summary: 'users, rights, cluster inventory, URIs and web weights',
    sql: `
      CREATE TABLE users (
        name           TEXT PRIMARY KEY,
        password_hash  TEXT,
        must_change    INTEGER NOT NULL DEFAULT 1,
        failed_logins  INTEGER NOT NULL DEFAULT 0,
        locked_until   TEXT,
        created_at     TEXT NOT NULL
      );
      CREATE TABLE user_rights (
        user   TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
        prefix TEXT NOT NULL,          -- command words, space separated
        PRIMARY KEY (user, prefix)
      );
      CREATE TABLE cluster_nodes (
        address     TEXT PRIMARY KEY,
        hostname    TEXT NOT NULL,
        roles       TEXT NOT NULL,     -- JSON array
        data_centre TEXT NOT NULL,
        is_primary  INTEGER NOT NULL DEFAULT 0,
        fingerprint TEXT,              -- cluster certificate SHA-256
        joined_at   TEXT NOT NULL,
        last_seen   TEXT
      );
      CREATE TABLE backup_locations (
        name TEXT PRIMARY KEY,
        uri  TEXT NOT NULL             -- may hold a password: never printed
      );
      CREATE TABLE notify_targets (
        level TEXT NOT NULL CHECK (level IN ('info', 'warn', 'error')),
        uri   TEXT NOT NULL,
        PRIMARY KEY (level, uri)
      );
      CREATE TABLE web_weights (
        server TEXT PRIMARY KEY,       -- host:port of an application backend
        weight INTEGER NOT NULL CHECK (weight >= 0)
      );
    `,
  },
  {
    version: 3,
    summary: 'passwords and failed logins are the operating system\'s to keep (shadow, pam_faillock), not the store\'s',
    sql: `
      ALTER TABLE users DROP COLUMN password_hash;
      ALTER TABLE users DROP COLUMN failed_logins;
      ALTER TABLE users DROP COLUMN locked_until;
    `,
  },
  {
    version: 5,
    summary: 'scheduled jobs and their runs',
    sql: `
      CREATE TABLE schedule_jobs (
        name       TEXT PRIMARY KEY,
        owner      TEXT NOT NULL,     -- the user whose rights the job runs with
        words      TEXT NOT NULL,     -- JSON array: the console command
        timing     TEXT NOT NULL,     -- JSON: see schedule/timing.ts
        enabled    INTEGER NOT NULL DEFAULT 1,
        created_at TEXT NOT NULL,
        last_due   TEXT               -- the last due time handled (run or skipped)
      );
      CREATE TABLE schedule_runs (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        job         TEXT NOT NULL REFERENCES schedule_jobs(name) ON DELETE CASCADE,
        due         TEXT NOT NULL,
        started_at  TEXT NOT NULL,
        outcome     TEXT NOT NULL,    -- ok | failed | skipped
        exit_status INTEGER,
        output      TEXT              -- the end of what the command printed
      );
      CREATE INDEX schedule_runs_job ON schedule_runs(job, id);
    `,
  },
  {
    version: 6,
    summary: 'events of the node, the local mailbox of its warnings, and the outbox of notifications not yet delivered',
    sql: `
      CREATE TABLE events (
        id    INTEGER PRIMARY KEY AUTOINCREMENT,
        at    TEXT NOT NULL,           -- ISO 8601, UTC
        level TEXT NOT NULL CHECK (level IN ('info', 'warn', 'error')),
        name  TEXT NOT NULL,           -- stable name (events/catalog.ts)
        text  TEXT NOT NULL
      );
      CREATE INDEX events_at ON events(at);
      CREATE TABLE mailbox (
        id       INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id INTEGER NOT NULL,
        at       TEXT NOT NULL,
        level    TEXT NOT NULL,
        name     TEXT NOT NULL,
        text     TEXT NOT NULL,
        read     INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE outbox (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        target       TEXT NOT NULL,     -- a key of the target URI (events/bus.ts targetKey), never the URI
        event_id     INTEGER NOT NULL,
        at           TEXT NOT NULL,     -- when the event was raised
        level        TEXT NOT NULL,
        name         TEXT NOT NULL,
        text         TEXT NOT NULL,
        held         INTEGER NOT NULL DEFAULT 0,  -- raised in maintenance mode: summarised after it
        attempts     INTEGER NOT NULL DEFAULT 0,
        last_error   TEXT
      );
      CREATE INDEX outbox_target ON outbox(target, id);
    `,
  },
  {
    version: 7,
    summary: 'requests of callers that proved nothing, counted per minute, peer and outcome instead of a row each',
    sql: `
      CREATE TABLE audit_unproven (
        minute  TEXT NOT NULL,         -- the minute's start, ISO 8601 UTC
        caller  TEXT NOT NULL,         -- the kernel's uid of the peer ('uid 1000'), or '(unproven)'
        outcome TEXT NOT NULL,         -- ok | failed | bad-input | refused | cancelled
        count   INTEGER NOT NULL CHECK (count > 0),
        PRIMARY KEY (minute, caller, outcome)
      );
    `,
  },
  {
    version: 8,
    summary: 'an alternate destination for each backup location, used when the first cannot be reached',
    sql: `
      ALTER TABLE backup_locations ADD COLUMN alternate TEXT;   -- a URI, sealed like uri; NULL without one
    `,
  },
];

export const latestVersion = migrations[migrations.length - 1]!.version;
