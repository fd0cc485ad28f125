import GRDB

/// The schema, as versioned migrations applied on start (GRDB records the applied ones in `grdb_migrations`).
/// Never edit a shipped migration: add the next one.
enum SQLiteMigrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-queue") { db in
            try db.execute(sql: """
                CREATE TABLE messages (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,   -- acceptance order
                    id TEXT NOT NULL UNIQUE,
                    source TEXT NOT NULL,
                    idempotency_key TEXT,
                    ordering_key TEXT,
                    correlation_id TEXT NOT NULL,
                    content_type TEXT NOT NULL,
                    body BLOB NOT NULL,
                    headers TEXT NOT NULL,                   -- JSON object
                    status TEXT NOT NULL CHECK (status IN ('ready', 'leased', 'done', 'dead')),
                    attempts INTEGER NOT NULL DEFAULT 0,
                    available_at INTEGER NOT NULL,           -- milliseconds since 1970
                    lease_owner TEXT,
                    lease_expires_at INTEGER,
                    accepted_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL,
                    last_error TEXT
                );
                CREATE INDEX messages_by_status ON messages (status, available_at, seq);
                CREATE INDEX messages_by_ordering_key ON messages (ordering_key, status, seq) WHERE ordering_key IS NOT NULL;
                CREATE TABLE idempotency_keys (
                    source TEXT NOT NULL,
                    key TEXT NOT NULL,
                    message_id TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    PRIMARY KEY (source, key)
                ) WITHOUT ROWID;
                CREATE TABLE attempts (
                    message_id TEXT NOT NULL,
                    number INTEGER NOT NULL,
                    started_at INTEGER NOT NULL,
                    finished_at INTEGER NOT NULL,
                    outcome TEXT NOT NULL CHECK (outcome IN ('succeeded', 'retry', 'dead')),
                    error_kind TEXT,
                    error_message TEXT,
                    PRIMARY KEY (message_id, number)
                ) WITHOUT ROWID;
                """)
        }
        // Leasing walks the ready messages of one source in acceptance order. Without these the planner walked the
        // primary key over every done message (measured: reading pages dominated a busy pipeline's profile).
        migrator.registerMigration("v2-ready-indexes") { db in
            try db.execute(sql: """
                CREATE INDEX messages_ready_by_source ON messages (source, seq) WHERE status = 'ready';
                CREATE INDEX messages_ready ON messages (seq) WHERE status = 'ready';
                CREATE INDEX messages_leased ON messages (lease_expires_at) WHERE status = 'leased';
                """)
        }
        // Secrets, sealed with AES-GCM by the host (the database never holds a plaintext value); every version kept
        // until the secret is deleted, so a rotation can be rolled back by setting the old value again.
        migrator.registerMigration("v3-secrets") { db in
            try db.execute(sql: """
                CREATE TABLE secrets (
                    name TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    sealed BLOB NOT NULL,
                    created_at INTEGER NOT NULL,
                    PRIMARY KEY (name, version)
                ) WITHOUT ROWID;
                CREATE TABLE secret_usage (
                    name TEXT PRIMARY KEY,
                    last_used_at INTEGER NOT NULL
                ) WITHOUT ROWID;
                """)
        }
        // The audit trail: append-only, each record carrying the hash of the one before (see SQLiteAudit).
        migrator.registerMigration("v4-audit") { db in
            try db.execute(sql: """
                CREATE TABLE audit (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    at INTEGER NOT NULL,
                    actor TEXT NOT NULL,
                    action TEXT NOT NULL,
                    subject TEXT NOT NULL,
                    correlation_id TEXT,
                    detail TEXT NOT NULL,
                    prev_hash TEXT NOT NULL,
                    hash TEXT NOT NULL
                );
                CREATE INDEX audit_by_time ON audit (at);
                """)
        }
        // Admin API tokens: only a hash of each token is kept; the token itself is shown once, when created.
        migrator.registerMigration("v5-admin-tokens") { db in
            try db.execute(sql: """
                CREATE TABLE admin_tokens (
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    role TEXT NOT NULL,
                    token_sha256 TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    revoked_at INTEGER
                );
                """)
        }
        // A replay gives a dead letter a fresh retry budget: attempts and age count from the replay, not from the
        // first acceptance (otherwise one transient failure after a replay dead-letters it again at once).
        migrator.registerMigration("v6-replay-budget") { db in
            try db.execute(sql: """
                ALTER TABLE messages ADD COLUMN retry_base INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE messages ADD COLUMN retry_since INTEGER;
                """)
        }
        // Plugins' ledgers: what each delivered, by key, for reconciliation (PluginLedger).
        migrator.registerMigration("v7-plugin-ledger") { db in
            try db.execute(sql: """
                CREATE TABLE plugin_ledger (
                    plugin TEXT NOT NULL,
                    key TEXT NOT NULL,
                    value BLOB NOT NULL,
                    updated_at INTEGER NOT NULL,
                    PRIMARY KEY (plugin, key)
                ) WITHOUT ROWID;
                """)
        }
        return migrator
    }
}
