-- 011_members.sql: members who proved who they are.
-- A member stays the text key members.member (claim_many, ledger,
-- redemptions and spends are unchanged); a member made by a sign-in or by
-- an integration gets an opaque key ('m_' and 16 base32 characters, made by
-- the server), never a phone number. What identifies a person is a row of
-- member_identities: the keyed hash (HMAC-SHA256 under the PII key, which
-- the database never sees) of the kind and the normalised value, the value
-- sealed with AES-256-GCM under the same key file, and a masked form for
-- display. Sessions, SMS challenges and their budgets live here too.
-- Citus (docs/scaling.md): every unique key holds its distribution column:
-- member_identities, member_sessions and sms_challenges by their hash (one
-- shard a lookup), sms_budgets by subject, member_consents by member (with
-- members). A sign-in touches a few shards in one transaction.
-- Time is taken once per function into a variable (Citus runs no stable
-- function in a modification's CASE or SET).

-- ---- identities --------------------------------------------------------------------

-- hash: HMAC-SHA256(PII key, kind ':' value), value normalised (a phone in
-- E.164). sealed: nonce, AES-256-GCM ciphertext and tag of the value (NULL
-- once erased, or never kept). masked: what may be shown without the pii
-- scope ('+86 139****0000').
CREATE TABLE member_identities (
    hash        bytea PRIMARY KEY CHECK (length(hash) = 32),
    kind        text NOT NULL CHECK (kind IN ('phone', 'wechat', 'oidc', 'external')),
    member      text NOT NULL CHECK (length(member) BETWEEN 1 AND 64),
    sealed      bytea CHECK (length(sealed) <= 1024),
    masked      text NOT NULL CHECK (length(masked) <= 64),
    created_at  timestamptz NOT NULL DEFAULT now(),
    verified_at timestamptz -- the last time its owner proved it (a sign-in)
);
CREATE INDEX member_identities_member ON member_identities (member);

-- ---- sessions ------------------------------------------------------------------------

-- A signed-in member: the SHA-256 hash of the cookie's random secret (256
-- bits: lib/secret.c, as staff sessions). The CSRF token is derived from
-- the secret (secret_csrf), so nothing more is stored for it.
CREATE TABLE member_sessions (
    hash        bytea PRIMARY KEY CHECK (length(hash) = 32),
    member      text NOT NULL CHECK (length(member) BETWEEN 1 AND 64),
    kind        text NOT NULL, -- the identity kind signed in with
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    client      inet
);
CREATE INDEX member_sessions_member ON member_sessions (member);

CREATE FUNCTION member_session_ttl() RETURNS interval LANGUAGE sql IMMUTABLE AS $$
    SELECT interval '30 days'
$$;

-- The privacy notice a member agreed to, by version, when.
CREATE TABLE member_consents (
    member      text NOT NULL CHECK (length(member) BETWEEN 1 AND 64),
    version     text NOT NULL CHECK (length(version) BETWEEN 1 AND 32),
    at          timestamptz NOT NULL DEFAULT now(),
    client      inet,
    PRIMARY KEY (member, version)
);

-- ---- SMS one-time codes -------------------------------------------------------

