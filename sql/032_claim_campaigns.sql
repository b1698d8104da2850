-- 032_claim_campaigns.sql: the campaigns' part of a claim, cheaper, with the
-- same outcomes (issue 13's benchmark: claims with a multiplier and an
-- instant win against claims with none, bench/bench_server.sh). Measured
-- with pg_stat_statements (track = all) under that bench, claim_many took
-- 1.45 ms a call (16 claims) without campaigns and 3.55 ms with the two;
-- of the difference, the per-row function calls were the largest part:
--   - the draw called campaign_hmac() and campaign_tier_of() once per award:
--     campaign_hmac, a one-expression SQL function, was never inlined
--     because it is declared IMMUTABLE around convert_to(), which is STABLE
--     (PostgreSQL inlines a function only if its body is no more volatile
--     than its declaration); declared STABLE it is inlined, and the same
--     bytes come out. campaign_tier_of() (a query) is replaced, in the
--     claim, by one set of cumulative tiers per call, joined;
--   - each award's answer was campaign_claim_json(), a query per award
--     reading back the campaign_claims rows just written: it is now built
--     from those rows as they are written (INSERT ... RETURNING), the same
--     JSON (campaign_claim_json() stays for repeats);
--   - the points of each claim a campaign applied to, a loop of array
--     assignments, is one statement;
--   - the product of a claim's multipliers (exp of the sum of their
--     logarithms: numeric has no product aggregate; an ln and an exp of a
--     numeric cost microseconds each) is taken without logarithms when at
--     most one of them is not 1, nearly always: it is then that one (every
--     multiplier is >= 1), to the same 4 places.
-- claim_many of 028_redpackets.sql otherwise unchanged, with its SET clauses.

ALTER FUNCTION campaign_hmac(bytea, bytea, text) STABLE;

ALTER FUNCTION red_packet_amount(bigint, bigint, bytea, bytea, bigint) STABLE;

