-- 033_rewards_fixes.sql: issue 13's loose ends (docs/campaigns.md).
--  1. A payout the provider took (2xx) but never called back about is asked
--     about again: after --payout-callback-wait the dispatcher sends the same
--     request (the same bytes, the same Idempotency-Key) and the status in
--     the provider's answer settles it as a callback would, once
--     (payout_query_claim, payout_query_record; payout_events kind 'query').
--  2. The open payouts by state for /metrics (payouts_open).
--  3. member_merge moves the merged member's referrals: their share code,
--     the referrals they made, and the one they were referred by (one
--     referee, ever: the earlier of two is kept, the other is kept aside in
--     referral_merges).
--  4. On Citus, the tables of the points mall and the referrals that a
--     database distributed before 027/029 left on the coordinator are
--     distributed as packcode_distribute() does now.

-- ---- 1. asking the provider again --------------------------------------------------------

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
