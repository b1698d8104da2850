-- 003_admin.sql: admin API bearer tokens and the audit trail.
-- A token is shown once when created and stored only as its SHA-256 hash
-- (tokens are 256 random bits, so a plain hash is enough: there is nothing to
-- brute-force). Every admin action, from the API or the command line, leaves
-- an audit row: who, what, when.

CREATE TABLE admin_tokens (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$'),
    hash        bytea NOT NULL UNIQUE CHECK (length(hash) = 32),
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz,
    last_used_at timestamptz
);

-- one live token per name; a revoked name can be issued again
CREATE UNIQUE INDEX admin_tokens_live_name ON admin_tokens (name) WHERE revoked_at IS NULL;

CREATE TABLE audit (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL CHECK (length(actor) <= 100),
    action      text NOT NULL CHECK (length(action) <= 64),
    target      text CHECK (length(target) <= 200),
    detail      jsonb,
    client      inet
);
CREATE INDEX audit_at ON audit (at);

CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % refused', TG_OP USING ERRCODE = '42501';
END $$;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

-- Servers cache token hashes; tell them when tokens change.
CREATE TRIGGER admin_tokens_changed AFTER INSERT OR UPDATE OR DELETE ON admin_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_changed();
