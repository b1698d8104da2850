-- Plans (docs/scaling.md, "Plans"): the claim's hot path reads each of its
-- print runs once.
--
-- claim_many of 021_campaigns.sql, same signature, both paths
-- (packcode_distributed() false and true): step 1 reads the call's distinct
-- batches (and their products) once, by primary key, into an array that
-- step 1's checks (status, recall, PINs, the supply chain's refusals of
-- claim_supply_refusals, inline: code states, inactive and activations,
-- expiry) and the outbox's brand and SKU take their batch from; before, the
-- batch was read by the check, by the supply refusals and by the outbox, each
-- a scan of batches joined to the call's claims. Everything else as in 021:
-- outcomes, locks and their order, group commit, campaigns, the outbox.
--
-- And SET enable_seqscan = off (and jit = off: a disabled scan's cost would
-- otherwise make every statement worth compiling), as 004's and 008's reads have it: the server
-- forces generic plans on its pool (packcode_session(), 010_citus.sql), and a
-- plpgsql function caches its statements' plans (and the foreign keys'
-- checks fired inside it theirs) for the connection's life. Planned on a
-- new deployment's freshly analysed, almost empty tables, the lookups of
-- redemptions, members and code_states by key became sequential scans and
-- stayed so as the tables grew (test_plans_fresh.sh saw it); with
-- enable_seqscan off the index is taken whatever the statistics say, and a
-- table with no index for the statement is still scanned.
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
    w_i integer[] := '{}';
    w_c bigint[] := '{}';
    w_t integer[] := '{}';
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
        SELECT array_agg(x.i ORDER BY x.i, x.campaign), array_agg(x.campaign ORDER BY x.i, x.campaign),
               array_agg(x.mult ORDER BY x.i, x.campaign), array_agg(x.bonus ORDER BY x.i, x.campaign),
               array_agg(x.draws ORDER BY x.i, x.campaign), array_agg(x.limited ORDER BY x.i, x.campaign),
               array_agg(x.counted ORDER BY x.i, x.campaign)
          INTO k_i, k_c, k_mult, k_bonus, k_draws, k_lim, k_cnt
          FROM campaign_apply(p_serials, p_batches, p_members, regions,
                              (SELECT array_agg(o_outcome[u.i] IS NULL ORDER BY u.i)
                                 FROM generate_subscripts(p_serials, 1) AS u(i)), t) x;
        FOR r IN SELECT x.i, round(exp(sum(ln(x.mult))), 4) AS mult, sum(x.b)::integer AS bonus
                   FROM unnest(k_i, k_c, k_mult, k_bonus) AS x(i, c, mult, b)
                  WHERE x.c IS NOT NULL GROUP BY x.i LOOP
            o_points[r.i] := floor(base[r.i] * r.mult)::integer + r.bonus;
        END LOOP;
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
            SELECT y.c, y.tier, count(*)::integer AS n, array_agg(y.i ORDER BY y.i) AS idx
              FROM (SELECT x.i, x.c,
                           campaign_tier_of(x.c, campaign_draw_value(
                               campaign_hmac(c.k_ipad, c.k_opad, p_serials[x.i]::text))) AS tier
                      FROM unnest(k_i, k_c, k_draws) AS x(i, c, d)
                      JOIN campaigns c ON c.id = x.c
                     WHERE x.d AND o_outcome[x.i] = 'awarded') y
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
        INSERT INTO campaign_claims (serial, campaign_id, member, multiplier, bonus, prize_tier,
                                     claimed_at)
        SELECT p_serials[x.i], x.c, p_members[x.i], x.mult, x.b, w.wt, t
          FROM unnest(k_i, k_c, k_mult, k_bonus) AS x(i, c, mult, b)
          LEFT JOIN unnest(w_i, w_c, w_t) AS w(wi, wc, wt) ON w.wi = x.i AND w.wc = x.c
         WHERE x.c IS NOT NULL AND o_outcome[x.i] = 'awarded'
         ORDER BY p_serials[x.i], x.c;
        FOR r IN SELECT DISTINCT x.i FROM unnest(k_i, k_c) AS x(i, c)
                  WHERE x.c IS NOT NULL AND o_outcome[x.i] = 'awarded' LOOP
            o_campaign[r.i] := campaign_claim_json(p_serials[r.i], base[r.i]);
        END LOOP;
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

-- member_resolve (011_members.sql, called on every claim naming a member by
-- an identity): its lookups of member_identities by hash and of members by
-- key, planned on empty tables, were sequential scans too.
ALTER FUNCTION member_resolve(text, bytea, bytea, text, text, text, text, inet)
    SET enable_seqscan = off SET jit = off;

-- code_facts (013_supply.sql, every landing page and code lookup): its join
-- of the codes to redemptions, code_stats, code_scanners and code_states,
-- planned on empty tables, scanned all four.
ALTER FUNCTION code_facts(bigint[], bigint[]) SET enable_seqscan = off SET jit = off;

-- member_session_get (011_members.sql, every signed-in page): its lookup of
-- member_sessions by hash, planned on an empty table, was a sequential scan.
ALTER FUNCTION member_session_get(bytea) SET enable_seqscan = off SET jit = off;

-- lookup_codes (002_server.sql; 010_citus.sql on Citus): its join of the
-- codes to redemptions and code_stats, the same.
ALTER FUNCTION lookup_codes(bigint[]) SET enable_seqscan = off SET jit = off;

-- The checks of ledger's and spends' foreign keys to members are planned
-- once per connection, inside whichever function first writes a row: the
-- other functions that write them run with the index too, so that the
-- first one on a new deployment cannot leave a scan of members behind.
ALTER FUNCTION claim SET enable_seqscan = off SET jit = off;
ALTER FUNCTION member_adjust SET enable_seqscan = off SET jit = off;
ALTER FUNCTION member_spend SET enable_seqscan = off SET jit = off;
ALTER FUNCTION member_merge SET enable_seqscan = off SET jit = off;
