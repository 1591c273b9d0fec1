/// Numbered schema migrations. Append new ones; never edit one that has shipped.
struct Migration {
    let version: Int
    let name: String
    let sql: String
}

enum SQLiteMigrations {
    static let all: [Migration] = [
        Migration(
            version: 1, name: "accounts and audit log",
            sql: """
                CREATE TABLE accounts (
                    id TEXT PRIMARY KEY,
                    managed_id TEXT NOT NULL UNIQUE COLLATE NOCASE,
                    given_name TEXT NOT NULL,
                    family_name TEXT NOT NULL,
                    email TEXT,
                    employee_number TEXT,
                    department TEXT,
                    source TEXT NOT NULL CHECK (source IN ('local', 'ldap', 'kerberos', 'scim')),
                    external_id TEXT,
                    state TEXT NOT NULL CHECK (state IN ('active', 'deactivated')),
                    password_hash TEXT,
                    password_temporary INTEGER NOT NULL DEFAULT 0 CHECK (password_temporary IN (0, 1)),
                    password_expires_at INTEGER,
                    failed_login_count INTEGER NOT NULL DEFAULT 0,
                    locked_at INTEGER,
                    version INTEGER NOT NULL,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL,
                    deactivated_at INTEGER,
                    UNIQUE (source, external_id)
                );
                CREATE INDEX accounts_state_deactivated ON accounts (state, deactivated_at);
                CREATE TABLE account_roles (
                    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
                    role TEXT NOT NULL CHECK (role IN ('administrator', 'people-manager', 'device-enrolment-manager',
                                                       'content-manager', 'staff')),
                    PRIMARY KEY (account_id, role)
                );
                CREATE INDEX account_roles_role ON account_roles (role);
                CREATE TABLE audit_log (
                    sequence INTEGER PRIMARY KEY,
                    at INTEGER NOT NULL,
                    actor TEXT NOT NULL,
                    action TEXT NOT NULL,
                    target_type TEXT NOT NULL,
                    target_id TEXT NOT NULL,
                    target_name TEXT NOT NULL,
                    before_json TEXT,
                    after_json TEXT,
                    previous_hash TEXT NOT NULL,
                    hash TEXT NOT NULL
                );
                """)
    ]
}