-- The live challenge of a phone (one at a time): code_hash is
-- HMAC-SHA256(PII key, the phone's hash and the code), so a copy of the
-- table does not give the 6 digits away; 5 minutes, at most 5 tries.
CREATE TABLE sms_challenges (
    phone_hash  bytea PRIMARY KEY CHECK (length(phone_hash) = 32),
    code_hash   bytea NOT NULL CHECK (length(code_hash) = 32),
    sent_at     timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    tries       integer NOT NULL DEFAULT 0 CHECK (tries BETWEEN 0 AND 5),
    used_at     timestamptz
);

-- Texts sent per subject and hour: 'phone:HEX' (the phone's hash), 'addr:'
-- (pin_backoff_addr's form: IPv6 by /64) and 'total'. Counted here so that
-- every server shares them.
CREATE TABLE sms_budgets (
    subject     text NOT NULL CHECK (length(subject) <= 80),
    hour        timestamptz NOT NULL,
    sent        integer NOT NULL CHECK (sent >= 0),
    PRIMARY KEY (subject, hour)
);

CREATE FUNCTION sms_policy(OUT ttl interval, OUT tries integer)
LANGUAGE sql IMMUTABLE AS $$ SELECT interval '5 minutes', 5 $$;

-- A new code for a phone: p_code_hash, if the phone's cool-down is over
-- and the budgets allow (per hour: p_per_phone texts to the phone,
-- p_per_address from the client's address, p_total over all). outcome:
-- send (the caller sends it now) | cooldown | budget_phone |
-- budget_address | budget_total; retry_after in seconds when refused.
-- Audited as sms.send (target: the masked number).
CREATE FUNCTION sms_challenge_start(p_phone_hash bytea, p_code_hash bytea, p_masked text,
                                    p_client inet, p_per_phone integer, p_per_address integer,
                                    p_total integer, p_cooldown integer)
RETURNS TABLE (outcome text, retry_after integer)
LANGUAGE plpgsql AS $$
DECLARE
    t timestamptz := now();
    h timestamptz := date_trunc('hour', now());
    next_hour integer := ceil(extract(epoch FROM date_trunc('hour', now()) + interval '1 hour' - now()))::integer;
    ch sms_challenges;
    n integer;
    pol record;
BEGIN
    SELECT * INTO pol FROM sms_policy();
    IF p_client IS NOT NULL THEN
        INSERT INTO sms_budgets AS b (subject, hour, sent)
        VALUES (pin_backoff_addr(p_client), h, 1)
        ON CONFLICT (subject, hour) DO UPDATE SET sent = b.sent + 1
        RETURNING b.sent INTO n;
        IF n > p_per_address THEN
            RETURN QUERY SELECT 'budget_address'::text, greatest(next_hour, 1);
            RETURN;
        END IF;
    END IF;
    SELECT * INTO ch FROM sms_challenges c WHERE c.phone_hash = p_phone_hash FOR UPDATE;
    IF FOUND AND ch.sent_at + make_interval(secs => p_cooldown) > t THEN
        RETURN QUERY SELECT 'cooldown'::text,
                            greatest(1, ceil(extract(epoch FROM
                                ch.sent_at + make_interval(secs => p_cooldown) - t)))::integer;
        RETURN;
    END IF;
    INSERT INTO sms_budgets AS b (subject, hour, sent)
    VALUES ('phone:' || encode(p_phone_hash, 'hex'), h, 1)
    ON CONFLICT (subject, hour) DO UPDATE SET sent = b.sent + 1
    RETURNING b.sent INTO n;
    IF n > p_per_phone THEN
        RETURN QUERY SELECT 'budget_phone'::text, greatest(next_hour, 1);
        RETURN;
    END IF;
    INSERT INTO sms_budgets AS b (subject, hour, sent) VALUES ('total', h, 1)
    ON CONFLICT (subject, hour) DO UPDATE SET sent = b.sent + 1
    RETURNING b.sent INTO n;
    IF n > p_total THEN
        RETURN QUERY SELECT 'budget_total'::text, greatest(next_hour, 1);
        RETURN;
    END IF;
    INSERT INTO sms_challenges AS c (phone_hash, code_hash, sent_at, expires_at, tries, used_at)
    VALUES (p_phone_hash, p_code_hash, t, t + pol.ttl, 0, NULL)
    ON CONFLICT (phone_hash) DO UPDATE SET code_hash = excluded.code_hash,
        sent_at = excluded.sent_at, expires_at = excluded.expires_at, tries = 0, used_at = NULL;
    PERFORM audit_append('anonymous', p_client, 'sms.send', p_masked, '{}'::jsonb);
    RETURN QUERY SELECT 'send'::text, NULL::integer;
END $$;

-- ---- signing in --------------------------------------------------------------------

-- Sign a member in with an identity they proved (an SMS code, a WeChat or
-- OIDC login): the member that holds identity p_hash (of kind p_kind), else
-- the legacy member whose key is p_legacy (members made before 011 were
-- keyed by their E.164 phone or external id: the identity is linked to
-- them), else a new member p_new_member (an opaque key the caller made).
-- Then a session (hash p_session) until member_session_ttl(), and the
-- privacy notice p_consent (a version; NULL: none given now) recorded.
-- p_sealed and p_masked update the identity's stored value.
-- outcome: signed_in; created: the member is new. Audited as
-- member.sign_in (member.add first for a new member).
CREATE FUNCTION member_sign_in(p_kind text, p_hash bytea, p_sealed bytea, p_masked text,
                               p_new_member text, p_legacy text, p_session bytea,
                               p_client inet, p_consent text)
RETURNS TABLE (outcome text, member text, created boolean, expires_at timestamptz,
               expires_unix bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    t timestamptz := now();
    exp timestamptz := now() + member_session_ttl();
    m text;
    made boolean;
BEGIN
    SELECT r.member, r.created INTO m, made
      FROM member_resolve(p_kind, p_hash, p_sealed, p_masked, p_new_member, p_legacy,
                          'sign-in:' || p_kind, p_client) r;
    UPDATE member_identities i SET verified_at = t WHERE i.hash = p_hash;
    INSERT INTO member_sessions (hash, member, kind, created_at, expires_at, client)
    VALUES (p_session, m, p_kind, t, exp, p_client);
    IF p_consent IS NOT NULL THEN
        INSERT INTO member_consents (member, version, at, client)
        VALUES (m, p_consent, t, p_client)
        ON CONFLICT ON CONSTRAINT member_consents_pkey DO NOTHING;
    END IF;
    PERFORM audit_append('member:' || m, p_client, 'member.sign_in', m,
                         jsonb_build_object('kind', p_kind, 'consent', p_consent));
    RETURN QUERY SELECT 'signed_in'::text, m, made, exp, floor(extract(epoch FROM exp))::bigint;
END $$;

-- The member of identity p_hash, made if there is none (as member_sign_in
-- says: the legacy key p_legacy if that member exists, else p_new_member,
-- whose members row its first points make),
-- without a session: for an integration that verified the member itself
-- (POST /api/v1/claims with the claims scope) and for member_sign_in.
-- p_actor is who asked (audited with member.add when one is made).
CREATE FUNCTION member_resolve(p_kind text, p_hash bytea, p_sealed bytea, p_masked text,
                               p_new_member text, p_legacy text, p_actor text, p_client inet)
RETURNS TABLE (member text, created boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    m text;
    k text := p_new_member;
    made boolean := false;
BEGIN
    SELECT i.member INTO m FROM member_identities i WHERE i.hash = p_hash;
    IF m IS NOT NULL THEN
        IF p_sealed IS NOT NULL THEN
            UPDATE member_identities i SET sealed = p_sealed, masked = p_masked
             WHERE i.hash = p_hash AND i.sealed IS NULL;
        END IF;
        RETURN QUERY SELECT m, false;
        RETURN;
    END IF;
    IF p_legacy IS NOT NULL THEN
        SELECT mb.member INTO m FROM members mb WHERE mb.member = p_legacy;
        k := coalesce(m, k);
    END IF;
    -- the identity first: a concurrent resolve of the same identity waits
    -- here for the other to commit, then finds its member
    INSERT INTO member_identities AS i (hash, kind, member, sealed, masked)
    VALUES (p_hash, p_kind, k, p_sealed, p_masked)
    ON CONFLICT (hash) DO NOTHING;
    IF NOT FOUND THEN
        SELECT i.member INTO m FROM member_identities i WHERE i.hash = p_hash;
        RETURN QUERY SELECT m, false;
        RETURN;
    END IF;
    -- a new member's row (members, balance 0) is made by its first points
    -- (claim_many, an adjustment): a claim that fails leaves no member behind
    made := m IS NULL;
    IF made THEN
        PERFORM audit_append(p_actor, p_client, 'member.add', k,
                             jsonb_build_object('kind', p_kind, 'masked', p_masked));
    ELSE
        PERFORM audit_append(p_actor, p_client, 'member.identity_add', k,
                             jsonb_build_object('kind', p_kind, 'masked', p_masked));
    END IF;
    RETURN QUERY SELECT k, made;
END $$;

-- Check an SMS code (its hash p_code_hash) for phone p_phone_hash and, if
-- right, sign the member in as member_sign_in does. outcome: signed_in |
-- wrong (tries_left) | expired | exhausted (5 wrong tries: ask for a new
-- code) | none (no code was sent, or it was used). Nothing is audited but
-- the sign-in (wrong codes are counted in the challenge).
CREATE FUNCTION member_sign_in_sms(p_phone_hash bytea, p_code_hash bytea, p_sealed bytea,
                                   p_masked text, p_new_member text, p_legacy text,
                                   p_session bytea, p_client inet, p_consent text)
RETURNS TABLE (outcome text, member text, created boolean, expires_at timestamptz,
               expires_unix bigint, tries_left integer)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    t timestamptz := now();
    ch sms_challenges;
    pol record;
    s record;
BEGIN
    SELECT * INTO pol FROM sms_policy();
    SELECT * INTO ch FROM sms_challenges c WHERE c.phone_hash = p_phone_hash FOR UPDATE;
    IF NOT FOUND OR ch.used_at IS NOT NULL THEN
        RETURN QUERY SELECT 'none'::text, NULL::text, NULL::boolean, NULL::timestamptz,
                            NULL::bigint, NULL::integer;
        RETURN;
    END IF;
    IF ch.tries >= pol.tries THEN
        RETURN QUERY SELECT 'exhausted'::text, NULL::text, NULL::boolean, NULL::timestamptz,
                            NULL::bigint, 0;
        RETURN;
    END IF;
    IF ch.expires_at <= t THEN
        RETURN QUERY SELECT 'expired'::text, NULL::text, NULL::boolean, NULL::timestamptz,
                            NULL::bigint, NULL::integer;
        RETURN;
    END IF;
    IF ch.code_hash <> p_code_hash THEN
        UPDATE sms_challenges c SET tries = c.tries + 1 WHERE c.phone_hash = p_phone_hash;
        RETURN QUERY SELECT CASE WHEN ch.tries + 1 >= pol.tries THEN 'exhausted' ELSE 'wrong' END,
                            NULL::text, NULL::boolean, NULL::timestamptz, NULL::bigint,
                            pol.tries - ch.tries - 1;
        RETURN;
    END IF;
    UPDATE sms_challenges c SET used_at = t WHERE c.phone_hash = p_phone_hash;
    SELECT * INTO s FROM member_sign_in('phone', p_phone_hash, p_sealed, p_masked, p_new_member,
                                        p_legacy, p_session, p_client, p_consent);
    RETURN QUERY SELECT s.outcome, s.member, s.created, s.expires_at, s.expires_unix, NULL::integer;
END $$;

-- The member of a live session (hash p_session): no row if it is unknown,
-- expired or revoked. expires_unix: when it ends.
CREATE FUNCTION member_session_get(p_session bytea)
RETURNS TABLE (member text, expires_unix bigint)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY SELECT s.member, floor(extract(epoch FROM s.expires_at))::bigint
                   FROM member_sessions s
                  WHERE s.hash = p_session AND s.revoked_at IS NULL AND s.expires_at > now();
END $$;

-- Sign out: revoke session p_session. outcome: signed_out | unknown_session.
-- Audited as member.sign_out.
CREATE FUNCTION member_sign_out(p_session bytea, p_client inet)
RETURNS TABLE (outcome text)
LANGUAGE plpgsql AS $$
DECLARE
    t timestamptz := now();
    m text;
BEGIN
    UPDATE member_sessions s SET revoked_at = t
     WHERE s.hash = p_session AND s.revoked_at IS NULL AND s.expires_at > t
    RETURNING s.member INTO m;
    IF m IS NULL THEN
        RETURN QUERY SELECT 'unknown_session'::text;
        RETURN;
    END IF;
    PERFORM audit_append('member:' || m, p_client, 'member.sign_out', m, '{}'::jsonb);
    RETURN QUERY SELECT 'signed_out'::text;
END $$;

-- Revoke every live session of a member (sign out everywhere). The count.
-- Audited as member.sessions_revoked.
CREATE FUNCTION member_sessions_revoke(p_member text, p_actor text, p_client inet)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    t timestamptz := now();
    n integer;
BEGIN
    UPDATE member_sessions s SET revoked_at = t
     WHERE s.member = p_member AND s.revoked_at IS NULL AND s.expires_at > t;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM audit_append(p_actor, p_client, 'member.sessions_revoked', p_member,
                         jsonb_build_object('sessions', n));
    RETURN n;
END $$;

-- ---- a member's own data ------------------------------------------------------------

-- A member's identities: kind, masked value, sealed value (for the pii
-- scope or the member's own download), when made and last proved.
CREATE FUNCTION member_identities_of(p_member text)
RETURNS TABLE (kind text, masked text, sealed bytea, created_at timestamptz,
               verified_at timestamptz)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY SELECT i.kind, i.masked, i.sealed, i.created_at, i.verified_at
                   FROM member_identities i WHERE i.member = p_member
                  ORDER BY i.created_at, i.kind;
END $$;

-- The member an identity hash belongs to (no row: none).
CREATE FUNCTION member_by_identity(p_hash bytea)
RETURNS TABLE (member text)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY SELECT i.member FROM member_identities i WHERE i.hash = p_hash;
END $$;

-- Erase a member's personal data (PIPL, GDPR): the identities (the phone,
-- sealed and hashed, with them), the consents and every session go; the
-- member row, its ledger, redemptions and spends stay under the opaque key,
-- so every total still adds up and nobody can tell whose they were.
-- outcome: erased (identities: how many) | unknown_member. Audited as
-- member.erase (the masked values are not kept).
CREATE FUNCTION member_erase(p_member text, p_actor text, p_client inet)
RETURNS TABLE (outcome text, identities integer)
LANGUAGE plpgsql AS $$
DECLARE
    t timestamptz := now();
    n integer;
BEGIN
    PERFORM 1 FROM members m WHERE m.member = p_member FOR UPDATE;
    DELETE FROM member_identities i WHERE i.member = p_member;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 AND NOT FOUND THEN
        RETURN QUERY SELECT 'unknown_member'::text, NULL::integer;
        RETURN;
    END IF;
    DELETE FROM member_consents c WHERE c.member = p_member;
    UPDATE member_sessions s SET revoked_at = t WHERE s.member = p_member AND s.revoked_at IS NULL;
    PERFORM audit_append(p_actor, p_client, 'member.erase', p_member,
                         jsonb_build_object('identities', n));
    RETURN QUERY SELECT 'erased'::text, n;
END $$;

-- Merging two members is 012_oauth.sql's member_merge (with identity linking).