-- The campaigns that match each going claim of a claim_many call (p_going
-- false: not a claim a campaign can apply to): the campaigns going of each
-- print run of the call first (a call's claims are of a few print runs),
-- then each claim's region. One row per (claim, campaign): the claim's
-- index and member, the campaign, its daily limit, multiplier and bonus,
-- and whether it draws prizes. A SQL function of one query, which the
-- planner inlines into the query that calls it; what 021's campaign_apply
-- matched with a join per claim.
CREATE FUNCTION campaign_matches(p_batches bigint[], p_members text[], p_regions text[],
                                 p_going boolean[], p_t timestamptz)
RETURNS TABLE (i integer, m text, c bigint, lim integer, mult numeric, bonus integer,
               d boolean)
LANGUAGE sql STABLE AS $$
    SELECT u.i::integer, u.m, bc.c, bc.lim, bc.mult, bc.bonus, bc.d
      FROM unnest(p_batches, p_members, p_regions, p_going) WITH ORDINALITY AS u(b, m, rg, g, i)
      JOIN (SELECT y.b, c.id AS c, c.daily_limit AS lim, c.regions, c.multiplier AS mult,
                   c.bonus, EXISTS (SELECT 1 FROM campaign_prizes z WHERE z.campaign_id = c.id) AS d
              FROM (SELECT DISTINCT x.b FROM unnest(p_batches) AS x(b)) y
              JOIN batches bt ON bt.id = y.b
              JOIN products pr ON pr.sku = bt.product_sku
              JOIN brands br ON br.name = pr.brand
              JOIN campaigns c ON c.brand_id = br.id AND c.ended_at IS NULL
                              AND p_t >= c.starts_at AND p_t < c.ends_at
             WHERE (c.skus IS NULL AND c.batch_ids IS NULL)
                OR bt.product_sku = ANY (c.skus) OR y.b = ANY (c.batch_ids)) bc
        ON bc.b = u.b
     WHERE u.g
       AND (bc.regions IS NULL OR u.rg = ANY (bc.regions)
            OR split_part(u.rg, '-', 1) = ANY (bc.regions))
$$;

-- campaign_apply of 021, with its outcome as arrays in (claim, campaign)
-- order rather than rows that claim_many aggregated again, the matching of
-- campaign_matches, and each campaign's row read once. What it counts and
-- returns is 021's. claim_many calls it only when a campaign going has a
-- daily limit or counts claims (a first claim's bonus, a ladder); else what
-- matched is what applies, and claim_many takes it from campaign_matches.
DROP FUNCTION campaign_apply(bigint[], bigint[], text[], text[], boolean[], timestamptz);
CREATE FUNCTION campaign_apply(p_serials bigint[], p_batches bigint[], p_members text[],
                               p_regions text[], p_going boolean[], p_t timestamptz,
                               OUT i integer[], OUT campaign bigint[], OUT mult numeric[],
                               OUT bonus integer[], OUT draws boolean[], OUT limited boolean[],
                               OUT counted bigint[])
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_day date := (p_t AT TIME ZONE 'UTC')::date;
    a_i integer[];
    a_m text[];
    a_c bigint[];
    a_rk integer[];
    a_lim integer[];
    l_c bigint[];
    l_m text[];
    l_before bigint[];
    c_i integer[];
    c_b bigint[];
    c_before bigint[];
    b_m text[];
    b_b bigint[];
    b_before bigint[];
    counting boolean;
BEGIN
    -- the matches, and each one's rank among its member's claims of this call
    SELECT array_agg(x.i ORDER BY x.i, x.c), array_agg(x.m ORDER BY x.i, x.c),
           array_agg(x.c ORDER BY x.i, x.c), array_agg(x.rk ORDER BY x.i, x.c),
           array_agg(x.lim ORDER BY x.i, x.c)
      INTO a_i, a_m, a_c, a_rk, a_lim
      FROM (SELECT cm.i, cm.m, cm.c, cm.lim,
                   row_number() OVER (PARTITION BY cm.c, cm.m ORDER BY cm.i)::integer AS rk
              FROM campaign_matches(p_batches, p_members, p_regions, p_going, p_t) cm) x;
    counting := EXISTS (SELECT 1 FROM campaigns c
                         WHERE c.ended_at IS NULL AND c.ends_at > p_t
                           AND (c.first_bonus > 0 OR c.ladder_every IS NOT NULL));

    -- the daily limits: each member's claims of this call counted in, in order
    IF a_lim IS NOT NULL AND EXISTS (SELECT 1 FROM unnest(a_lim) l WHERE l IS NOT NULL) THEN
        WITH n AS (SELECT x.c, x.m, count(*) AS n
                     FROM unnest(a_c, a_m, a_lim) AS x(c, m, lim)
                    WHERE x.lim IS NOT NULL GROUP BY x.c, x.m),
        up AS (INSERT INTO campaign_member_days AS d (campaign_id, member, day, claims)
               SELECT n.c, n.m, v_day, n.n FROM n ORDER BY n.c, n.m
               ON CONFLICT (campaign_id, member, day) DO UPDATE SET claims = d.claims + excluded.claims
               RETURNING d.campaign_id, d.member, d.claims)
        SELECT array_agg(up.campaign_id), array_agg(up.member), array_agg(up.claims - n.n)
          INTO l_c, l_m, l_before
          FROM up JOIN n ON n.c = up.campaign_id AND n.m = up.member;
        -- what the limit refused is not counted: claims is what the campaign applied to
        UPDATE campaign_member_days d
           SET claims = d.claims - (x.n - greatest(0, least(x.n, x.lim - x.before)))
          FROM (SELECT l.c, l.m, l.before, n.n, c.daily_limit AS lim
                  FROM unnest(l_c, l_m, l_before) AS l(c, m, before)
                  JOIN campaigns c ON c.id = l.c
                  JOIN (SELECT y.c, y.m, count(*) AS n FROM unnest(a_c, a_m) AS y(c, m)
                         GROUP BY y.c, y.m) n ON n.c = l.c AND n.m = l.m
                 WHERE l.before + n.n > c.daily_limit) x
         WHERE d.campaign_id = x.c AND d.member = x.m AND d.day = v_day;
    END IF;

    -- the brand counts: every going claim of a brand with a counting campaign
    IF counting THEN
        SELECT array_agg(x.i ORDER BY x.i), array_agg(x.b ORDER BY x.i) INTO c_i, c_b
          FROM (SELECT u.i::integer AS i, br.id AS b
                  FROM unnest(p_batches, p_going) WITH ORDINALITY AS u(b, g, i)
                  JOIN batches bt ON bt.id = u.b
                  JOIN products pr ON pr.sku = bt.product_sku
                  JOIN brands br ON br.name = pr.brand
                 WHERE u.g AND EXISTS (SELECT 1 FROM campaigns c
                                        WHERE c.brand_id = br.id AND c.ended_at IS NULL
                                          AND c.ends_at > p_t
                                          AND (c.first_bonus > 0 OR c.ladder_every IS NOT NULL))) x;
        IF c_i IS NOT NULL THEN
            WITH n AS (SELECT p_members[x.i] AS m, x.b, count(*) AS n
                         FROM unnest(c_i, c_b) AS x(i, b) GROUP BY 1, 2),
            up AS (INSERT INTO member_brand_claims AS mb (member, brand_id, claims)
                   SELECT n.m, n.b, n.n FROM n ORDER BY n.m, n.b
                   ON CONFLICT (member, brand_id) DO UPDATE SET claims = mb.claims + excluded.claims
                   RETURNING mb.member, mb.brand_id, mb.claims)
            SELECT array_agg(up.member), array_agg(up.brand_id), array_agg(up.claims - n.n)
              INTO b_m, b_b, b_before
              FROM up JOIN n ON n.m = up.member AND n.b = up.brand_id;
            -- each claim's count before it: the call's earlier claims of its member and brand
            SELECT array_agg(y.before + y.rk - 1 ORDER BY y.i) INTO c_before
              FROM (SELECT x.i, bb.before,
                           row_number() OVER (PARTITION BY p_members[x.i], x.b ORDER BY x.i) AS rk
                      FROM unnest(c_i, c_b) AS x(i, b)
                      JOIN unnest(b_m, b_b, b_before) AS bb(m, b, before)
                        ON bb.m = p_members[x.i] AND bb.b = x.b) y;
        END IF;
    END IF;

    IF a_i IS NULL AND c_i IS NULL THEN
        RETURN;
    END IF;
    WITH ok AS (
            SELECT p.i, p.c, p.lim IS NOT NULL AS limited
              FROM unnest(a_i, a_m, a_c, a_rk, a_lim) AS p(i, m, c, rk, lim)
              LEFT JOIN unnest(l_c, l_m, l_before) AS l(c, m, before)
                ON l.c = p.c AND l.m = p.m
             WHERE p.lim IS NULL OR l.before + p.rk <= p.lim),
        cnt AS (SELECT * FROM unnest(c_i, c_b, c_before) AS q(i, b, before)),
        cs AS (SELECT c.*, EXISTS (SELECT 1 FROM campaign_prizes z WHERE z.campaign_id = c.id) AS d
                 FROM campaigns c WHERE c.id = ANY (ARRAY(SELECT DISTINCT ok.c FROM ok))),
        r AS (
            SELECT coalesce(ok.i, cnt.i) AS i, cs.id AS c, cs.multiplier AS mult,
                   cs.bonus
                   + CASE WHEN cs.first_bonus > 0 AND cnt.before = 0 THEN cs.first_bonus ELSE 0 END
                   + CASE WHEN cs.ladder_every IS NOT NULL AND (cnt.before + 1) % cs.ladder_every = 0
                          THEN cs.ladder_bonus ELSE 0 END AS bonus,
                   coalesce(cs.d, false) AS draws, coalesce(ok.limited, false) AS limited,
                   cnt.b AS counted
              FROM ok FULL JOIN cnt ON cnt.i = ok.i
              LEFT JOIN cs ON cs.id = ok.c)
    SELECT array_agg(r.i ORDER BY r.i, r.c), array_agg(r.c ORDER BY r.i, r.c),
           array_agg(r.mult ORDER BY r.i, r.c), array_agg(r.bonus ORDER BY r.i, r.c),
           array_agg(r.draws ORDER BY r.i, r.c), array_agg(r.limited ORDER BY r.i, r.c),
           array_agg(r.counted ORDER BY r.i, r.c)
      INTO i, campaign, mult, bonus, draws, limited, counted
      FROM r;
END $$;

CREATE OR REPLACE FUNCTION claim_many(p_serials bigint[], p_batches bigint[], p_members text[],
                                      p_pins smallint[], p_clients inet[] DEFAULT NULL,
                           p_regions text[] DEFAULT NULL)
RETURNS TABLE (ord integer, outcome text, points integer, balance bigint,
               claimed_at timestamptz, retry_after integer, campaign jsonb)
LANGUAGE plpgsql SET enable_seqscan = off SET jit = off AS $$
DECLARE
    n integer := coalesce(cardinality(p_serials), 0);
    t timestamptz := now();
    o_outcome text[];
    o_points integer[];
    o_balance bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    o_at timestamptz[] := array_fill(NULL::timestamptz, ARRAY[n]);
    o_retry integer[] := array_fill(NULL::integer, ARRAY[n]);
    clients inet[] := coalesce(p_clients, array_fill(NULL::inet, ARRAY[n]));
    dist boolean := packcode_distributed();
    today date := (now() AT TIME ZONE 'UTC')::date;
    b_rows batches[];
    b_ids bigint[];
    b_points integer[];
    b_brands text[];
    o_k integer[];
    st_serials bigint[];
    st_states text[];
    regions text[] := coalesce(p_regions, array_fill(NULL::text, ARRAY[n]));
    base integer[];
    o_campaign jsonb[] := array_fill(NULL::jsonb, ARRAY[n]);
    k_i integer[];
    k_c bigint[];
    k_mult numeric[];
    k_bonus integer[];
    k_draws boolean[];
    k_lim boolean[];
    k_cnt bigint[];
    going boolean[];
    w_i integer[] := '{}';
    w_c bigint[] := '{}';
    w_t integer[] := '{}';
    rp_i integer[];
    rp_c bigint[];
    rp_a bigint[];
    left_ integer;
    got integer;
    won bigint[];
    prev bigint;
    bal bigint;
    k integer;
    own record;
    pol record;
    forgotten timestamptz;
    m_until timestamptz;
    a_until timestamptz;
    a_last timestamptz;
    fc integer;
    fm integer;
    fa integer;
    wait interval;
    r record;
    f record;
BEGIN
    IF coalesce(cardinality(p_batches), 0) <> n OR coalesce(cardinality(p_members), 0) <> n
       OR coalesce(cardinality(p_pins), 0) <> n OR coalesce(cardinality(clients), 0) <> n
       OR coalesce(cardinality(regions), 0) <> n THEN
        RAISE EXCEPTION 'claim_many: arrays of different lengths' USING ERRCODE = '22023';
    END IF;
    IF n = 0 THEN
        RETURN;
    END IF;
    -- 1. Each claim against its batch (batches and products are the
    -- coordinator's own tables) and the supply chain's state of its code
    -- (claim_supply_refusals of 013_supply.sql, inline); NULL means "go on",
    -- 'pin' "check the throttle". The call's print runs are read once, each
    -- by its primary key (one row per distinct batch), into b_rows; every
    -- later step takes its batch from there, not from the table.
    SELECT array_agg(bt ORDER BY bt.id), array_agg(pr.points ORDER BY bt.id),
           array_agg(pr.brand ORDER BY bt.id)
      INTO b_rows, b_points, b_brands
      FROM (SELECT DISTINCT x.b FROM unnest(p_batches) AS x(b) WHERE x.b IS NOT NULL) d
      JOIN LATERAL (SELECT * FROM batches bt WHERE bt.id = d.b) bt ON true
      JOIN products pr ON pr.sku = bt.product_sku;
    b_ids := ARRAY(SELECT x.id FROM unnest(b_rows) AS x);
    SELECT array_agg(x.serial), array_agg(x.state) INTO st_serials, st_states
      FROM code_states x WHERE x.serial = ANY (p_serials);
    SELECT array_agg(CASE WHEN j.k IS NULL THEN 'not_genuine'
                          WHEN (j.bt).status = 'recalled' THEN 'recalled'
                          WHEN (j.bt).status NOT IN ('active', 'expired') THEN 'void_batch'
                          WHEN st_serials IS NOT NULL AND j.s = ANY (st_serials)
                              THEN st_states[array_position(st_serials, j.s)]
                          WHEN (j.bt).inactive AND NOT EXISTS (
                                  SELECT 1 FROM batch_activations a
                                   WHERE a.batch_id = (j.bt).id AND j.s BETWEEN a.serial_first
                                                                    AND a.serial_last)
                              THEN 'inactive'
                          WHEN (j.bt).status = 'expired' OR (j.bt).expiry < today THEN 'expired'
                          WHEN (j.bt).pin_required AND j.p = 0 THEN 'pin_required'
                          WHEN (j.bt).pin_required THEN 'pin' END ORDER BY j.i),
           array_agg(b_points[j.k] ORDER BY j.i), array_agg(j.k ORDER BY j.i)
      INTO o_outcome, o_points, o_k
      FROM (SELECT u.i, u.s, u.p, y.k, b_rows[y.k] AS bt
              FROM unnest(p_serials, p_batches, p_pins) WITH ORDINALITY AS u(s, b, p, i)
              LEFT JOIN LATERAL (SELECT array_position(b_ids, u.b) AS k) z ON true
              LEFT JOIN LATERAL (SELECT z.k WHERE u.s BETWEEN (b_rows[z.k]).serial_first
                                                          AND (b_rows[z.k]).serial_last) y ON true) j;

    -- 2. PINs, with backoff per code, address and member (007_consumer.sql),
    -- as in 010_citus.sql.
    IF 'pin' = ANY (o_outcome) THEN
        SELECT * INTO pol FROM pin_backoff_policy();
        forgotten := t - pol.forget;
        FOR r IN
            SELECT u.i::integer AS i, u.p, 'member:' || u.m AS ms, pin_backoff_addr(u.c) AS ads
              FROM unnest(p_pins, p_members, clients) WITH ORDINALITY AS u(p, m, c, i)
             WHERE o_outcome[u.i] = 'pin' LOOP
            SELECT b.blocked_until INTO m_until FROM pin_backoff b WHERE b.subject = r.ms;
            a_until := NULL;
            a_last := NULL;
            IF r.ads IS NOT NULL THEN
                SELECT b.blocked_until, b.last_failure INTO a_until, a_last
                  FROM pin_backoff b WHERE b.subject = r.ads;
            END IF;
            IF a_until > t THEN
                o_outcome[r.i] := 'throttled';
                o_retry[r.i] := ceil(extract(epoch FROM a_until - t))::integer;
            ELSIF m_until > t AND a_last > forgotten THEN
                o_outcome[r.i] := 'throttled';
                o_retry[r.i] := ceil(extract(epoch FROM m_until - t))::integer;
            ELSIF r.p = 2 THEN
                o_outcome[r.i] := 'pin_wrong';
            ELSE
                o_outcome[r.i] := NULL;
            END IF;
        END LOOP;

        IF 'pin_wrong' = ANY (o_outcome) THEN
            IF dist THEN
                FOR f IN
                    SELECT x.subject, count(*) AS n
                      FROM (SELECT 'code:' || u.s AS subject
                              FROM unnest(p_serials) WITH ORDINALITY AS u(s, i)
                             WHERE o_outcome[u.i] = 'pin_wrong'
                            UNION ALL
                            SELECT 'member:' || u.m FROM unnest(p_members) WITH ORDINALITY AS u(m, i)
                             WHERE o_outcome[u.i] = 'pin_wrong'
                            UNION ALL
                            SELECT pin_backoff_addr(u.c) FROM unnest(clients) WITH ORDINALITY AS u(c, i)
                             WHERE o_outcome[u.i] = 'pin_wrong' AND u.c IS NOT NULL) x
                     GROUP BY x.subject
                     ORDER BY x.subject LOOP
                    INSERT INTO pin_backoff AS b (subject, failures, last_failure, blocked_until)
                    VALUES (f.subject, f.n, t, t)
                    ON CONFLICT (subject) DO UPDATE SET
                        failures = CASE WHEN b.last_failure < forgotten THEN excluded.failures
                                        ELSE b.failures + excluded.failures END,
                        last_failure = t;
                END LOOP;
            ELSE
                INSERT INTO pin_backoff AS b (subject, failures, last_failure, blocked_until)
                SELECT x.subject, count(*), now(), now()
                  FROM (SELECT 'code:' || u.s AS subject
                          FROM unnest(p_serials) WITH ORDINALITY AS u(s, i)
                         WHERE o_outcome[u.i] = 'pin_wrong'
                        UNION ALL
                        SELECT 'member:' || u.m FROM unnest(p_members) WITH ORDINALITY AS u(m, i)
                         WHERE o_outcome[u.i] = 'pin_wrong'
                        UNION ALL
                        SELECT pin_backoff_addr(u.c) FROM unnest(clients) WITH ORDINALITY AS u(c, i)
                         WHERE o_outcome[u.i] = 'pin_wrong' AND u.c IS NOT NULL) x
                 GROUP BY x.subject
                 ORDER BY x.subject
                ON CONFLICT (subject) DO UPDATE SET
                    failures = CASE WHEN b.last_failure < now() - pol.forget THEN excluded.failures
                                    ELSE b.failures + excluded.failures END,
                    last_failure = now();
            END IF;
            FOR r IN
                SELECT u.i::integer AS i, 'code:' || u.s AS cs, 'member:' || u.m AS ms,
                       pin_backoff_addr(u.c) AS ads
                  FROM unnest(p_serials, p_members, clients) WITH ORDINALITY AS u(s, m, c, i)
                 WHERE o_outcome[u.i] = 'pin_wrong' LOOP
                SELECT b.failures INTO fc FROM pin_backoff b WHERE b.subject = r.cs;
                SELECT b.failures INTO fm FROM pin_backoff b WHERE b.subject = r.ms;
                fa := 0;
                IF r.ads IS NOT NULL THEN
                    SELECT b.failures INTO fa FROM pin_backoff b WHERE b.subject = r.ads;
                END IF;
                wait := pin_backoff_wait(greatest(fc, fm, coalesce(fa, 0)));
                IF wait > interval '0' THEN
                    m_until := t + wait;
                    UPDATE pin_backoff b SET blocked_until = greatest(b.blocked_until, m_until)
                     WHERE b.subject = r.ms;
                    IF r.ads IS NOT NULL THEN
                        UPDATE pin_backoff b SET blocked_until = greatest(b.blocked_until, m_until)
                         WHERE b.subject = r.ads;
                    END IF;
                    o_retry[r.i] := ceil(extract(epoch FROM wait))::integer;
                END IF;
            END LOOP;
        END IF;
    END IF;

    -- 3. Campaigns (021_campaigns.sql): the ones that apply to each claim
    -- still going, their daily and brand counts taken; its points.
    base := o_points;
    IF array_position(o_outcome, NULL) IS NOT NULL
       AND EXISTS (SELECT 1 FROM campaigns c WHERE c.ended_at IS NULL AND c.ends_at > t
                                               AND c.starts_at <= t) THEN
        going := ARRAY(SELECT o_outcome[u.i] IS NULL FROM generate_subscripts(p_serials, 1) AS u(i)
                        ORDER BY u.i);
        IF EXISTS (SELECT 1 FROM campaigns c
                    WHERE c.ended_at IS NULL AND c.ends_at > t
                      AND (c.daily_limit IS NOT NULL OR c.first_bonus > 0
                           OR c.ladder_every IS NOT NULL)) THEN
            SELECT x.i, x.campaign, x.mult, x.bonus, x.draws, x.limited, x.counted
              INTO k_i, k_c, k_mult, k_bonus, k_draws, k_lim, k_cnt
              FROM campaign_apply(p_serials, p_batches, p_members, regions, going, t) x;
        ELSE
            -- nearly always: nothing to count, what matches applies
            SELECT array_agg(x.i ORDER BY x.i, x.c), array_agg(x.c ORDER BY x.i, x.c),
                   array_agg(x.mult ORDER BY x.i, x.c), array_agg(x.bonus ORDER BY x.i, x.c),
                   array_agg(x.d ORDER BY x.i, x.c)
              INTO k_i, k_c, k_mult, k_bonus, k_draws
              FROM campaign_matches(p_batches, p_members, regions, going, t) x;
            IF k_i IS NOT NULL THEN
                k_lim := array_fill(false, ARRAY[cardinality(k_i)]);
                k_cnt := array_fill(NULL::bigint, ARRAY[cardinality(k_i)]);
            END IF;
        END IF;
        IF k_i IS NOT NULL THEN
            SELECT array_agg(coalesce(floor(base[u.i] * g.mult)::integer + g.bonus, base[u.i])
                             ORDER BY u.i)
              INTO o_points
              FROM generate_subscripts(p_serials, 1) AS u(i)
              LEFT JOIN (SELECT x.i, CASE WHEN count(*) FILTER (WHERE x.mult <> 1) <= 1
                                           THEN round(max(x.mult), 4)
                                           ELSE round(exp(sum(ln(x.mult))), 4) END AS mult,
                                      sum(x.b)::integer AS bonus
                           FROM unnest(k_i, k_c, k_mult, k_bonus) AS x(i, c, mult, b)
                          WHERE x.c IS NOT NULL GROUP BY x.i) g ON g.i = u.i;
        END IF;
    END IF;

    IF NOT dist THEN
        -- A single PostgreSQL: steps 3 and 4 as in 002_server.sql.
        WITH ins AS (
            INSERT INTO redemptions AS rd (serial, batch_id, member, points)
            SELECT DISTINCT ON (u.s) u.s, u.b, u.m, o_points[u.i]
              FROM unnest(p_serials, p_batches, p_members) WITH ORDINALITY AS u(s, b, m, i)
             WHERE o_outcome[u.i] IS NULL
             ORDER BY u.s, u.i
            ON CONFLICT (serial) DO NOTHING
            RETURNING rd.serial)
        SELECT array_agg(ins.serial) INTO won FROM ins;
        FOR r IN SELECT u.i::integer AS i, u.s
                   FROM unnest(p_serials) WITH ORDINALITY AS u(s, i)
                  WHERE o_outcome[u.i] IS NULL
                  ORDER BY u.s, u.i LOOP
            IF r.s IS DISTINCT FROM prev AND r.s = ANY (won) THEN
                o_outcome[r.i] := 'awarded';
                o_at[r.i] := now();
            END IF;
            prev := r.s;
        END LOOP;
        FOR r IN SELECT u.i::integer AS i, u.m,
                        (SELECT rd FROM redemptions rd WHERE rd.serial = u.s) AS rd
                   FROM unnest(p_serials, p_members) WITH ORDINALITY AS u(s, m, i)
                  WHERE o_outcome[u.i] IS NULL LOOP
            o_outcome[r.i] := CASE WHEN (r.rd).member = r.m THEN 'repeat' ELSE 'claimed' END;
            o_points[r.i] := CASE WHEN (r.rd).member = r.m THEN (r.rd).points END;
            o_at[r.i] := (r.rd).claimed_at;
        END LOOP;

        FOR r IN
            WITH a AS (
                SELECT u.i::integer AS i, u.m, u.s, o_points[u.i] AS pts
                  FROM unnest(p_members, p_serials) WITH ORDINALITY AS u(m, s, i)
                 WHERE o_outcome[u.i] = 'awarded'),
            up AS (
                INSERT INTO members AS mb (member, balance)
                SELECT a.m, sum(a.pts) FROM a GROUP BY a.m ORDER BY a.m
                ON CONFLICT (member) DO UPDATE SET balance = mb.balance + excluded.balance
                RETURNING mb.member, mb.balance),
            rows AS (
                SELECT a.i, a.m, a.s, a.pts,
                       up.balance - coalesce(sum(a.pts) OVER (PARTITION BY a.m ORDER BY a.i
                                       ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING), 0) AS after
                  FROM a JOIN up ON up.member = a.m),
            lg AS (
                INSERT INTO ledger (member, delta, balance_after, kind, serial)
                SELECT rows.m, rows.pts, rows.after, 'claim', rows.s FROM rows ORDER BY rows.m, rows.i)
            SELECT rows.i, rows.after FROM rows LOOP
            o_balance[r.i] := r.after;
        END LOOP;
        FOR r IN SELECT u.i::integer AS i,
                        (SELECT mb.balance FROM members mb WHERE mb.member = u.m) AS balance
                   FROM unnest(p_members) WITH ORDINALITY AS u(m, i)
                  WHERE o_outcome[u.i] = 'repeat' LOOP
            o_balance[r.i] := r.balance;
        END LOOP;
    ELSE
        -- Citus: one statement per row, as in 010_citus.sql.
        FOR r IN SELECT u.i::integer AS i, u.s, u.b, u.m
                   FROM unnest(p_serials, p_batches, p_members) WITH ORDINALITY AS u(s, b, m, i)
                  WHERE o_outcome[u.i] IS NULL
                  ORDER BY u.s, u.i LOOP
            IF r.s IS DISTINCT FROM prev THEN
                prev := r.s;
                INSERT INTO redemptions (serial, batch_id, member, points, claimed_at)
                VALUES (r.s, r.b, r.m, o_points[r.i], t)
                ON CONFLICT (serial) DO NOTHING;
                IF FOUND THEN
                    o_outcome[r.i] := 'awarded';
                    o_at[r.i] := t;
                    CONTINUE;
                END IF;
            END IF;
            SELECT x.member, x.points, x.claimed_at INTO own FROM redemptions x WHERE x.serial = r.s;
            o_outcome[r.i] := CASE WHEN own.member = r.m THEN 'repeat' ELSE 'claimed' END;
            o_points[r.i] := CASE WHEN own.member = r.m THEN own.points END;
            o_at[r.i] := own.claimed_at;
        END LOOP;

        FOR r IN SELECT u.m, sum(o_points[u.i]) AS pts, array_agg(u.i::integer ORDER BY u.i) AS idx
                   FROM unnest(p_members) WITH ORDINALITY AS u(m, i)
                  WHERE o_outcome[u.i] = 'awarded'
                  GROUP BY u.m ORDER BY u.m LOOP
            INSERT INTO members AS mb (member, balance) VALUES (r.m, r.pts)
            ON CONFLICT (member) DO UPDATE SET balance = mb.balance + excluded.balance
            RETURNING mb.balance INTO bal;
            bal := bal - r.pts;
            FOREACH k IN ARRAY r.idx LOOP
                bal := bal + o_points[k];
                o_balance[k] := bal;
                INSERT INTO ledger (member, delta, balance_after, kind, serial, created_at)
                VALUES (r.m, o_points[k], bal, 'claim', p_serials[k], t);
            END LOOP;
        END LOOP;
        FOR r IN SELECT u.i::integer AS i, u.m
                   FROM unnest(p_members) WITH ORDINALITY AS u(m, i)
                  WHERE o_outcome[u.i] = 'repeat' LOOP
            SELECT x.balance INTO bal FROM members x WHERE x.member = r.m;
            o_balance[r.i] := bal;
        END LOOP;
    END IF;

    -- 4b. Campaigns, after the redemptions: the counts of a claim not
    -- awarded after all given back; the prizes drawn for each award
    -- (HMAC-SHA256 of its serial under the campaign's secret) and given while
    -- some remain, each tier's row locked in (campaign, tier) order; what
    -- applied written beside the redemption (campaign_claims).
    IF k_i IS NOT NULL THEN
        IF EXISTS (SELECT 1 FROM unnest(k_i) AS x(i) WHERE o_outcome[x.i] IS DISTINCT FROM 'awarded') THEN
            UPDATE campaign_member_days d SET claims = d.claims - x.n
              FROM (SELECT y.c, p_members[y.i] AS m, count(*) AS n
                      FROM unnest(k_i, k_c, k_lim) AS y(i, c, l)
                     WHERE y.l AND o_outcome[y.i] IS DISTINCT FROM 'awarded' GROUP BY 1, 2) x
             WHERE d.campaign_id = x.c AND d.member = x.m AND d.day = (t AT TIME ZONE 'UTC')::date;
            UPDATE member_brand_claims mb SET claims = mb.claims - x.n
              FROM (SELECT p_members[y.i] AS m, y.b, count(DISTINCT y.i) AS n
                      FROM unnest(k_i, k_cnt) AS y(i, b)
                     WHERE y.b IS NOT NULL AND o_outcome[y.i] IS DISTINCT FROM 'awarded'
                     GROUP BY 1, 2) x
             WHERE mb.member = x.m AND mb.brand_id = x.b;
        END IF;
        FOR f IN
            WITH keys AS (
                SELECT c.id, c.k_ipad, c.k_opad FROM campaigns c
                 WHERE c.id = ANY (ARRAY(SELECT DISTINCT x.c FROM unnest(k_c, k_draws) AS x(c, d)
                                          WHERE x.d))),
            d AS (
                SELECT x.i, x.c, campaign_draw_value(
                                     campaign_hmac(k.k_ipad, k.k_opad, p_serials[x.i]::text)) AS v
                  FROM unnest(k_i, k_c, k_draws) AS x(i, c, d)
                  JOIN keys k ON k.id = x.c
                 WHERE x.d AND o_outcome[x.i] = 'awarded'),
            tiers AS (
                SELECT p.campaign_id AS c, p.tier,
                       sum(p.ppm) OVER (PARTITION BY p.campaign_id ORDER BY p.tier) AS cum
                  FROM campaign_prizes p
                 WHERE p.campaign_id = ANY (ARRAY(SELECT DISTINCT d.c FROM d)))
            SELECT y.c, y.tier, count(*)::integer AS n, array_agg(y.i ORDER BY y.i) AS idx
              FROM (SELECT d.i, d.c, (SELECT min(tiers.tier) FROM tiers
                                       WHERE tiers.c = d.c
                                         AND d.v * 1000000 < tiers.cum * 4294967296) AS tier
                      FROM d) y
             WHERE y.tier IS NOT NULL
             GROUP BY y.c, y.tier ORDER BY y.c, y.tier LOOP
            SELECT p.remaining INTO left_ FROM campaign_prizes p
             WHERE p.campaign_id = f.c AND p.tier = f.tier FOR UPDATE;
            got := least(left_, f.n);
            IF got > 0 THEN
                UPDATE campaign_prizes p SET remaining = p.remaining - got
                 WHERE p.campaign_id = f.c AND p.tier = f.tier;
                w_i := w_i || f.idx[1:got];
                w_c := w_c || array_fill(f.c, ARRAY[got]);
                w_t := w_t || array_fill(f.tier, ARRAY[got]);
            END IF;
        END LOOP;
        -- 4c. Red packets (028_redpackets.sql): each award of a campaign with
        -- one gets its amount while the member's caps and the budget allow it.
        IF EXISTS (SELECT 1 FROM campaign_red_packets rp
                    WHERE rp.campaign_id = ANY (k_c) AND rp.budget_left > 0) THEN
            SELECT array_agg(z.i), array_agg(z.campaign), array_agg(z.amount)
              INTO rp_i, rp_c, rp_a
              FROM red_packet_apply(p_serials, p_members,
                                    ARRAY(SELECT x.i FROM unnest(k_i, k_c) AS x(i, c)
                                           WHERE x.c IS NOT NULL AND o_outcome[x.i] = 'awarded'
                                           ORDER BY x.c, x.i),
                                    ARRAY(SELECT x.c FROM unnest(k_i, k_c) AS x(i, c)
                                           WHERE x.c IS NOT NULL AND o_outcome[x.i] = 'awarded'
                                           ORDER BY x.c, x.i), t) z;
        END IF;
        -- each award's answer (campaign_claim_json's, from the rows just written)
        WITH ins AS (
            INSERT INTO campaign_claims AS cc (serial, campaign_id, member, multiplier, bonus,
                                               prize_tier, claimed_at, red_packet)
            SELECT p_serials[x.i], x.c, p_members[x.i], x.mult, x.b, w.wt, t, rp.a
              FROM unnest(k_i, k_c, k_mult, k_bonus) AS x(i, c, mult, b)
              LEFT JOIN unnest(w_i, w_c, w_t) AS w(wi, wc, wt) ON w.wi = x.i AND w.wc = x.c
              LEFT JOIN unnest(rp_i, rp_c, rp_a) AS rp(i, c, a) ON rp.i = x.i AND rp.c = x.c
             WHERE x.c IS NOT NULL AND o_outcome[x.i] = 'awarded'
             ORDER BY p_serials[x.i], x.c
            RETURNING cc.serial, cc.campaign_id, cc.multiplier, cc.bonus, cc.prize_tier,
                      cc.red_packet),
        js AS (
            SELECT ins.serial, jsonb_build_object(
                       'multiplier', CASE WHEN count(*) FILTER (WHERE ins.multiplier <> 1) <= 1
                                         THEN round(max(ins.multiplier), 4)
                                         ELSE round(exp(sum(ln(ins.multiplier))), 4) END,
                       'bonus', sum(ins.bonus),
                       'campaigns', jsonb_agg(ins.campaign_id ORDER BY ins.campaign_id),
                       -- a prize's name and a red packet's currency read only
                       -- for the rows that have one (FILTER comes first)
                       'prizes', jsonb_agg(jsonb_build_object(
                                     'campaign', ins.campaign_id, 'tier', ins.prize_tier,
                                     'name', (SELECT p.name FROM campaign_prizes p
                                               WHERE p.campaign_id = ins.campaign_id
                                                 AND p.tier = ins.prize_tier))
                                           ORDER BY ins.campaign_id)
                                 FILTER (WHERE ins.prize_tier IS NOT NULL),
                       'red_packets', jsonb_agg(jsonb_build_object(
                                          'campaign', ins.campaign_id, 'amount', ins.red_packet,
                                          'currency', (SELECT rp.currency FROM campaign_red_packets rp
                                                        WHERE rp.campaign_id = ins.campaign_id))
                                                ORDER BY ins.campaign_id)
                                      FILTER (WHERE ins.red_packet IS NOT NULL)) AS j
              FROM ins
             GROUP BY ins.serial)
        SELECT array_agg(CASE WHEN js.j IS NOT NULL
                              THEN jsonb_strip_nulls(js.j || jsonb_build_object('base_points', base[u.i]))
                         END ORDER BY u.i)
          INTO o_campaign
          FROM generate_subscripts(p_serials, 1) AS u(i)
          LEFT JOIN js ON o_outcome[u.i] = 'awarded' AND js.serial = p_serials[u.i];
        -- the prizes won, told (prize.won)
        IF cardinality(w_i) > 0 AND webhook_wanted('prize.won') THEN
            PERFORM webhook_emit('prize.won', e.subjects, e.brands, e.data)
               FROM (SELECT array_agg('member:' || p_members[w.wi] ORDER BY w.wi, w.wc) AS subjects,
                            array_agg(b_brands[o_k[w.wi]] ORDER BY w.wi, w.wc) AS brands,
                            array_agg(jsonb_build_object(
                                          'member', p_members[w.wi], 'serial', p_serials[w.wi],
                                          'campaign', w.wc, 'tier', w.wt, 'prize', p.name,
                                          'claimed_at', webhook_time(t))
                                      ORDER BY w.wi, w.wc) AS data
                       FROM unnest(w_i, w_c, w_t) AS w(wi, wc, wt)
                       JOIN campaign_prizes p ON p.campaign_id = w.wc AND p.tier = w.wt) e;
        END IF;
    END IF;
    IF 'repeat' = ANY (o_outcome) AND EXISTS (SELECT 1 FROM campaigns) THEN
        FOR r IN SELECT u.i::integer AS i FROM unnest(o_outcome) WITH ORDINALITY AS u(o, i)
                  WHERE u.o = 'repeat' LOOP
            o_campaign[r.i] := campaign_claim_json(p_serials[r.i], NULL);
        END LOOP;
    END IF;

    -- 5. The outbox (009_webhooks.sql), as in 010_citus.sql.
    IF 'awarded' = ANY (o_outcome) AND webhook_wanted('claim.awarded') THEN
        PERFORM webhook_emit('claim.awarded', e.subjects, e.brands, e.data)
           FROM (SELECT array_agg('member:' || u.m ORDER BY u.m, u.i) AS subjects,
                        array_agg(x.brand ORDER BY u.m, u.i) AS brands,
                        array_agg(jsonb_build_object(
                                      'member', u.m, 'serial', u.s, 'batch', u.b,
                                      'sku', x.sku, 'points', o_points[u.i],
                                      'balance', o_balance[u.i],
                                      'claimed_at', webhook_time(o_at[u.i]))
                                  ORDER BY u.m, u.i) AS data
                   FROM unnest(p_serials, p_batches, p_members) WITH ORDINALITY AS u(s, b, m, i)
                   CROSS JOIN LATERAL (SELECT (b_rows[o_k[u.i]]).product_sku AS sku,
                                              b_brands[o_k[u.i]] AS brand) x
                  WHERE o_outcome[u.i] = 'awarded') e;
    END IF;

    RETURN QUERY
        SELECT u.i::integer, u.oc,
               CASE WHEN u.oc IN ('awarded', 'repeat') THEN u.pt END, u.bl, u.at, u.ra, u.cp
          FROM unnest(o_outcome, o_points, o_balance, o_at, o_retry, o_campaign)
               WITH ORDINALITY AS u(oc, pt, bl, at, ra, cp, i)
         ORDER BY u.i;
END $$;
