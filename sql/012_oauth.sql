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
    -- a path of this site: '/...', never '//host' nor '/\host' (C checks it first)
    return_to   text NOT NULL CHECK (return_to ~ '^/([^/\\]|$)' AND length(return_to) <= 512),
    -- a signed-in member adding this identity to their account; NULL: a sign-in
    link_member text CHECK (length(link_member) <= 64),
    -- the member agreed to the privacy notice before leaving (consent=1): recorded at sign-in
    consent     boolean NOT NULL DEFAULT false,
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
                                p_return text, p_link text, p_consent boolean)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM oauth_states WHERE state_hash IN (
        SELECT state_hash FROM oauth_states WHERE expires_at < now() LIMIT 100);
    INSERT INTO oauth_states (state_hash, provider, verifier, nonce, return_to, link_member,
                              consent, expires_at)
    VALUES (p_hash, p_provider, p_verifier, p_nonce, p_return, p_link, p_consent,
            now() + oauth_state_ttl());
END $$;

-- Take a flow's secrets, once: no row if the state is unknown, of another
-- provider, expired or already taken.
CREATE FUNCTION oauth_state_take(p_hash bytea, p_provider text)
RETURNS TABLE (verifier text, nonce text, return_to text, link_member text, consent boolean)
LANGUAGE sql AS $$
    WITH taken AS (
        DELETE FROM oauth_states s WHERE s.state_hash = p_hash AND s.provider = p_provider
        RETURNING s.verifier, s.nonce, s.return_to, s.link_member, s.consent, s.expires_at)
    SELECT t.verifier, t.nonce, t.return_to, t.link_member, t.consent FROM taken t
     WHERE t.expires_at > now()
$$;

-- ---- a member with several identities ------------------------------------------------

