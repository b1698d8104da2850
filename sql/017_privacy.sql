-- 017_privacy.sql: what scans keep of the people who scan, and for how long
-- (docs/privacy.md, "Retention").
-- 1. Client addresses: once the clone-detection window has passed (the
--    scanner hash, computed from address and User-Agent when the scan was
--    made, is what clone detection counts: code_scanners of 007_consumer.sql),
--    a scan's address is truncated to its network, IPv4 to /24 and IPv6 to
--    /48 (stored as that network, so its mask length says it was cut).
-- 2. Retention: scans older than N days are deleted, whole monthly
--    partitions dropped where they lie wholly past it; the roll-ups of
--    015_scans.sql, code_stats and code_scanners keep the aggregates.
-- Both are done by scans_tidy(), called every --privacy-interval by one
-- server at a time (server/engine/tidy.c), and audited as scans.tidy.
-- 3. A member signed in by WeChat or OIDC adds a phone by proving it:
--    member_link_sms() (POST /api/v1/auth/sms/verify with a session).

-- How far addresses have been truncated (scans before addressed_until):
-- each run truncates only the scans that passed the window since the last,
-- so it never reads the old partitions again. The coordinator's own table.
CREATE TABLE scan_privacy_state (
    singleton        boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    addressed_until  timestamptz NOT NULL DEFAULT '-infinity',
    tidied_at        timestamptz
);
INSERT INTO scan_privacy_state DEFAULT VALUES;

-- One run: p_address_days (0: keep addresses whole), p_retention_days (0:
-- keep every scan). Under an advisory lock taken without waiting (the
-- lease): when several servers run at once, one does the work and the
-- others get NULL at once. Otherwise a row: addresses truncated, scans
-- deleted, partitions dropped; audited (actor 'packcode-server') when
-- anything was done. Order on Citus: the partitions' DDL first, then the
-- multi-shard deletes and updates, sequentially over one connection per
-- node, then the coordinator's tables.
CREATE FUNCTION scans_tidy(p_address_days integer, p_retention_days integer,
                           OUT addresses bigint, OUT deleted bigint, OUT partitions integer)
RETURNS SETOF record LANGUAGE plpgsql AS $$
DECLARE
    t timestamptz := now();
    keep_from timestamptz;
    cut_before timestamptz;
    done_until timestamptz;
    p record;
    n bigint;
    dropped text[] := '{}';
BEGIN
    IF p_address_days IS NULL OR p_address_days < 0 OR p_retention_days IS NULL
       OR p_retention_days < 0 THEN
        RAISE EXCEPTION 'scans_tidy: days are 0 (keep) or more' USING ERRCODE = '22023';
    END IF;
    IF NOT pg_try_advisory_xact_lock(hashtext('packcode.scans_tidy')) THEN
        RETURN;
    END IF;
    IF packcode_distributed() THEN
        PERFORM set_config('citus.multi_shard_modify_mode', 'sequential', true);
    END IF;
    addresses := 0;
    deleted := 0;
    partitions := 0;
    SELECT s.addressed_until INTO done_until FROM scan_privacy_state s FOR UPDATE;

    IF p_retention_days > 0 THEN
        keep_from := t - make_interval(days => p_retention_days);
        -- the monthly partitions (scans_YYYYMM of 001_core.sql) that end
        -- before keep_from: dropped whole
        FOR p IN
            SELECT c.relname
              FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = 'scans'::regclass AND c.relname ~ '^scans_[0-9]{6}$'
               AND (to_date(substr(c.relname, 7), 'YYYYMM') + interval '1 month') <= keep_from
             ORDER BY c.relname
        LOOP
            EXECUTE format('SELECT count(*) FROM %I', p.relname) INTO n;
            EXECUTE format('DROP TABLE %I', p.relname);
            deleted := deleted + n;
            partitions := partitions + 1;
            dropped := dropped || p.relname::text;
        END LOOP;
        -- the rest: the month keep_from falls in, and the default partition
        DELETE FROM scans WHERE at < keep_from;
        GET DIAGNOSTICS n = ROW_COUNT;
        deleted := deleted + n;
    END IF;

    IF p_address_days > 0 THEN
        cut_before := t - make_interval(days => p_address_days);
        IF cut_before > done_until THEN
            UPDATE scans
               SET client = network(set_masklen(client, CASE WHEN family(client) = 4 THEN 24
                                                             ELSE 48 END))
             WHERE at >= done_until AND at < cut_before
               AND masklen(client) = CASE WHEN family(client) = 4 THEN 32 ELSE 128 END;
            GET DIAGNOSTICS addresses = ROW_COUNT;
            UPDATE scan_privacy_state SET addressed_until = cut_before;
        END IF;
    END IF;
    UPDATE scan_privacy_state SET tidied_at = t;

    IF addresses > 0 OR deleted > 0 THEN
        PERFORM audit_append('packcode-server', NULL, 'scans.tidy', 'scans',
                             jsonb_build_object('addresses_truncated', addresses,
                                                'addresses_before', CASE WHEN p_address_days > 0
                                                    THEN webhook_time(cut_before) END,
                                                'scans_deleted', deleted,
                                                'deleted_before', CASE WHEN p_retention_days > 0
                                                    THEN webhook_time(keep_from) END,
                                                'partitions_dropped', to_jsonb(dropped)));
    END IF;
    RETURN NEXT;
