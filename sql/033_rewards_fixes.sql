-- 033_rewards_fixes.sql: issue 13's loose ends (docs/campaigns.md).
--  1. A payout the provider took (2xx) but never called back about is asked
--     about again: after --payout-callback-wait the dispatcher sends the same
--     request (the same bytes, the same Idempotency-Key) and the status in
--     the provider's answer settles it as a callback would, once
--     (payout_query_claim, payout_query_record; payout_events kind 'query').
--  2. The open payouts by state for /metrics (payouts_open).
--  3. member_merge moves the merged member's referrals: their share codes,
--     the referrals they made, and the one they were referred by (one
--     referee, ever: of two, the rewarded one, else the earlier, is kept,
--     the other set aside in referral_merges).
--  4. On Citus, the tables of the points mall and the referrals that a
--     database distributed before 027/029 left on the coordinator are
--     distributed as packcode_distribute() does now.
--  5. referral_of tells what referrals earned the member (the /me page).
--  6. A payout whose tries ran out on an outcome nobody knows (no reply in
--     time, a broken reply, a 500, 502 or 504: the provider may have paid
--     it) is not failed and returned to the budget unasked, as 028 did: it
--     is sent, and asked about like a payout whose callback never came
--     (payout_record). A fresh-clone run of test_payout_query.sh caught it:
--     the fourth attempt timed out, the payout was returned, and the
--     provider had paid it.

-- ---- 1. asking the provider again --------------------------------------------------------

-- 028's payout_record, with item 6: p_outcome 'unknown' (payouts_classify:
-- the request may have reached the provider, and no answer says what came
-- of it) is tried again while tries are left, like 'retry'; when none are,
-- 'unknown' is 'sent' (asked about after --payout-callback-wait) where
-- 'retry' (it never reached the provider, or the provider said not now) is
-- 'failed'.
CREATE OR REPLACE FUNCTION payout_record(p_id bigint, p_attempt integer, p_outcome text,
                                         p_http integer, p_error text, p_retry_ms integer,
                                         p_max integer)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    p payouts;
    after text;
BEGIN
    SELECT * INTO p FROM payouts x WHERE x.id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    after := p.status;
    IF p.status = 'requested' AND p.attempts = p_attempt THEN
        after := CASE WHEN p_outcome = 'accepted' THEN 'sent'
                      WHEN p_outcome = 'refused' THEN 'failed'
                      WHEN p.attempts < p_max THEN 'requested'
                      WHEN p_outcome = 'unknown' THEN 'sent'
                      ELSE 'failed' END;
        UPDATE payouts x
           SET status = after, leased_until = NULL,
               next_at = CASE WHEN after = 'requested'
                              THEN now() + make_interval(secs => p_retry_ms / 1000.0)
                              ELSE x.next_at END,
               sent_at = CASE WHEN after = 'sent' THEN now() ELSE x.sent_at END,
               failed_at = CASE WHEN after = 'failed' THEN now() ELSE x.failed_at END,
               last_error = CASE WHEN p_outcome = 'accepted' THEN x.last_error
                                 ELSE left(p_error, 300) END
         WHERE x.id = p_id;
    END IF;
    INSERT INTO payout_events (payout_id, kind, attempt, outcome, http_status, status_before,
                               status_after, detail)
    VALUES (p_id, 'attempt', p_attempt, p_outcome, p_http, p.status, after, left(p_error, 300));
    RETURN after;
END $$;

-- queried_at: when the dispatcher last asked about a sent payout (NULL:
-- never; the wait runs from sent_at); queries: how many times.
ALTER TABLE payouts ADD COLUMN queried_at timestamptz;
ALTER TABLE payouts ADD COLUMN queries integer NOT NULL DEFAULT 0;
CREATE INDEX payouts_sent ON payouts ((coalesce(queried_at, sent_at)), id) WHERE status = 'sent';

ALTER TABLE payout_events DROP CONSTRAINT payout_events_kind_check;
ALTER TABLE payout_events ADD CONSTRAINT payout_events_kind_check
    CHECK (kind IN ('attempt', 'callback', 'return', 'query'));

