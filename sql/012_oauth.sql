-- 012_oauth.sql: sign-in through an OpenID Connect provider or WeChat web
-- authorization (server/handlers/oauth.c, docs/security.md "OAuth").
-- A flow's state, nonce and PKCE verifier stay here, server-side, between
-- the redirect to the provider and its return: the row is found by the
-- SHA-256 of the state (the browser holds the state itself, in the query
-- and in a cookie), expires after ten minutes and is taken once (DELETE ...
-- RETURNING), so a state, and with it its code, cannot be used twice.
-- On Citus the table stays on the coordinator (small, short-lived rows,
-- swept by the inserts), like the webhook outbox.

CREATE TABLE oauth_states (
    state_hash  bytea PRIMARY KEY CHECK (length(state_hash) = 32),
    provider    text NOT NULL CHECK (provider IN ('oidc', 'wechat')),
    verifier    text CHECK (length(verifier) BETWEEN 43 AND 128),
    nonce       text CHECK (length(nonce) BETWEEN 1 AND 64),
    return_to   text NOT NULL CHECK (return_to ~ '^/' AND length(return_to) <= 512),
    -- a signed-in member adding this identity to their account; NULL: a sign-in
    link_member text CHECK (length(link_member) <= 64),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX oauth_states_expiry ON oauth_states (expires_at);

CREATE FUNCTION oauth_state_ttl() RETURNS interval LANGUAGE sql IMMUTABLE AS $$
    SELECT interval '10 minutes'
$$;

-- Keep a flow's secrets until its provider sends the browser back; a
-- hundred expired rows go with each new one (no job needed to sweep them).
CREATE FUNCTION oauth_state_put(p_hash bytea, p_provider text, p_verifier text, p_nonce text,
                                p_return text, p_link text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM oauth_states WHERE state_hash IN (
        SELECT state_hash FROM oauth_states WHERE expires_at < now() LIMIT 100);
    INSERT INTO oauth_states (state_hash, provider, verifier, nonce, return_to, link_member,
                              expires_at)
    VALUES (p_hash, p_provider, p_verifier, p_nonce, p_return, p_link, now() + oauth_state_ttl());
END $$;

-- Take a flow's secrets, once: no row if the state is unknown, of another
-- provider, expired or already taken.
CREATE FUNCTION oauth_state_take(p_hash bytea, p_provider text)
RETURNS TABLE (verifier text, nonce text, return_to text, link_member text)
LANGUAGE sql AS $$
    WITH taken AS (
        DELETE FROM oauth_states s WHERE s.state_hash = p_hash AND s.provider = p_provider
        RETURNING s.verifier, s.nonce, s.return_to, s.link_member, s.expires_at)
    SELECT t.verifier, t.nonce, t.return_to, t.link_member FROM taken t
     WHERE t.expires_at > now()
$$;