-- A signed-in member (p_member, from their session: a member has a row in
-- members only once they have points) adds an identity they just proved (WeChat, OIDC): the
-- identity's keyed hash, sealed value and masked form as member_sign_in
-- takes them (011_members.sql). outcome: linked | already (theirs before) |
-- taken (another member's: nothing changes; an admin can merge the two).
-- Audited as member.identity_add.
CREATE FUNCTION member_identity_link(p_member text, p_kind text, p_hash bytea, p_sealed bytea,
                                     p_masked text, p_client inet)
RETURNS TABLE (outcome text, owner text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    m text;
BEGIN
    INSERT INTO member_identities AS i (hash, kind, member, sealed, masked, verified_at)
    VALUES (p_hash, p_kind, p_member, p_sealed, p_masked, now())
    ON CONFLICT (hash) DO NOTHING;
    IF FOUND THEN
        PERFORM audit_append('member:' || p_member, p_client, 'member.identity_add', p_member,
                             jsonb_build_object('kind', p_kind, 'masked', p_masked));
        RETURN QUERY SELECT 'linked'::text, p_member;
        RETURN;
    END IF;
    SELECT i.member INTO m FROM member_identities i WHERE i.hash = p_hash;
    RETURN QUERY SELECT CASE WHEN m = p_member THEN 'already' ELSE 'taken' END, m;
END $$;

-- Members merged into another: the key of the one that is no more, and the
-- one that has its identities and points now. By from_member, with members.
CREATE TABLE member_merges (
    from_member text PRIMARY KEY CHECK (length(from_member) BETWEEN 1 AND 64),
    into_member text NOT NULL CHECK (length(into_member) BETWEEN 1 AND 64),
    points      bigint NOT NULL CHECK (points >= 0),
    actor       text NOT NULL,
    at          timestamptz NOT NULL DEFAULT now(),
    CHECK (from_member <> into_member)
);

ALTER TABLE ledger DROP CONSTRAINT ledger_kind_check;
ALTER TABLE ledger ADD CONSTRAINT ledger_kind_check
    CHECK (kind IN ('claim', 'spend', 'adjust', 'merge'));

-- Merge member p_from into p_into: one balance, points neither lost nor
-- doubled. The ledger is append-only and distributed by member, so the
-- points move as a transfer pair, a row on each member's own shard: kind
-- 'merge', -points on p_from (to 0), +points on p_into, each naming the
-- other in its reference. The identities of p_from become p_into's, its
-- sessions end, and member_merges remembers it. Both member rows are locked
-- one at a time in key order (no deadlock with another merge; on Citus a
-- lock is a single-shard statement). Claims already recorded stay with the
-- member who made them (redemptions are history). outcome: merged |
-- unknown_member (either) | same | already_merged (p_from was merged
-- before, or p_into was merged away). Audited as member.merge, target
-- p_into.
CREATE FUNCTION member_merge(p_actor text, p_client inet, p_into text, p_from text)
RETURNS TABLE (outcome text, points bigint, balance bigint, identities integer)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    t timestamptz := now();
    a text := least(p_into, p_from);
    b text := greatest(p_into, p_from);
    fb bigint;
    ib bigint;
    n integer;
BEGIN
    -- on Citus: one connection per node, as the transaction touches several shards
    PERFORM set_config('citus.multi_shard_modify_mode', 'sequential', true);
    IF p_into = p_from THEN
        RETURN QUERY SELECT 'same'::text, NULL::bigint, NULL::bigint, NULL::integer;
        RETURN;
    END IF;
    -- a member is known by a members row (points) or an identity; one
    -- without points gets its row now, so that both can be locked
    IF NOT (EXISTS (SELECT 1 FROM members m WHERE m.member = p_from)
            OR EXISTS (SELECT 1 FROM member_identities i WHERE i.member = p_from))
       OR NOT (EXISTS (SELECT 1 FROM members m WHERE m.member = p_into)
               OR EXISTS (SELECT 1 FROM member_identities i WHERE i.member = p_into)) THEN
        RETURN QUERY SELECT 'unknown_member'::text, NULL::bigint, NULL::bigint, NULL::integer;
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM member_merges g WHERE g.from_member = p_from)
       OR EXISTS (SELECT 1 FROM member_merges g WHERE g.from_member = p_into) THEN
        RETURN QUERY SELECT 'already_merged'::text, NULL::bigint, NULL::bigint, NULL::integer;
        RETURN;
    END IF;
    INSERT INTO members (member, balance) VALUES (a, 0) ON CONFLICT (member) DO NOTHING;
    INSERT INTO members (member, balance) VALUES (b, 0) ON CONFLICT (member) DO NOTHING;
    PERFORM 1 FROM members m WHERE m.member = a FOR UPDATE;
    PERFORM 1 FROM members m WHERE m.member = b FOR UPDATE;
    SELECT m.balance INTO fb FROM members m WHERE m.member = p_from;
    SELECT m.balance INTO ib FROM members m WHERE m.member = p_into;
    -- again under the locks: a merge of the same member that committed meanwhile
    IF EXISTS (SELECT 1 FROM member_merges g WHERE g.from_member = p_from)
       OR EXISTS (SELECT 1 FROM member_merges g WHERE g.from_member = p_into) THEN
        RETURN QUERY SELECT 'already_merged'::text, NULL::bigint, ib, NULL::integer;
        RETURN;
    END IF;
    IF fb > 0 THEN
        UPDATE members m SET balance = 0 WHERE m.member = p_from;
        INSERT INTO ledger (member, delta, balance_after, kind, reference, created_at)
        VALUES (p_from, -fb, 0, 'merge', 'merged into ' || p_into, t);
        UPDATE members m SET balance = m.balance + fb WHERE m.member = p_into
        RETURNING m.balance INTO ib;
        INSERT INTO ledger (member, delta, balance_after, kind, reference, created_at)
        VALUES (p_into, fb, ib, 'merge', 'merged from ' || p_from, t);
    END IF;
    UPDATE member_identities i SET member = p_into WHERE i.member = p_from;
    GET DIAGNOSTICS n = ROW_COUNT;
    UPDATE member_sessions s SET revoked_at = t
     WHERE s.member = p_from AND s.revoked_at IS NULL;
    INSERT INTO member_merges (from_member, into_member, points, actor, at)
    VALUES (p_from, p_into, fb, p_actor, t);
    PERFORM audit_append(p_actor, p_client, 'member.merge', p_into,
                         jsonb_build_object('from', p_from, 'points', fb, 'identities', n,
                                            'balance_after', ib));
    RETURN QUERY SELECT 'merged'::text, fb, ib, n;
END $$;

-- The admin API's call: the identity (a token, or a staff session negated)
-- as the other admin_* functions take it. Members are the group's, not a
-- brand's: an identity limited to brands may not merge them (42501).
CREATE FUNCTION admin_member_merge(p_who bigint, p_client inet, p_into text, p_from text)
RETURNS TABLE (outcome text, points bigint, balance bigint, identities integer)
LANGUAGE plpgsql AS $$
DECLARE
    who text;
    brands bigint[];
BEGIN
    SELECT actor, brand_ids INTO who, brands FROM admin_identity(p_who);
    IF brands IS NOT NULL THEN
        RAISE EXCEPTION 'merging members needs an identity of every brand'
            USING ERRCODE = '42501';
    END IF;
    RETURN QUERY SELECT * FROM member_merge(who, p_client, p_into, p_from);
END $$;