-- The sent payouts the provider has not called back about for p_wait_s
-- seconds (since they were sent, or last asked about), at most p_limit,
-- leased to the caller for p_lease_s seconds (FOR UPDATE SKIP LOCKED:
-- servers share the work). query: this question's number. body: the bytes
-- payout_claim sent, the same (the provider answers a key it knows with
-- its status, and pays it at most once).
CREATE FUNCTION payout_query_claim(p_limit integer, p_lease_s integer, p_wait_s integer)
RETURNS TABLE (id bigint, query integer, idempotency_key text, body text)
LANGUAGE sql AS $$
    WITH due AS (
        SELECT p.id FROM payouts p
         WHERE p.status = 'sent'
           AND coalesce(p.queried_at, p.sent_at) <= now() - make_interval(secs => p_wait_s)
           AND (p.leased_until IS NULL OR p.leased_until <= now())
         ORDER BY coalesce(p.queried_at, p.sent_at), p.id
         LIMIT p_limit
         FOR UPDATE SKIP LOCKED),
    up AS (
        UPDATE payouts p
           SET leased_until = now() + make_interval(secs => p_lease_s),
               queries = p.queries + 1, queried_at = now()
          FROM due WHERE p.id = due.id
        RETURNING p.*)
    SELECT up.id, up.queries, up.idempotency_key,
           jsonb_build_object('idempotency_key', up.idempotency_key, 'payout', up.id,
                              'brand', up.brand, 'campaign', up.campaign_id,
                              'member', up.member, 'serial', up.serial,
                              'amount', up.amount, 'currency', up.currency,
                              'requested_at', webhook_time(up.created_at))::text
      FROM up ORDER BY up.id
$$;

-- The provider's answer to question p_query about payout p_id: p_answer
-- paid or failed (its status, as a callback says it), pending (it has not
-- settled it yet) or error (no answer: a timeout, no connection, not a
-- 2xx). Only a payout still sent, whose latest question this is, moves:
-- sent -> paid (a payout.paid event) or sent -> failed (returned by the
-- next payouts_return), audited payout.query; anything else changes
-- nothing (a callback came first: 'stale'). Every answer is a payout_events
-- row (kind query). Returns the outcome: applied | pending | error | stale.
CREATE FUNCTION payout_query_record(p_id bigint, p_query integer, p_answer text, p_http integer,
                                    p_detail text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    p payouts;
    after text;
    oc text;
BEGIN
    SELECT * INTO p FROM payouts x WHERE x.id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    after := p.status;
    IF p.status <> 'sent' OR p.queries <> p_query THEN
        oc := 'stale';
    ELSIF p_answer IN ('paid', 'failed') THEN
        after := p_answer;
        oc := 'applied';
        UPDATE payouts x
           SET status = after, leased_until = NULL,
               paid_at = CASE WHEN after = 'paid' THEN now() ELSE x.paid_at END,
               failed_at = CASE WHEN after = 'failed' THEN now() ELSE x.failed_at END
         WHERE x.id = p_id;
    ELSE
        oc := CASE WHEN p_answer = 'pending' THEN 'pending' ELSE 'error' END;
        UPDATE payouts x
           SET leased_until = NULL,
               last_error = CASE WHEN oc = 'error' THEN left(p_detail, 300) ELSE x.last_error END
         WHERE x.id = p_id;
    END IF;
    INSERT INTO payout_events (payout_id, kind, attempt, outcome, http_status, status_before,
                               status_after, detail)
    VALUES (p_id, 'query', p_query, oc, p_http, p.status, after,
            left(coalesce(p_detail, p_answer), 300));
    IF oc = 'applied' THEN
        PERFORM audit_append('payouts', NULL::inet, 'payout.query', p.idempotency_key,
                             jsonb_build_object('status', p_answer, 'before', p.status,
                                                'after', after, 'query', p_query));
        IF after = 'paid' AND webhook_wanted('payout.paid') THEN
            PERFORM webhook_emit('payout.paid', ARRAY['payout:' || p.id], ARRAY[p.brand],
                                 ARRAY[jsonb_build_object('payout', p.id,
                                                          'campaign', p.campaign_id,
                                                          'member', p.member, 'serial', p.serial,
                                                          'amount', p.amount,
                                                          'currency', p.currency,
                                                          'idempotency_key', p.idempotency_key,
                                                          'paid_at', webhook_time(now()))]);
        END IF;
    END IF;
    RETURN oc;
END $$;

-- ---- 2. the open payouts, for /metrics ---------------------------------------------------

-- How many payouts wait in each open state (requested, sent, failed and not
-- yet returned): each count one partial index's (payouts_due, payouts_sent,
-- payouts_failed), cheap however many payouts were paid.
CREATE FUNCTION payouts_open() RETURNS TABLE (requested bigint, sent bigint, failed bigint)
LANGUAGE sql STABLE AS $$
    SELECT (SELECT count(*) FROM payouts p WHERE p.status = 'requested'),
           (SELECT count(*) FROM payouts p WHERE p.status = 'sent'),
           (SELECT count(*) FROM payouts p WHERE p.status = 'failed')
