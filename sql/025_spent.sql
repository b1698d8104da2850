-- 025_spent.sql: points spent per day on the overview (issue 10, item 2).
-- Points are one pool for the whole group: a spend (spends, 004) has a
-- member and no brand. spend_days counts the spends and their points per
-- UTC day, written by member_spend() in the spend's own transaction, so the
-- overview never passes over spends. Like scan_day_totals (015) it is the
-- Citus coordinator's own table (not in packcode_distribute, 010): small,
-- written and read only by the coordinator's functions. Every spend of a
-- day updates the same row: spends of one day wait on each other's commit
-- for that row (spends are few next to scans and claims).

CREATE TABLE spend_days (
    day    date PRIMARY KEY,
    spends bigint NOT NULL DEFAULT 0,
    points bigint NOT NULL DEFAULT 0
);

-- The spends made before this migration.
INSERT INTO spend_days (day, spends, points)
SELECT (s.created_at AT TIME ZONE 'UTC')::date, count(*), sum(s.points)
  FROM spends s
 GROUP BY 1;

-- member_spend of 006_write_path.sql, unchanged but for the roll-up written
-- after the spend's row. 010_citus.sql has no variant of its own: the same
-- body runs on a single PostgreSQL (packcode_distributed() false) and on
-- the Citus coordinator (true), where members, ledger and spends are
-- distributed by member and spend_days stays the coordinator's.
CREATE OR REPLACE FUNCTION member_spend(p_actor text, p_client inet, p_member text, p_key text,
                                        p_points bigint, p_reference text)
RETURNS TABLE (outcome text, balance bigint, ledger_id bigint, at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    cur bigint;
    s spends;
    lid bigint;
BEGIN
    IF p_points <= 0 THEN
        RAISE EXCEPTION 'a spend of % points', p_points USING ERRCODE = '22023';
    END IF;
    SELECT m.balance INTO cur FROM members m WHERE m.member = p_member FOR UPDATE;
    IF cur IS NULL THEN
        RETURN QUERY SELECT 'unknown_member'::text, NULL::bigint, NULL::bigint, NULL::timestamptz;
        RETURN;
    END IF;
    SELECT * INTO s FROM spends sp WHERE sp.member = p_member AND sp.idempotency_key = p_key;
    IF FOUND THEN
        IF s.points = p_points AND s.reference IS NOT DISTINCT FROM p_reference
           AND s.actor = p_actor THEN
            RETURN QUERY SELECT 'repeat'::text, s.balance_after, s.ledger_id, s.created_at;
        ELSE
            RETURN QUERY SELECT 'key_reused'::text, NULL::bigint, NULL::bigint, s.created_at;
        END IF;
        RETURN;
    END IF;
    IF cur < p_points THEN
        RETURN QUERY SELECT 'insufficient'::text, cur, NULL::bigint, NULL::timestamptz;
        RETURN;
    END IF;
    UPDATE members m SET balance = m.balance - p_points WHERE m.member = p_member;
    INSERT INTO ledger (member, delta, balance_after, kind, reference)
    VALUES (p_member, -p_points, cur - p_points, 'spend', p_reference)
    RETURNING id INTO lid;
    INSERT INTO spends (member, idempotency_key, points, reference, actor, ledger_id, balance_after)
    VALUES (p_member, p_key, p_points, p_reference, p_actor, lid, cur - p_points);
    -- the day of the spend's created_at (now(): the transaction's time)
    INSERT INTO spend_days AS d (day, spends, points)
    VALUES ((now() AT TIME ZONE 'UTC')::date, 1, p_points)
    ON CONFLICT (day) DO UPDATE SET spends = d.spends + 1, points = d.points + excluded.points;
    PERFORM audit_append(p_actor, p_client, 'member.spend', p_member,
                         jsonb_build_object('points', p_points, 'reference', p_reference,
                                            'idempotency_key', p_key,
                                            'balance_after', cur - p_points, 'ledger_id', lid));
    RETURN QUERY SELECT 'spent'::text, cur - p_points, lid, now();
END $$;

-- A day's spends as the overview's counters: spends and points_spent for
-- the group (p_brands NULL), both null for an identity limited to brands
-- (spends belong to the group, not to a brand). Shared with the raw
-- answer of bench/rollups_raw.sql.
CREATE FUNCTION analytics_spent_counts(p_brands bigint[], p_spends bigint, p_points bigint)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_brands IS NULL
                THEN jsonb_build_object('spends', coalesce(p_spends, 0),
                                        'points_spent', coalesce(p_points, 0))
                ELSE jsonb_build_object('spends', NULL, 'points_spent', NULL) END
$$;

-- What the overview says beside its days: why points_spent is null.
CREATE FUNCTION analytics_spent_note(p_brands bigint[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object('points_spent_note',
                              CASE WHEN p_brands IS NULL THEN NULL
                                   ELSE 'points are one pool for the group: spends belong to no brand' END)
$$;

-- The overview of 015, each day's counters with the day's spends
-- (spend_days) beside the scans' (scan_day_totals).
CREATE OR REPLACE FUNCTION analytics_overview(p_from date, p_to date, p_brands bigint[])
RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT analytics_week_over_week(p_from, p_to, (
        SELECT jsonb_object_agg(to_char(g.day, 'YYYY-MM-DD'),
                                analytics_day_counts(g.day::date, p_brands)
                                || analytics_spent_counts(p_brands, sd.spends, sd.points))
          FROM generate_series(p_from - 7, p_to, interval '1 day') AS g(day)
          LEFT JOIN spend_days sd ON sd.day = g.day::date))
        || analytics_spent_note(p_brands)
$$;

-- CREATE OR REPLACE above reset the settings 024_plans.sql gave member_spend:
-- the index whatever the statistics of a new deployment, no JIT.
ALTER FUNCTION member_spend SET enable_seqscan = off SET jit = off;