END $$;

-- ---- a signed-in member adds a phone by proving it ----------------------------------------

-- The SMS code of phone p_phone_hash checked as member_sign_in_sms
-- (011_members.sql) checks it (tries, expiry, used), and the phone then
-- added to the signed-in member p_member (member_identity_link of
-- 012_oauth.sql) instead of signing anyone in. outcome: linked | already
-- (theirs before) | taken (another member's: their identity, or a member
-- made before 011 keyed by the number, p_legacy; nothing changes, the code
-- stays unused) | none | expired | wrong | exhausted (as the sign-in's).
-- On Citus each statement is on one shard: sms_challenges and
-- member_identities by the hash, members by the key.
CREATE FUNCTION member_link_sms(p_member text, p_phone_hash bytea, p_code_hash bytea,
                                p_sealed bytea, p_masked text, p_legacy text, p_client inet)
RETURNS TABLE (outcome text, tries_left integer)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    t timestamptz := now();
    ch sms_challenges;
    pol record;
    o text;
BEGIN
    SELECT * INTO pol FROM sms_policy();
    SELECT * INTO ch FROM sms_challenges c WHERE c.phone_hash = p_phone_hash FOR UPDATE;
    IF NOT FOUND OR ch.used_at IS NOT NULL THEN
        RETURN QUERY SELECT 'none'::text, NULL::integer;
        RETURN;
    END IF;
    IF ch.tries >= pol.tries THEN
        RETURN QUERY SELECT 'exhausted'::text, 0;
        RETURN;
    END IF;
    IF ch.expires_at <= t THEN
        RETURN QUERY SELECT 'expired'::text, NULL::integer;
        RETURN;
    END IF;
    IF ch.code_hash <> p_code_hash THEN
        UPDATE sms_challenges c SET tries = c.tries + 1 WHERE c.phone_hash = p_phone_hash;
        RETURN QUERY SELECT CASE WHEN ch.tries + 1 >= pol.tries THEN 'exhausted' ELSE 'wrong' END,
                            pol.tries - ch.tries - 1;
        RETURN;
    END IF;
    IF p_legacy IS NOT NULL AND p_legacy <> p_member
       AND NOT EXISTS (SELECT 1 FROM member_identities i WHERE i.hash = p_phone_hash)
       AND EXISTS (SELECT 1 FROM members mb WHERE mb.member = p_legacy) THEN
        RETURN QUERY SELECT 'taken'::text, NULL::integer;
        RETURN;
    END IF;
    SELECT l.outcome INTO o
      FROM member_identity_link(p_member, 'phone', p_phone_hash, p_sealed, p_masked, p_client) l;
    IF o <> 'taken' THEN
        UPDATE sms_challenges c SET used_at = t WHERE c.phone_hash = p_phone_hash;
    END IF;
    RETURN QUERY SELECT o, NULL::integer;
END $$;