$$;

-- ---- 3. a merge moves the referrals ------------------------------------------------------

-- A merged member's share codes become the kept member's: their own code
-- if they had none (merged_from NULL), else kept beside it (merged_from:
-- the member it was made for), so that links shared before the merge still
-- name a member. A member has one own code (merged_from NULL) and any
-- number of merged ones.
ALTER TABLE referral_codes ADD COLUMN merged_from text;
ALTER TABLE referral_codes DROP CONSTRAINT referral_codes_member_key;
CREATE UNIQUE INDEX referral_codes_own ON referral_codes (member) WHERE merged_from IS NULL;
CREATE INDEX referral_codes_member ON referral_codes (member);

-- A pending referral between two members merged into one is flagged
-- same_member: nobody is rewarded for referring themselves.
ALTER TABLE referrals DROP CONSTRAINT referrals_flag_check;
ALTER TABLE referrals ADD CONSTRAINT referrals_flag_check
    CHECK (flag IN ('same_phone', 'same_device', 'same_address', 'daily_max', 'same_member'));

-- The referral a merge set aside: when both members had been referred
-- (one referee, ever), the kept member keeps one referral, the one that
-- was rewarded, else the earliest; the other is kept here as it was, with
-- the member it was merged into. The coordinator's (rare, an admin's act).
CREATE TABLE referral_merges (
    id            bigint NOT NULL,
    referee       text NOT NULL,
    merged_into   text NOT NULL,
    merged_at     timestamptz NOT NULL DEFAULT now(),
    referrer      text NOT NULL,
    code          text NOT NULL,
    status        text NOT NULL,
    flag          text,
    via           text NOT NULL,
    recorded_at   timestamptz NOT NULL,
    serial        bigint,
    brand_id      bigint,
    rewarded_at   timestamptz,
    PRIMARY KEY (id)
);

