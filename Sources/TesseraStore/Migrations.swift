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
                """),
        Migration(
            version: 2, name: "oauth clients, signing keys and tokens",
            sql: """
                CREATE TABLE oauth_clients (
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL UNIQUE,
                    type TEXT NOT NULL CHECK (type IN ('confidential', 'public')),
                    secret_hash TEXT,
                    public_keys TEXT NOT NULL,
                    grants TEXT NOT NULL,
                    redirect_uris TEXT NOT NULL,
                    scopes TEXT NOT NULL,
                    access_token_lifetime INTEGER NOT NULL,
                    refresh_token_lifetime INTEGER NOT NULL,
                    pkce TEXT NOT NULL,
                    role TEXT,
                    version INTEGER NOT NULL,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL
                );
                CREATE TABLE signing_keys (
                    kid TEXT PRIMARY KEY,
                    algorithm TEXT NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('next', 'current', 'retired')),
                    sealed_private_key BLOB NOT NULL,
                    public_jwk TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    activates_at INTEGER NOT NULL,
                    retired_at INTEGER,
                    remove_after INTEGER
                );
                -- Everything issued from one authorization code or one password sign-in: revoked together.
                CREATE TABLE token_families (
                    id TEXT PRIMARY KEY,
                    client_id TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
                    account_id TEXT REFERENCES accounts (id) ON DELETE CASCADE,
                    created_at INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL,
                    revoked_at INTEGER,
                    revoked_reason TEXT
                );
                CREATE TABLE authorization_codes (
                    code_hash TEXT PRIMARY KEY,
                    family_id TEXT NOT NULL REFERENCES token_families (id) ON DELETE CASCADE,
                    client_id TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
                    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
                    redirect_uri TEXT NOT NULL,
                    scope TEXT NOT NULL,
                    code_challenge TEXT,
                    created_at INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL,
                    used_at INTEGER
                );
                CREATE TABLE refresh_tokens (
                    token_hash TEXT PRIMARY KEY,
                    family_id TEXT NOT NULL REFERENCES token_families (id) ON DELETE CASCADE,
                    scope TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL,
                    used_at INTEGER
                );
                CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
                -- Access tokens of a family, so revoking the family reaches them; client-credentials tokens
                -- are not recorded (they are revoked one by one through revoked_access_tokens).
                CREATE TABLE family_access_tokens (
                    jti TEXT PRIMARY KEY,
                    family_id TEXT NOT NULL REFERENCES token_families (id) ON DELETE CASCADE,
                    expires_at INTEGER NOT NULL
                );
                CREATE INDEX family_access_tokens_family ON family_access_tokens (family_id);
                CREATE TABLE revoked_access_tokens (
                    jti TEXT PRIMARY KEY,
                    expires_at INTEGER NOT NULL
                );
                -- RFC 7523 §3: a client assertion's jti is accepted once.
                CREATE TABLE client_assertions (
                    client_id TEXT NOT NULL,
                    jti TEXT NOT NULL,
                    expires_at INTEGER NOT NULL,
                    PRIMARY KEY (client_id, jti)
                );
                CREATE TABLE browser_sessions (
                    id_hash TEXT PRIMARY KEY,
                    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
                    created_at INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL
                );
                """),
        Migration(
            version: 3, name: "directory sync state",
            sql: """
                CREATE TABLE directory_sync_state (
                    source TEXT PRIMARY KEY,
                    newest_change TEXT,
                    last_run_at INTEGER,
                    last_full_at INTEGER
                );
                """),
        Migration(
            version: 4, name: "accounts deactivated by directory sync",
            sql: """
                -- Only these may be reactivated by a sync: an administrator's deactivation stays.
                CREATE TABLE directory_sync_deactivations (
                    account_id TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
                    source TEXT NOT NULL
                );
                """),
        Migration(
            version: 5, name: "the last directory sync run",
            sql: """
                -- What the last run did (applied or stopped by the safety limit), for /metrics: a run of
                -- tessera sync ldap is another process than the server's.
                ALTER TABLE directory_sync_state ADD COLUMN last_stopped INTEGER;
                ALTER TABLE directory_sync_state ADD COLUMN last_full INTEGER;
                ALTER TABLE directory_sync_state ADD COLUMN last_created INTEGER;
                ALTER TABLE directory_sync_state ADD COLUMN last_updated INTEGER;
                ALTER TABLE directory_sync_state ADD COLUMN last_deactivated INTEGER;
                ALTER TABLE directory_sync_state ADD COLUMN last_conflicts INTEGER;
                ALTER TABLE directory_sync_state ADD COLUMN last_unchanged INTEGER;
                """),
        Migration(
            version: 6, name: "devices and their data scopes",
            sql: """
                CREATE TABLE devices (
                    id TEXT PRIMARY KEY,
                    kind TEXT NOT NULL,
                    supervised INTEGER NOT NULL,
                    serial_number TEXT,
                    udid TEXT,
                    enrollment_id TEXT,
                    account_id TEXT REFERENCES accounts (id) ON DELETE CASCADE,  -- NULL: ADE without sign-in
                    product TEXT,
                    os_build TEXT,
                    enrolment_token_id TEXT UNIQUE,
                    state TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    enrolled_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL,
                    unenrolled_at INTEGER
                );
                CREATE INDEX devices_account ON devices (account_id);
                CREATE INDEX devices_udid ON devices (udid) WHERE udid IS NOT NULL;
                -- One row an item: (device, scope, kind, name) → value.
                CREATE TABLE device_items (
                    device_id TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
                    scope TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    name TEXT NOT NULL,
                    value TEXT NOT NULL,
                    updated_at INTEGER NOT NULL,
                    PRIMARY KEY (device_id, scope, kind, name)
                );
                """),
        Migration(
            version: 7, name: "devices waiting for their sign-in",
            sql: """
                -- Automated Device Enrolment through configuration_web_url: the verified device information,
                -- by the hash of the sign-in's state, until the sign-in returns (minutes).
                CREATE TABLE pending_device_enrolments (
                    state_hash TEXT PRIMARY KEY,
                    udid TEXT,
                    serial_number TEXT,
                    product TEXT,
                    os_build TEXT,
                    expires_at INTEGER NOT NULL
                );
                """),
    ]
}
