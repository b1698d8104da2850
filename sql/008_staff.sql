-- 008_staff.sql: brands, scopes, staff accounts and their sessions.
-- Every product belongs to a brand (a row of brands, made here from the
-- free-text values products had). Admin tokens and staff accounts hold
-- scopes (what they may do) and may be limited to some brands (what they
-- may see and change); the member pool stays one for the whole group.
-- Functions changed here with CREATE OR REPLACE (same signatures):
-- admin_actor, product_add, admin_product_add, admin_batch_status. Replaced
-- by new signatures (the old ones dropped): token_add (scopes, brands),
-- admin_batches, admin_suspicious_codes, admin_stats (a brands filter).

-- ---- brands -----------------------------------------------------------------

-- The brand named '' holds the products added without one.
CREATE TABLE brands (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (length(name) <= 200),
    created_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO brands (name)
SELECT name FROM (SELECT '' AS name UNION SELECT DISTINCT brand FROM products) b ORDER BY name;

-- products.brand stays the brand's name (what pages and replies show), now
-- a foreign key: a product's brand exists.
ALTER TABLE products ADD CONSTRAINT products_brand_fkey
    FOREIGN KEY (brand) REFERENCES brands (name) ON UPDATE CASCADE;
CREATE INDEX products_brand ON products (brand);

-- true if the brand named p_brand is one of p_brand_ids (NULL: every brand).
CREATE FUNCTION brand_allowed(p_brand_ids bigint[], p_brand text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT p_brand_ids IS NULL OR EXISTS (SELECT 1 FROM brands b
                                           WHERE b.name = p_brand AND b.id = ANY (p_brand_ids))
$$;

-- The ids of the brands named p_names, in order; NULL for NULL (every
-- brand). SQLSTATE 22023 naming the first unknown name.
CREATE FUNCTION brand_ids(p_names text[]) RETURNS bigint[]
LANGUAGE plpgsql STABLE AS $$
DECLARE
    missing text;
    ids bigint[];
BEGIN
    IF p_names IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT n INTO missing FROM unnest(p_names) n WHERE NOT EXISTS (SELECT 1 FROM brands b WHERE b.name = n)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'unknown brand "%"', missing USING ERRCODE = '22023';
    END IF;
    SELECT array_agg(DISTINCT b.id ORDER BY b.id) INTO ids FROM brands b WHERE b.name = ANY (p_names);
    RETURN ids;
END $$;

-- ---- scopes and brands of admin tokens ---------------------------------------

-- The scopes (docs/security.md): read, catalog, operate, points, claims,
-- pii, export, admin. Tokens made before scopes existed get every one.
ALTER TABLE admin_tokens
    ADD COLUMN scopes text[] NOT NULL
        DEFAULT ARRAY['read', 'catalog', 'operate', 'points', 'claims', 'pii', 'export', 'admin'],
    ADD COLUMN brand_ids bigint[];
ALTER TABLE admin_tokens ALTER COLUMN scopes DROP DEFAULT;
ALTER TABLE admin_tokens
    ADD CONSTRAINT admin_tokens_scopes CHECK (
        cardinality(scopes) >= 1 AND
        scopes <@ ARRAY['read', 'catalog', 'operate', 'points', 'claims', 'pii', 'export', 'admin']),
    ADD CONSTRAINT admin_tokens_brands CHECK (brand_ids IS NULL OR cardinality(brand_ids) BETWEEN 1 AND 32);

-- Servers cache a token's scopes and brands too.
DROP TRIGGER admin_tokens_changed ON admin_tokens;
CREATE TRIGGER admin_tokens_changed
    AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF name, hash, revoked_at, scopes, brand_ids
    ON admin_tokens FOR EACH STATEMENT EXECUTE FUNCTION catalog_changed();

-- A new admin API token with its scopes and, if p_brands is not NULL, the
-- brands (by name) it is limited to. outcome: added | name_taken. An
-- unknown brand is SQLSTATE 22023. Audited as token.add.
DROP FUNCTION token_add(text, inet, text, bytea);
CREATE FUNCTION token_add(p_actor text, p_client inet, p_name text, p_hash bytea,
                          p_scopes text[], p_brands text[])
RETURNS TABLE (outcome text, id bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    tid bigint;
    bids bigint[] := brand_ids(p_brands);
BEGIN
    INSERT INTO admin_tokens (name, hash, scopes, brand_ids) VALUES (p_name, p_hash, p_scopes, bids)
    ON CONFLICT (name) WHERE revoked_at IS NULL DO NOTHING
    RETURNING admin_tokens.id INTO tid;
    IF tid IS NULL THEN
        RETURN QUERY SELECT 'name_taken'::text, NULL::bigint;
        RETURN;
    END IF;
    PERFORM audit_append(p_actor, p_client, 'token.add', p_name,
                         jsonb_build_object('token_id', tid, 'scopes', p_scopes, 'brands', p_brands));
    RETURN QUERY SELECT 'added'::text, tid;
END $$;

-- ---- staff accounts and sessions ------------------------------------------------

-- A person of the brand's staff: a name, an argon2id password hash (made by
-- packcode-gen with libsodium), optionally a TOTP secret (RFC 6238), scopes
-- and brands like a token's. failures counts wrong sign-ins since the last
-- right one; from the 5th on each locks the account (locked_until) for
-- twice as long as the one before: 1 minute, 2, 4, ... at most 1 hour.
CREATE TABLE staff (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name           text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$'),
    password_hash  text NOT NULL
                   CHECK (password_hash LIKE '$argon2id$%' AND length(password_hash) < 128),
    totp_secret    bytea CHECK (length(totp_secret) = 20),
    totp_last_step bigint, -- the last TOTP step signed in with: a code works once
    scopes         text[] NOT NULL CHECK (
                       cardinality(scopes) >= 1 AND
                       scopes <@ ARRAY['read', 'catalog', 'operate', 'points', 'claims', 'pii',
                                       'export', 'admin']),
    brand_ids      bigint[] CHECK (brand_ids IS NULL OR cardinality(brand_ids) BETWEEN 1 AND 32),
    failures       integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
    locked_until   timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    disabled_at    timestamptz
);

-- A signed-in staff member: the SHA-256 hash of the session cookie's random
-- value (256 bits, so a plain hash is enough), until it expires or is
-- revoked (sign-out, the account disabled).
CREATE TABLE staff_sessions (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    staff_id    bigint NOT NULL REFERENCES staff (id),
    hash        bytea NOT NULL UNIQUE CHECK (length(hash) = 32),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    client      inet
);
CREATE INDEX staff_sessions_staff ON staff_sessions (staff_id);

-- Servers cache the live sessions with their account's scopes and brands.
CREATE TRIGGER staff_sessions_changed
    AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF expires_at, revoked_at ON staff_sessions
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_changed();
CREATE TRIGGER staff_changed
    AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF name, scopes, brand_ids, disabled_at ON staff
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_changed();

-- How long a session lasts.
CREATE FUNCTION staff_session_ttl() RETURNS interval LANGUAGE sql IMMUTABLE AS $$
    SELECT interval '8 hours'
$$;

-- A new staff account (packcode-gen user add). outcome: added | name_taken.
-- An unknown brand is SQLSTATE 22023. Audited as staff.add (never the hash
-- or the secret).
CREATE FUNCTION staff_add(p_actor text, p_client inet, p_name text, p_hash text, p_totp bytea,
                          p_scopes text[], p_brands text[])
RETURNS TABLE (outcome text, id bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    sid bigint;
    bids bigint[] := brand_ids(p_brands);
BEGIN
    INSERT INTO staff (name, password_hash, totp_secret, scopes, brand_ids)
    VALUES (p_name, p_hash, p_totp, p_scopes, bids)
    ON CONFLICT (name) DO NOTHING
    RETURNING staff.id INTO sid;
    IF sid IS NULL THEN
        RETURN QUERY SELECT 'name_taken'::text, NULL::bigint;
        RETURN;
    END IF;
    PERFORM audit_append(p_actor, p_client, 'staff.add', p_name,
                         jsonb_build_object('staff_id', sid, 'scopes', p_scopes, 'brands', p_brands,
                                            'totp', p_totp IS NOT NULL));
    RETURN QUERY SELECT 'added'::text, sid;
END $$;

-- Disable an account and revoke its sessions (their row locks wait for the
-- admin actions under way, as a token's revocation does). outcome:
-- disabled | unknown_staff | already_disabled. Audited as staff.disable.
CREATE FUNCTION staff_disable(p_actor text, p_client inet, p_name text)
RETURNS TABLE (outcome text, sessions integer)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    st staff;
    n integer;
BEGIN
    SELECT * INTO st FROM staff s WHERE s.name = p_name FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unknown_staff'::text, NULL::integer;
        RETURN;
    END IF;
    IF st.disabled_at IS NOT NULL THEN
        RETURN QUERY SELECT 'already_disabled'::text, NULL::integer;
        RETURN;
    END IF;
    UPDATE staff s SET disabled_at = now() WHERE s.id = st.id;
    UPDATE staff_sessions s SET revoked_at = now()
     WHERE s.staff_id = st.id AND s.revoked_at IS NULL AND s.expires_at > now();
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM audit_append(p_actor, p_client, 'staff.disable', p_name,
                         jsonb_build_object('staff_id', st.id, 'sessions_revoked', n));
    RETURN QUERY SELECT 'disabled'::text, n;
END $$;

-- What checking a sign-in needs, for an account that is not disabled: its
-- id, password hash, TOTP secret (hex, NULL without TOTP), the seconds it
-- stays locked (0: not locked), and its scopes and brand ids ("read,points",
-- "1,2"; NULL: every brand). No row: no such account.
CREATE FUNCTION staff_sign_in_get(p_name text)
RETURNS TABLE (id bigint, password_hash text, totp_secret text, retry_after integer,
               scopes text, brand_ids text)
LANGUAGE sql STABLE AS $$
    SELECT s.id, s.password_hash, encode(s.totp_secret, 'hex'),
           greatest(0, ceil(extract(epoch FROM coalesce(s.locked_until, now()) - now())))::integer,
           array_to_string(s.scopes, ','), array_to_string(s.brand_ids, ',')
      FROM staff s
     WHERE s.name = p_name AND s.disabled_at IS NULL
$$;

-- The end of a sign-in, after the server checked the password (and the
-- TOTP code of step p_totp_step, NULL without TOTP): p_ok says whether they
-- were right, p_why what was wrong (password, totp_missing, totp_wrong).
-- Right, and the TOTP step later than the last one used: a session (hash
-- p_session) that expires after staff_session_ttl(), and failures reset.
-- Wrong: one failure more, and from the 5th on a lock (see staff).
-- p_staff NULL: no such account (the name tried is audited).
-- outcome: signed_in (session_id, expires_at, and expires_unix in seconds) | failed (retry_after when
-- this failure locked the account) | locked (retry_after: another attempt
-- locked it meanwhile). Audited: staff.sign_in, staff.sign_in_failed,
-- staff.locked.
CREATE FUNCTION staff_sign_in_finish(p_staff bigint, p_name text, p_client inet, p_ok boolean,
                                     p_why text, p_session bytea, p_totp_step bigint)
RETURNS TABLE (outcome text, session_id bigint, expires_at timestamptz, retry_after integer,
               expires_unix bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    st staff;
    ok boolean := p_ok;
    why text := p_why;
    sid bigint;
    exp timestamptz;
BEGIN
    IF p_staff IS NOT NULL THEN
        SELECT * INTO st FROM staff s WHERE s.id = p_staff AND s.disabled_at IS NULL FOR UPDATE;
    END IF;
    IF st.id IS NULL THEN
        PERFORM audit_append('anonymous', p_client, 'staff.sign_in_failed', p_name,
                             jsonb_build_object('reason', 'unknown_name'));
        RETURN QUERY SELECT 'failed'::text, NULL::bigint, NULL::timestamptz, NULL::integer,
                            NULL::bigint;
        RETURN;
    END IF;
    IF st.locked_until > now() THEN
        RETURN QUERY SELECT 'locked'::text, NULL::bigint, NULL::timestamptz,
                            ceil(extract(epoch FROM st.locked_until - now()))::integer,
                            NULL::bigint;
        RETURN;
    END IF;
    IF ok AND p_totp_step IS NOT NULL AND p_totp_step <= coalesce(st.totp_last_step, -1) THEN
        ok := false;
        why := 'totp_replayed';
    END IF;
    IF NOT ok THEN
        UPDATE staff s
           SET failures = s.failures + 1,
               locked_until = CASE WHEN s.failures + 1 >= 5
                                   THEN now() + least(interval '1 minute' *
                                                          2::float8 ^ least(s.failures + 1 - 5, 6),
                                                      interval '1 hour') END
         WHERE s.id = st.id
        RETURNING s.failures, s.locked_until INTO st.failures, st.locked_until;
        PERFORM audit_append('staff:' || st.name, p_client, 'staff.sign_in_failed', st.name,
                             jsonb_build_object('reason', why, 'failures', st.failures));
        IF st.locked_until IS NOT NULL THEN
            PERFORM audit_append('staff:' || st.name, p_client, 'staff.locked', st.name,
                                 jsonb_build_object('failures', st.failures,
                                                    'until', st.locked_until));
        END IF;
        RETURN QUERY SELECT 'failed'::text, NULL::bigint, NULL::timestamptz,
                            ceil(extract(epoch FROM st.locked_until - now()))::integer,
                            NULL::bigint;
        RETURN;
    END IF;
    UPDATE staff s SET failures = 0, locked_until = NULL,
                       totp_last_step = coalesce(p_totp_step, s.totp_last_step)
     WHERE s.id = st.id;
    INSERT INTO staff_sessions (staff_id, hash, expires_at, client)
    VALUES (st.id, p_session, now() + staff_session_ttl(), p_client)
    RETURNING staff_sessions.id, staff_sessions.expires_at INTO sid, exp;
    PERFORM audit_append('staff:' || st.name, p_client, 'staff.sign_in', st.name,
                         jsonb_build_object('session_id', sid, 'totp', p_totp_step IS NOT NULL));
    RETURN QUERY SELECT 'signed_in'::text, sid, exp, NULL::integer,
                        floor(extract(epoch FROM exp))::bigint;
END $$;

-- Sign out: revoke session p_session. outcome: signed_out | unknown_session.
-- Audited as staff.sign_out.
CREATE FUNCTION staff_sign_out(p_session bigint, p_client inet)
RETURNS TABLE (outcome text)
LANGUAGE plpgsql AS $$
DECLARE
    who text;
BEGIN
    UPDATE staff_sessions s SET revoked_at = now()
      FROM staff st
     WHERE s.id = p_session AND s.revoked_at IS NULL AND st.id = s.staff_id
    RETURNING st.name INTO who;
    IF who IS NULL THEN
        RETURN QUERY SELECT 'unknown_session'::text;
        RETURN;
    END IF;
    PERFORM audit_append('staff:' || who, p_client, 'staff.sign_out', who,
                         jsonb_build_object('session_id', p_session));
    RETURN QUERY SELECT 'signed_out'::text;
END $$;

-- ---- who is asking: tokens and sessions ----------------------------------------

-- The identity behind an admin request: p_who > 0 is an admin token's id,
-- p_who < 0 a staff session's id negated. Its actor (the token's name, or
-- 'staff:' and the account's name) and brands (NULL: every brand), holding
-- its row (FOR SHARE) until the caller's transaction ends, so that no
-- action commits after a revocation, sign-out or disable did. SQLSTATE
-- 28000 if it is revoked, expired or disabled.
CREATE FUNCTION admin_identity(p_who bigint, OUT actor text, OUT brand_ids bigint[])
LANGUAGE plpgsql AS $$
BEGIN
    IF p_who > 0 THEN
        SELECT t.name, t.brand_ids INTO actor, brand_ids
          FROM admin_tokens t WHERE t.id = p_who AND t.revoked_at IS NULL FOR SHARE;
    ELSE
        SELECT 'staff:' || st.name, st.brand_ids INTO actor, brand_ids
          FROM staff_sessions s JOIN staff st ON st.id = s.staff_id
         WHERE s.id = -p_who AND s.revoked_at IS NULL AND s.expires_at > now()
           AND st.disabled_at IS NULL
           FOR SHARE OF s;
    END IF;
    IF actor IS NULL THEN
        RAISE EXCEPTION 'admin identity % is revoked or expired', p_who USING ERRCODE = '28000';
    END IF;
END $$;

-- admin_actor (004_admin_api.sql) now takes either kind of identity.
CREATE OR REPLACE FUNCTION admin_actor(p_token bigint) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    RETURN (SELECT actor FROM admin_identity(p_token));
END $$;

-- ---- the write path: brands ---------------------------------------------------

-- product_add (006_write_path.sql) creates the product's brand when it is
-- new (audited as brand.add). A refusal still writes nothing: the brand and
-- the product are inserted in one block, undone together.
CREATE OR REPLACE FUNCTION product_add(p_actor text, p_client inet, p_sku text, p_gtin text,
                                       p_name text, p_brand text, p_points integer)
RETURNS TABLE (outcome text, created_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    at timestamptz;
    bid bigint;
BEGIN
    BEGIN
        INSERT INTO brands (name) VALUES (coalesce(p_brand, ''))
        ON CONFLICT (name) DO NOTHING
        RETURNING brands.id INTO bid;
        INSERT INTO products (sku, gtin, name, brand, points)
        VALUES (p_sku, p_gtin, p_name, coalesce(p_brand, ''), p_points)
        RETURNING products.created_at INTO at;
    EXCEPTION WHEN unique_violation THEN
        RETURN QUERY SELECT CASE WHEN EXISTS (SELECT 1 FROM products WHERE sku = p_sku)
                                 THEN 'sku_exists' ELSE 'gtin_exists' END, NULL::timestamptz;
        RETURN;
    END;
    IF bid IS NOT NULL THEN
        PERFORM audit_append(p_actor, p_client, 'brand.add', coalesce(p_brand, ''),
                             jsonb_build_object('brand_id', bid));
    END IF;
    PERFORM audit_append(p_actor, p_client, 'product.add', p_sku,
                         jsonb_build_object('gtin', p_gtin, 'name', p_name,
                                            'brand', coalesce(p_brand, ''), 'points', p_points));
    RETURN QUERY SELECT 'added'::text, at;
END $$;

-- A product added through the admin API: an identity limited to brands may
-- add one only under one of them (outcome forbidden_brand: nothing written;
-- it cannot create brands either).
CREATE OR REPLACE FUNCTION admin_product_add(p_token bigint, p_client inet, p_sku text,
                                             p_gtin text, p_name text, p_brand text,
                                             p_points integer)
RETURNS TABLE (outcome text, created_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    who record;
BEGIN
    SELECT * INTO who FROM admin_identity(p_token);
    IF NOT brand_allowed(who.brand_ids, coalesce(p_brand, '')) THEN
        RETURN QUERY SELECT 'forbidden_brand'::text, NULL::timestamptz;
        RETURN;
    END IF;
    RETURN QUERY SELECT * FROM product_add(who.actor, p_client, p_sku, p_gtin, p_name, p_brand,
                                           p_points);
END $$;

-- Recall and unrecall through the admin API: a batch of a brand the
-- identity is not limited to is refused (outcome forbidden, nothing written).
CREATE OR REPLACE FUNCTION admin_batch_status(p_token bigint, p_client inet, p_batch bigint,
                                              p_action text, p_reason text)
RETURNS TABLE (outcome text, status text, previous text, changed_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    who record;
    brand text;
BEGIN
    SELECT * INTO who FROM admin_identity(p_token);
    SELECT p.brand INTO brand FROM batches b JOIN products p ON p.sku = b.product_sku
     WHERE b.id = p_batch;
    IF FOUND AND NOT brand_allowed(who.brand_ids, brand) THEN
        RETURN QUERY SELECT 'forbidden'::text, NULL::text, NULL::text, NULL::timestamptz;
        RETURN;
    END IF;
    IF p_action = 'recall' THEN
        RETURN QUERY SELECT * FROM batch_set_status(who.actor, p_client, p_batch, 'recalled',
                                                    p_reason, 'active');
    ELSIF p_action = 'unrecall' THEN
        RETURN QUERY SELECT * FROM batch_set_status(who.actor, p_client, p_batch, 'active',
                                                    p_reason, 'recalled');
    ELSE
        RAISE EXCEPTION 'unknown batch action %', p_action USING ERRCODE = '22023';
    END IF;
END $$;

-- ---- the admin reads: filtered by brand ------------------------------------------
-- Each read takes p_brands, the brand ids the identity is limited to (NULL:
-- every brand), and shows nothing of other brands.

DROP FUNCTION admin_batches(bigint, text, integer);
CREATE FUNCTION admin_batches(p_before bigint, p_product text, p_limit integer, p_brands bigint[])
RETURNS TABLE (id bigint, sku text, product_name text, key_id smallint, count bigint,
               status text, created_at timestamptz, printed_at timestamptz,
               status_changed_at timestamptz, status_reason text, factory text, line text,
               pin_required boolean, claims bigint, scans bigint, codes_scanned bigint)
LANGUAGE sql STABLE SET enable_seqscan = off SET jit = off AS $$
    -- the page first (materialised), so that only its batches are counted
    WITH page AS MATERIALIZED (
        SELECT * FROM batches b
         WHERE b.id < coalesce(p_before, 9223372036854775807)
           AND (p_product IS NULL OR b.product_sku = p_product)
           AND (p_brands IS NULL OR b.product_sku IN (
                   SELECT pp.sku FROM products pp JOIN brands br ON br.name = pp.brand
                    WHERE br.id = ANY (p_brands)))
         ORDER BY b.id DESC
         LIMIT p_limit)
    SELECT b.id, b.product_sku, p.name, b.key_id, b.serial_last - b.serial_first + 1, b.status,
           b.created_at, b.printed_at, b.status_changed_at, b.status_reason, b.factory, b.line,
           b.pin_required,
           (SELECT count(*) FROM redemptions r WHERE r.batch_id = b.id),
           s.scans, s.codes
      FROM page b
      JOIN products p ON p.sku = b.product_sku
      LEFT JOIN LATERAL (SELECT coalesce(sum(c.scan_count), 0)::bigint AS scans,
                                count(*) AS codes
                           FROM code_stats c
                          WHERE c.serial BETWEEN b.serial_first AND b.serial_last) s ON true
     ORDER BY b.id DESC
$$;

DROP FUNCTION admin_suspicious_codes(integer, integer, bigint, integer);
CREATE FUNCTION admin_suspicious_codes(p_days integer, p_min_clients integer, p_batch bigint,
                                       p_limit integer, p_brands bigint[])
RETURNS TABLE (serial bigint, code text, batch_id bigint, sku text, product_name text,
               scans bigint, clients bigint, refused_claims bigint, scans_after_claim bigint,
               first_scan timestamptz, last_scan timestamptz, claimed_at timestamptz,
               claimed_by text)
LANGUAGE sql STABLE SET jit = off AS $$
    WITH s AS (
        SELECT sc.serial,
               min(sc.code) AS code, -- a genuine serial has one code: its scans store it canonical
               count(*) AS scans,
               count(DISTINCT sc.client) AS clients,
               count(*) FILTER (WHERE sc.kind = 'claim' AND sc.outcome = 'already_claimed')
                   AS refused_claims,
               -- after the claim, but for the claim itself and its retries
               count(*) FILTER (WHERE sc.at > r.claimed_at AND
                                      NOT (sc.kind = 'claim' AND sc.outcome IN ('awarded', 'repeat')))
                   AS scans_after_claim,
               min(sc.at) AS first_scan,
               max(sc.at) AS last_scan
          FROM scans sc
          LEFT JOIN redemptions r ON r.serial = sc.serial
         WHERE sc.at >= now() - make_interval(days => p_days)
           AND sc.serial > 0
           AND (p_batch IS NULL OR sc.serial BETWEEN
                   (SELECT bb.serial_first FROM batches bb WHERE bb.id = p_batch) AND
                   (SELECT bb.serial_last FROM batches bb WHERE bb.id = p_batch))
         GROUP BY sc.serial)
    SELECT s.serial, s.code, b.id, b.product_sku, p.name, s.scans, s.clients, s.refused_claims,
           s.scans_after_claim, s.first_scan, s.last_scan, r.claimed_at, r.member
      FROM s
      JOIN batches b ON s.serial BETWEEN b.serial_first AND b.serial_last
      JOIN products p ON p.sku = b.product_sku
      LEFT JOIN redemptions r ON r.serial = s.serial
     WHERE (s.clients >= p_min_clients OR s.refused_claims > 0)
       AND brand_allowed(p_brands, p.brand)
     ORDER BY s.refused_claims DESC, s.clients DESC, s.scans DESC, s.serial
     LIMIT p_limit
$$;

-- For an identity limited to brands, the stats count only their products,
-- print runs, claims and the scans of their codes (scans of codes that are
-- none of ours belong to no brand); members are those who claimed one of
-- their codes, and points_held is null (points are the group's, not a
-- brand's).
DROP FUNCTION admin_stats(integer);
CREATE FUNCTION admin_stats(p_days integer, p_brands bigint[]) RETURNS jsonb
LANGUAGE sql STABLE SET jit = off AS $$
    WITH bb AS MATERIALIZED (
        SELECT b.* FROM batches b JOIN products p ON p.sku = b.product_sku
         WHERE brand_allowed(p_brands, p.brand))
    SELECT jsonb_build_object(
        'days', p_days,
        'products', (SELECT count(*) FROM products p WHERE brand_allowed(p_brands, p.brand)),
        'batches', (SELECT coalesce(jsonb_object_agg(status, n), '{}')
                      FROM (SELECT status, count(*) AS n FROM bb GROUP BY status) b),
        'codes_minted', (SELECT coalesce(sum(serial_last - serial_first + 1), 0) FROM bb
                          WHERE status IN ('active', 'recalled')),
        'codes_claimed', CASE WHEN p_brands IS NULL THEN (SELECT count(*) FROM redemptions)
                              ELSE (SELECT count(*) FROM redemptions r
                                     WHERE r.batch_id IN (SELECT id FROM bb)) END,
        'members', CASE WHEN p_brands IS NULL THEN (SELECT count(*) FROM members)
                        ELSE (SELECT count(DISTINCT r.member) FROM redemptions r
                               WHERE r.batch_id IN (SELECT id FROM bb)) END,
        'points_held', CASE WHEN p_brands IS NULL
                            THEN (SELECT coalesce(sum(balance), 0) FROM members) END,
        'scans', (SELECT coalesce(jsonb_object_agg(kind, outcomes), '{}')
                    FROM (SELECT kind, jsonb_object_agg(outcome, n) AS outcomes
                            FROM (SELECT sc.kind, sc.outcome, count(*) AS n FROM scans sc
                                   WHERE sc.at >= now() - make_interval(days => p_days)
                                     AND (p_brands IS NULL OR EXISTS (
                                             SELECT 1 FROM bb
                                              WHERE sc.serial BETWEEN bb.serial_first
                                                                  AND bb.serial_last))
                                   GROUP BY sc.kind, sc.outcome) k
                           GROUP BY kind) s))
$$;