-- The share code of p_member (029's, but their own code: not one merged
-- from another member).
CREATE OR REPLACE FUNCTION referral_code(p_member text, p_new text, p_client inet, p_device text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    t timestamptz := now();
    c text;
BEGIN
    SELECT r.code INTO c FROM referral_codes r WHERE r.member = p_member AND r.merged_from IS NULL;
    IF c IS NOT NULL THEN
        UPDATE referral_codes r SET seen_at = t, seen_client = p_client, seen_device = p_device
         WHERE r.code = c;
        RETURN c;
    END IF;
    INSERT INTO referral_codes AS r (code, member, created_at, seen_at, seen_client, seen_device)
    VALUES (p_new, p_member, t, t, p_client, p_device)
    ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        -- the member's code made meanwhile by another request, or p_new taken
        SELECT r.code INTO c FROM referral_codes r
         WHERE r.member = p_member AND r.merged_from IS NULL;
        RETURN c;
    END IF;
    PERFORM audit_append('member:' || p_member, p_client, 'referral.code', p_member,
                         jsonb_build_object('code', p_new));
    RETURN p_new;
END $$;

-- The referrals of p_from moved to p_into, in member_merge's transaction
-- (after both members' rows are locked): p_from's codes (above), the
-- referrals p_from made (referrer), and the one p_from was referred by
-- (referee: one per referee, so when p_into has one too, the rewarded one,
-- else the earlier, is kept and the other set aside in referral_merges). A
-- pending referral of one by the other is flagged same_member. On Citus
-- referrals is distributed by referee: a referral changes referee by a
-- DELETE and an INSERT (its id kept). Returns what moved, for the audit.
CREATE FUNCTION referral_merge(p_into text, p_from text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    f referrals;
    i referrals;
    keep_from boolean;
    aside referrals;
    nc integer;
    nr integer;
    kept text;
BEGIN
    UPDATE referral_codes r
       SET member = p_into,
           merged_from = CASE WHEN r.merged_from IS NULL
                               AND EXISTS (SELECT 1 FROM referral_codes o
                                            WHERE o.member = p_into AND o.merged_from IS NULL)
                              THEN p_from ELSE r.merged_from END
     WHERE r.member = p_from;
    GET DIAGNOSTICS nc = ROW_COUNT;
    UPDATE referrals r SET referrer = p_into WHERE r.referrer = p_from;
    GET DIAGNOSTICS nr = ROW_COUNT;

    SELECT * INTO f FROM referrals r WHERE r.referee = p_from FOR UPDATE;
    SELECT * INTO i FROM referrals r WHERE r.referee = p_into FOR UPDATE;
    IF f.referee IS NOT NULL THEN
        keep_from := i.referee IS NULL
                     OR (f.status = 'rewarded' AND i.status <> 'rewarded')
                     OR (NOT (i.status = 'rewarded' AND f.status <> 'rewarded')
                         AND (f.recorded_at, f.id) < (i.recorded_at, i.id));
        aside := CASE WHEN keep_from THEN i ELSE f END;
        IF aside.referee IS NOT NULL THEN
            DELETE FROM referrals r WHERE r.referee = aside.referee;
            INSERT INTO referral_merges (id, referee, merged_into, referrer, code, status, flag,
                                         via, recorded_at, serial, brand_id, rewarded_at)
            VALUES (aside.id, aside.referee, p_into, aside.referrer, aside.code, aside.status,
                    aside.flag, aside.via, aside.recorded_at, aside.serial, aside.brand_id,
                    aside.rewarded_at);
        END IF;
        IF keep_from THEN
            DELETE FROM referrals r WHERE r.referee = p_from;
            INSERT INTO referrals (referee, id, referrer, code, status, flag, via, client, device,
                                   referee_phone, recorded_at, serial, brand_id, referee_points,
                                   referrer_points, rewarded_at)
            OVERRIDING SYSTEM VALUE
            VALUES (p_into, f.id, f.referrer, f.code, f.status, f.flag, f.via, f.client, f.device,
                    f.referee_phone, f.recorded_at, f.serial, f.brand_id, f.referee_points,
                    f.referrer_points, f.rewarded_at);
            kept := 'from';
        ELSE
            kept := 'into';
        END IF;
    END IF;
    -- one referred by the other: now by themselves
    UPDATE referrals r SET status = 'flagged', flag = 'same_member'
     WHERE r.referee = p_into AND r.referrer = p_into AND r.status = 'pending';
    IF nc = 0 AND nr = 0 AND f.referee IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN jsonb_build_object('codes', nc, 'referred', nr, 'referred_by', kept,
                              'set_aside', CASE WHEN aside.referee IS NOT NULL THEN aside.id END);
END $$;

-- 012's member_merge, kept (024's SET clauses with it), then the referrals
-- moved (referral_merge) when it merged, audited referral.merge.
ALTER FUNCTION member_merge(text, inet, text, text) RENAME TO member_merge_012;
CREATE FUNCTION member_merge(p_actor text, p_client inet, p_into text, p_from text)
RETURNS TABLE (outcome text, points bigint, balance bigint, identities integer)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    r record;
    moved jsonb;
BEGIN
    -- the two members' own referrals first, in key order, as referral_settle
    -- locks a referral before its members: a merge and a settle of the same
    -- member queue instead of deadlocking (one statement a shard on Citus)
    PERFORM 1 FROM referrals x WHERE x.referee = least(p_into, p_from) FOR UPDATE;
    PERFORM 1 FROM referrals x WHERE x.referee = greatest(p_into, p_from) FOR UPDATE;
    SELECT * INTO r FROM member_merge_012(p_actor, p_client, p_into, p_from);
    IF r.outcome = 'merged' THEN
        moved := referral_merge(p_into, p_from);
        IF moved IS NOT NULL THEN
            PERFORM audit_append(p_actor, p_client, 'referral.merge', p_into,
                                 moved || jsonb_build_object('from', p_from));
        END IF;
    END IF;
    RETURN QUERY SELECT r.outcome, r.points, r.balance, r.identities;
END $$;
ALTER FUNCTION member_merge SET enable_seqscan = off SET jit = off;

-- ---- 4. Citus: the rewards' tables of a database distributed before them -------------------

-- packcode_distribute() (010_citus.sql) distributes mall_orders and
-- referrals by member with members, and makes referral_codes and
-- referral_rules reference tables; a database it distributed before
-- 027_mall.sql or 029_referrals.sql has those on the coordinator. This
-- distributes each that is not yet, the same way, when the database is
-- distributed (a single PostgreSQL, or one not yet distributed: nothing).
-- The other rewards' tables (mall_rewards, the campaigns', red packets' and
-- payouts' tables, referral_merges) stay the coordinator's on purpose
-- (docs/scaling.md). Returns what it distributed (NULL: nothing).
CREATE FUNCTION packcode_distribute_rewards() RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    done text[] := '{}';
    t record;
    dist boolean;
BEGIN
    IF NOT packcode_distributed() THEN
        RETURN NULL;
    END IF;
    PERFORM set_config('citus.multi_shard_modify_mode', 'sequential', true);
    FOR t IN SELECT * FROM (VALUES (1, 'mall_orders', 'member'), (2, 'referrals', 'referee'),
                                   (3, 'referral_codes', NULL), (4, 'referral_rules', NULL))
                             v(o, name, col) ORDER BY o LOOP
        EXECUTE 'SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition
                                 WHERE logicalrelid = $1::regclass)' INTO dist USING t.name;
        CONTINUE WHEN dist;
        IF t.col IS NULL THEN
            EXECUTE 'SELECT create_reference_table($1::regclass)' USING t.name;
        ELSE
            EXECUTE 'SELECT create_distributed_table($1::regclass, $2, colocate_with => ''members'')'
                USING t.name, t.col;
        END IF;
        done := done || t.name;
    END LOOP;
    RETURN CASE WHEN cardinality(done) > 0 THEN array_to_string(done, ', ') END;
END $$;

DO $$
DECLARE
    d text := packcode_distribute_rewards();
BEGIN
    IF d IS NOT NULL THEN
        RAISE NOTICE 'distributed: %', d;
    END IF;
END $$;

-- ---- 5. the member's page: what referrals earned -------------------------------------------

-- 029's referral_of, with earned: the points the member's referral rows of
-- the ledger gave them (as referrer, and as a referee), shown on /me
-- beside their share link (GET /api/v1/members/me/referral too).
CREATE OR REPLACE FUNCTION referral_of(p_member text) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    o jsonb;
    e bigint;
BEGIN
    SELECT coalesce(sum(l.delta), 0) INTO e FROM ledger l
     WHERE l.member = p_member AND l.kind = 'referral';
    SELECT jsonb_build_object(
             'referred', coalesce((SELECT jsonb_object_agg(s.status, s.n)
                                     FROM (SELECT r.status, count(*) AS n FROM referrals r
                                            WHERE r.referrer = p_member
                                            GROUP BY r.status) s), '{}'::jsonb),
             'referred_by', (SELECT r.status FROM referrals r WHERE r.referee = p_member),
             'earned', e)
      INTO o;
    RETURN o;
END $$;
