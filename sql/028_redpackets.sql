-- Cash red packets and their payouts (docs/campaigns.md, "Red packets"): a
-- campaign may carry a red packet, an amount of money in integer minor
-- units (fen, cents) given with each claim it applies to, fixed or drawn
-- like a prize from the campaign's secret and the serial, out of a budget
-- that is never exceeded by a unit: claim_many (redefined here, both paths,
-- with 024's SET clauses) takes each amount by one UPDATE ... WHERE
-- budget_left >= amount, the row's CHECK behind it. Each amount becomes a
-- payout, an outbox row that the payout dispatcher (server/engine/payouts.c)
-- sends to the payment provider with its idempotency key; the provider's
-- signed callback marks it paid or failed; a failed payout's amount is
-- returned to the budget exactly once (status failed -> returned). On Citus
-- these tables stay on the coordinator, like the campaigns.
--
-- The budget's equation, at every commit (payout_reconcile):
--   budget = budget_left + requested + sent + paid + failed
-- (sums of amounts by status; a returned payout's amount is in budget_left).

-- ---- tables ----------------------------------------------------------------------

CREATE TABLE campaign_red_packets (
    campaign_id  bigint PRIMARY KEY REFERENCES campaigns (id),
    amount_min   bigint NOT NULL CHECK (amount_min BETWEEN 1 AND 1000000000),
    amount_max   bigint NOT NULL CHECK (amount_max BETWEEN 1 AND 1000000000),
    budget       bigint NOT NULL CHECK (budget BETWEEN 1 AND 1000000000000000),
    budget_left  bigint NOT NULL,
    member_cap   bigint CHECK (member_cap BETWEEN 1 AND 1000000000000000),
    daily_cap    bigint CHECK (daily_cap BETWEEN 1 AND 1000000000000000),
    currency     text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    CHECK (amount_max >= amount_min),
    CONSTRAINT red_packet_budget CHECK (budget_left >= 0 AND budget_left <= budget)
);

-- What each member got of a campaign's red packets, in all and per UTC day
-- (the caps); a returned payout gives its amount back here too.
CREATE TABLE red_packet_members (
    campaign_id  bigint NOT NULL,
    member       text NOT NULL,
    total        bigint NOT NULL CHECK (total >= 0),
    PRIMARY KEY (campaign_id, member)
);
CREATE TABLE red_packet_member_days (
    campaign_id  bigint NOT NULL,
    member       text NOT NULL,
    day          date NOT NULL,
    total        bigint NOT NULL CHECK (total >= 0),
    PRIMARY KEY (campaign_id, member, day)
);

-- the amount a claim got of a campaign's red packet (NULL: none)
ALTER TABLE campaign_claims ADD COLUMN red_packet bigint;

-- The payout outbox: one row per red packet given, written in the claim's
-- transaction. status: requested (to send, or to send again at next_at) ->
-- sent (the provider took it) -> paid; or -> failed (refused, or too many
-- tries, or the provider said so) -> returned (its amount back in the
-- budget, once). idempotency_key: the payout's stable id, the same on every
-- attempt, so that the provider pays it at most once.
CREATE TABLE payouts (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    campaign_id      bigint NOT NULL REFERENCES campaigns (id),
    brand            text NOT NULL,
    member           text NOT NULL,
    serial           bigint NOT NULL,
    amount           bigint NOT NULL CHECK (amount > 0),
    currency         text NOT NULL,
    day              date NOT NULL,
    status           text NOT NULL DEFAULT 'requested'
                     CHECK (status IN ('requested', 'sent', 'paid', 'failed', 'returned')),
    attempts         integer NOT NULL DEFAULT 0,
    idempotency_key  text NOT NULL UNIQUE,
    next_at          timestamptz NOT NULL DEFAULT now(),
    leased_until     timestamptz,
    last_error       text,
    provider_ref     text,
    late_callbacks   integer NOT NULL DEFAULT 0,
    paid_after_return boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now(),
    sent_at          timestamptz,
    paid_at          timestamptz,
    failed_at        timestamptz,
    returned_at      timestamptz,
    UNIQUE (campaign_id, serial)
);
CREATE INDEX payouts_due ON payouts (next_at, id) WHERE status = 'requested';
CREATE INDEX payouts_failed ON payouts (id) WHERE status = 'failed';
CREATE INDEX payouts_campaign ON payouts (campaign_id, status);

-- Every attempt and every callback, with what it changed (status_before ->
-- status_after; the same: it changed nothing).
CREATE TABLE payout_events (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payout_id      bigint NOT NULL REFERENCES payouts (id),
    at             timestamptz NOT NULL DEFAULT now(),
    kind           text NOT NULL CHECK (kind IN ('attempt', 'callback', 'return')),
    attempt        integer,
    outcome        text NOT NULL,
    http_status    integer,
    status_before  text NOT NULL,
    status_after   text NOT NULL,
    detail         text
);
CREATE INDEX payout_events_payout ON payout_events (payout_id, id);

INSERT INTO webhook_event_types (name, subject, description) VALUES
    ('prize.won', 'member', 'a claim won an instant-win prize of a campaign'),
    ('payout.requested', 'payout', 'a red packet was given: its payout is to be sent to the provider'),
    ('payout.paid', 'payout', 'the payment provider said a red packet''s payout was paid');

-- ---- the claim's step ------------------------------------------------------------

-- A red packet's amount for a serial: fixed (min = max), or min plus the
-- draw value (021's campaign_draw_value) of HMAC-SHA256(secret,
-- "red_packet:" || serial) scaled to [0, max - min]: anyone with the
-- revealed secret recomputes it.
CREATE FUNCTION red_packet_amount(p_min bigint, p_max bigint, p_ipad bytea, p_opad bytea,
                                  p_serial bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_min = p_max THEN p_min
                ELSE p_min + (campaign_draw_value(campaign_hmac(p_ipad, p_opad,
                                                                'red_packet:' || p_serial))
                              * (p_max - p_min + 1)) / 4294967296 END
$$;

-- The red packets of a claim_many call's awards (p_i: the claims' indexes,
-- p_c: the campaign that applied, in (campaign, index) order): one row per
-- red packet given (i, campaign, amount). Locks in one order, so that
-- concurrent calls cannot deadlock: first every member row of the call's
-- (campaign, member) pairs (the caps), in key order, then each campaign's
-- budget row in campaign order, by the UPDATE that takes the amount only
-- while budget_left >= amount. A red packet is whole or none: one that
-- would pass a cap or the budget is not given (a later, smaller one may).
-- Each given is a payouts row (requested) and a payout.requested event.
CREATE FUNCTION red_packet_apply(p_serials bigint[], p_members text[], p_i integer[],
                                 p_c bigint[], p_t timestamptz)
RETURNS TABLE (i integer, campaign bigint, amount bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_day date := (p_t AT TIME ZONE 'UTC')::date;
    g_i integer[] := '{}';
    g_c bigint[] := '{}';
    g_a bigint[] := '{}';
    x record;
    ok boolean;
    n integer;
BEGIN
    IF coalesce(cardinality(p_i), 0) = 0 THEN
        RETURN;
    END IF;
    -- the caps' rows, locked (made at 0 when new) in (campaign, member) order
    INSERT INTO red_packet_members AS m (campaign_id, member, total)
    SELECT DISTINCT u.c, p_members[u.i], 0::bigint
      FROM unnest(p_i, p_c) AS u(i, c)
      JOIN campaign_red_packets rp ON rp.campaign_id = u.c
     WHERE rp.member_cap IS NOT NULL
     ORDER BY 1, 2
    ON CONFLICT (campaign_id, member) DO UPDATE SET total = m.total;
    INSERT INTO red_packet_member_days AS d (campaign_id, member, day, total)
    SELECT DISTINCT u.c, p_members[u.i], v_day, 0::bigint
      FROM unnest(p_i, p_c) AS u(i, c)
      JOIN campaign_red_packets rp ON rp.campaign_id = u.c
     WHERE rp.daily_cap IS NOT NULL
     ORDER BY 1, 2
    ON CONFLICT (campaign_id, member, day) DO UPDATE SET total = d.total;

    FOR x IN
        SELECT u.i, u.c, rp.member_cap, rp.daily_cap,
               red_packet_amount(rp.amount_min, rp.amount_max, c.k_ipad, c.k_opad,
                                 p_serials[u.i]) AS a
          FROM unnest(p_i, p_c) WITH ORDINALITY AS u(i, c, o)
          JOIN campaign_red_packets rp ON rp.campaign_id = u.c
          JOIN campaigns c ON c.id = u.c
         ORDER BY u.c, u.o LOOP
        ok := true;
        IF x.member_cap IS NOT NULL THEN
            UPDATE red_packet_members m SET total = m.total + x.a
             WHERE m.campaign_id = x.c AND m.member = p_members[x.i]
               AND m.total + x.a <= x.member_cap;
            ok := FOUND;
        END IF;
        IF ok AND x.daily_cap IS NOT NULL THEN
            UPDATE red_packet_member_days d SET total = d.total + x.a
             WHERE d.campaign_id = x.c AND d.member = p_members[x.i] AND d.day = v_day
               AND d.total + x.a <= x.daily_cap;
            ok := FOUND;
            IF NOT ok AND x.member_cap IS NOT NULL THEN
                UPDATE red_packet_members m SET total = m.total - x.a
                 WHERE m.campaign_id = x.c AND m.member = p_members[x.i];
            END IF;
        END IF;
        IF ok THEN
            -- the budget: never below zero, whatever runs at once
            UPDATE campaign_red_packets rp SET budget_left = rp.budget_left - x.a
             WHERE rp.campaign_id = x.c AND rp.budget_left >= x.a;
            ok := FOUND;
            IF NOT ok THEN
                UPDATE red_packet_members m SET total = m.total - x.a
                 WHERE m.campaign_id = x.c AND m.member = p_members[x.i]
                   AND x.member_cap IS NOT NULL;
                UPDATE red_packet_member_days d SET total = d.total - x.a
                 WHERE d.campaign_id = x.c AND d.member = p_members[x.i] AND d.day = v_day
                   AND x.daily_cap IS NOT NULL;
            END IF;
        END IF;
        IF ok THEN
            g_i := g_i || x.i;
            g_c := g_c || x.c;
            g_a := g_a || x.a;
        END IF;
    END LOOP;
    IF cardinality(g_i) = 0 THEN
        RETURN;
    END IF;

    WITH ins AS (
        INSERT INTO payouts AS p (campaign_id, brand, member, serial, amount, currency, day,
                                  idempotency_key, created_at, next_at)
        SELECT g.c, b.name, p_members[g.i], p_serials[g.i], g.a, rp.currency, v_day,
               'pc-rp-' || g.c || '-' || p_serials[g.i], p_t, p_t
          FROM unnest(g_i, g_c, g_a) WITH ORDINALITY AS g(i, c, a, o)
          JOIN campaign_red_packets rp ON rp.campaign_id = g.c
          JOIN campaigns c ON c.id = g.c
          JOIN brands b ON b.id = c.brand_id
         ORDER BY g.o
        RETURNING p.id, p.campaign_id, p.brand, p.member, p.serial, p.amount, p.currency,
                  p.idempotency_key)
    SELECT webhook_emit('payout.requested',
                        array_agg('payout:' || ins.id ORDER BY ins.id),
                        array_agg(ins.brand ORDER BY ins.id),
                        array_agg(jsonb_build_object(
                                      'payout', ins.id, 'campaign', ins.campaign_id,
                                      'member', ins.member, 'serial', ins.serial,
                                      'amount', ins.amount, 'currency', ins.currency,
                                      'idempotency_key', ins.idempotency_key,
                                      'requested_at', webhook_time(p_t)) ORDER BY ins.id))
      INTO n
      FROM ins
     WHERE webhook_wanted('payout.requested');
    RETURN QUERY SELECT g.i, g.c, g.a FROM unnest(g_i, g_c, g_a) AS g(i, c, a);
END $$;

-- The prizes, the red packets and the campaigns that applied to a claim, as
-- its answer shows them (021's, with red_packets: each campaign's amount
-- and currency, in minor units). PL/pgSQL, so that its plan is kept for the
-- session: claim_many calls it once per awarded claim, and a SQL function
-- that cannot be inlined is planned again at every call.
CREATE OR REPLACE FUNCTION campaign_claim_json(p_serial bigint, p_base integer) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT CASE WHEN count(*) > 0 THEN jsonb_strip_nulls(jsonb_build_object(
               'base_points', p_base,
               'multiplier', round(exp(sum(ln(x.multiplier))), 4),
               'bonus', sum(x.bonus),
               'campaigns', jsonb_agg(x.campaign_id ORDER BY x.campaign_id),
               'prizes', jsonb_agg(jsonb_build_object('campaign', x.campaign_id, 'tier', x.prize_tier,
                                                      'name', p.name) ORDER BY x.campaign_id)
                         FILTER (WHERE x.prize_tier IS NOT NULL),
               'red_packets', jsonb_agg(jsonb_build_object('campaign', x.campaign_id,
                                                           'amount', x.red_packet,
                                                           'currency', rp.currency)
                                        ORDER BY x.campaign_id)
                              FILTER (WHERE x.red_packet IS NOT NULL))) END
      FROM campaign_claims x
      LEFT JOIN campaign_prizes p ON p.campaign_id = x.campaign_id AND p.tier = x.prize_tier
      LEFT JOIN campaign_red_packets rp ON rp.campaign_id = x.campaign_id
     WHERE x.serial = p_serial);
END $$;

-- ---- claim_many -------------------------------------------------------------------

-- claim_many of 024_plans.sql, same signature, both paths, with its SET
-- clauses: step 4c gives the red packets (red_packet_apply) of the awards
-- whose campaigns carry one, before campaign_claims is written (with each
-- amount); and the prizes won are told (prize.won). The red packets' tables
-- are the coordinator's, like the campaigns', so the Citus path is the same.
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
        INSERT INTO campaign_claims (serial, campaign_id, member, multiplier, bonus, prize_tier,
                                     claimed_at, red_packet)
        SELECT p_serials[x.i], x.c, p_members[x.i], x.mult, x.b, w.wt, t, rp.a
          FROM unnest(k_i, k_c, k_mult, k_bonus) AS x(i, c, mult, b)
          LEFT JOIN unnest(w_i, w_c, w_t) AS w(wi, wc, wt) ON w.wi = x.i AND w.wc = x.c
          LEFT JOIN unnest(rp_i, rp_c, rp_a) AS rp(i, c, a) ON rp.i = x.i AND rp.c = x.c
         WHERE x.c IS NOT NULL AND o_outcome[x.i] = 'awarded'
         ORDER BY p_serials[x.i], x.c;
        FOR r IN SELECT DISTINCT x.i FROM unnest(k_i, k_c) AS x(i, c)
                  WHERE x.c IS NOT NULL AND o_outcome[x.i] = 'awarded' LOOP
            o_campaign[r.i] := campaign_claim_json(p_serials[r.i], base[r.i]);
        END LOOP;
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


-- ---- campaigns with a red packet -------------------------------------------------------

-- 021's campaign_json, kept, with the red packet added: its amount (fixed,
-- or min and max) and currency for everyone; its budget, caps and what is
-- left for staff (p_full).
ALTER FUNCTION campaign_json(bigint, boolean) RENAME TO campaign_json_021;
CREATE FUNCTION campaign_json(p_id bigint, p_full boolean) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT j || coalesce((SELECT jsonb_build_object('red_packet', jsonb_strip_nulls(jsonb_build_object(
                   'amount', CASE WHEN rp.amount_min = rp.amount_max THEN rp.amount_min END,
                   'min', CASE WHEN rp.amount_min <> rp.amount_max THEN rp.amount_min END,
                   'max', CASE WHEN rp.amount_min <> rp.amount_max THEN rp.amount_max END,
                   'currency', rp.currency,
                   'budget', CASE WHEN p_full THEN rp.budget END,
                   'budget_left', CASE WHEN p_full THEN rp.budget_left END,
                   'member_cap', CASE WHEN p_full THEN rp.member_cap END,
                   'daily_cap', CASE WHEN p_full THEN rp.daily_cap END)))
                           FROM campaign_red_packets rp WHERE rp.campaign_id = p_id), '{}'::jsonb)
      FROM campaign_json_021(p_id, p_full) AS j
     WHERE j IS NOT NULL
$$;

-- Why a body's red_packet is refused (NULL: it is fine, or absent). All
-- amounts integers in minor units: amount, or min and max (min <= max);
-- budget at least the largest amount; caps optional; currency ISO 4217.
CREATE FUNCTION red_packet_refusal(p_rp jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    k text;
    v jsonb;
BEGIN
    IF p_rp IS NULL OR jsonb_typeof(p_rp) = 'null' THEN
        RETURN NULL;
    END IF;
    IF jsonb_typeof(p_rp) <> 'object' THEN
        RETURN 'red_packet is an object (docs/campaigns.md: Red packets)';
    END IF;
    FOR k, v IN SELECT * FROM jsonb_each(p_rp) LOOP
        IF k NOT IN ('amount', 'min', 'max', 'budget', 'member_cap', 'daily_cap', 'currency') THEN
            RETURN format('red_packet has no field %s', k);
        END IF;
        IF k <> 'currency' AND (jsonb_typeof(v) <> 'number' OR v::numeric <> trunc(v::numeric)
                                OR v::numeric < 1 OR v::numeric > 1000000000000000) THEN
            RETURN format('red_packet.%s is a whole number of minor units (fen, cents), 1 or more', k);
        END IF;
    END LOOP;
    IF (p_rp ? 'amount') = (p_rp ? 'min' OR p_rp ? 'max') OR (p_rp ? 'min') <> (p_rp ? 'max') THEN
        RETURN 'red_packet has either amount or both min and max';
    END IF;
    IF coalesce((p_rp ->> 'amount')::numeric, (p_rp ->> 'max')::numeric) > 1000000000 THEN
        RETURN 'a red packet is at most 1000000000 minor units';
    END IF;
    IF (p_rp ->> 'min')::numeric > (p_rp ->> 'max')::numeric THEN
        RETURN 'red_packet.min is at most its max';
    END IF;
    IF NOT p_rp ? 'budget' OR (p_rp ->> 'budget')::numeric
                              < coalesce((p_rp ->> 'amount')::numeric, (p_rp ->> 'max')::numeric) THEN
        RETURN 'red_packet.budget is needed, at least the largest amount';
    END IF;
    IF p_rp ? 'currency' AND (jsonb_typeof(p_rp -> 'currency') <> 'string'
                              OR (p_rp ->> 'currency') !~ '^[A-Z]{3}$') THEN
        RETURN 'red_packet.currency is an ISO 4217 code (CNY)';
    END IF;
    RETURN NULL;
END $$;

-- 021's campaign_create, kept, with the red packet: checked first (nothing
-- made if it is refused), written with the campaign, audited with it
-- (campaign.red_packet).
ALTER FUNCTION campaign_create(text, inet, jsonb, bytea, bigint[]) RENAME TO campaign_create_021;
CREATE FUNCTION campaign_create(p_actor text, p_client inet, p_body jsonb, p_secret bytea,
                                p_brand_ids bigint[])
RETURNS TABLE (outcome text, message text, campaign jsonb)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    rp jsonb := p_body -> 'red_packet';
    why text := red_packet_refusal(p_body -> 'red_packet');
    r record;
    cid bigint;
BEGIN
    IF why IS NOT NULL THEN
        RETURN QUERY SELECT 'bad_request'::text, why, NULL::jsonb;
        RETURN;
    END IF;
    SELECT * INTO r FROM campaign_create_021(p_actor, p_client, p_body - 'red_packet', p_secret,
                                             p_brand_ids);
    IF r.outcome <> 'created' OR rp IS NULL OR jsonb_typeof(rp) = 'null' THEN
        RETURN QUERY SELECT r.outcome, r.message, r.campaign;
        RETURN;
    END IF;
    cid := (r.campaign ->> 'id')::bigint;
    INSERT INTO campaign_red_packets (campaign_id, amount_min, amount_max, budget, budget_left,
                                      member_cap, daily_cap, currency)
    VALUES (cid, coalesce((rp ->> 'amount')::bigint, (rp ->> 'min')::bigint),
            coalesce((rp ->> 'amount')::bigint, (rp ->> 'max')::bigint),
            (rp ->> 'budget')::bigint, (rp ->> 'budget')::bigint,
            (rp ->> 'member_cap')::bigint, (rp ->> 'daily_cap')::bigint,
            coalesce(rp ->> 'currency', 'CNY'));
    PERFORM audit_append(p_actor, p_client, 'campaign.red_packet', cid::text, rp);
    RETURN QUERY SELECT 'created'::text, NULL::text, campaign_json(cid, true);
END $$;

-- ---- the dispatcher (server/engine/payouts.c) ------------------------------------------

-- The next payouts to send: at most p_limit requested and due, leased to
-- the caller for p_lease_s seconds (FOR UPDATE SKIP LOCKED: servers share
-- the work). attempt: this attempt's number. body: what is POSTed to the
-- provider, the same on every attempt.
CREATE FUNCTION payout_claim(p_limit integer, p_lease_s integer)
RETURNS TABLE (id bigint, attempt integer, idempotency_key text, body text)
LANGUAGE sql AS $$
    WITH due AS (
        SELECT p.id FROM payouts p
         WHERE p.status = 'requested' AND p.next_at <= now()
           AND (p.leased_until IS NULL OR p.leased_until <= now())
         ORDER BY p.next_at, p.id
         LIMIT p_limit
         FOR UPDATE SKIP LOCKED),
    up AS (
        UPDATE payouts p
           SET leased_until = now() + make_interval(secs => p_lease_s), attempts = p.attempts + 1
          FROM due WHERE p.id = due.id
        RETURNING p.*)
    SELECT up.id, up.attempts, up.idempotency_key,
           jsonb_build_object('idempotency_key', up.idempotency_key, 'payout', up.id,
                              'brand', up.brand, 'campaign', up.campaign_id,
                              'member', up.member, 'serial', up.serial,
                              'amount', up.amount, 'currency', up.currency,
                              'requested_at', webhook_time(up.created_at))::text
      FROM up ORDER BY up.id
$$;

-- One attempt's result: p_outcome accepted (a 2xx: sent), refused (another
-- 4xx: failed) or retry (a timeout, no connection, a 5xx, 408 or 429: due
-- again in p_retry_ms, or failed after p_max attempts). Only the payout's
-- latest attempt of a payout still requested moves it (a callback may have
-- been first); every result is kept in payout_events. Returns the status.
CREATE FUNCTION payout_record(p_id bigint, p_attempt integer, p_outcome text, p_http integer,
                              p_error text, p_retry_ms integer, p_max integer)
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
                      WHEN p_outcome = 'refused' OR p.attempts >= p_max THEN 'failed'
                      ELSE 'requested' END;
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

-- The failed payouts' amounts back to their budgets and members' caps, at
-- most p_limit, each exactly once (failed -> returned, under the row's
-- lock); locks in the claims' order (the caps' rows, then the budgets).
-- Returns how many.
CREATE FUNCTION payouts_return(p_limit integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
    f record;
BEGIN
    SELECT array_agg(p.id ORDER BY p.id) INTO ids
      FROM (SELECT x.id FROM payouts x WHERE x.status = 'failed' ORDER BY x.id LIMIT p_limit
            FOR UPDATE SKIP LOCKED) p;
    IF ids IS NULL THEN
        RETURN 0;
    END IF;
    UPDATE red_packet_members m SET total = greatest(0, m.total - s.a)
      FROM (SELECT x.campaign_id AS c, x.member AS mb, sum(x.amount) AS a FROM payouts x
             WHERE x.id = ANY (ids) GROUP BY 1, 2) s
     WHERE m.campaign_id = s.c AND m.member = s.mb;
    UPDATE red_packet_member_days d SET total = greatest(0, d.total - s.a)
      FROM (SELECT x.campaign_id AS c, x.member AS mb, x.day, sum(x.amount) AS a FROM payouts x
             WHERE x.id = ANY (ids) GROUP BY 1, 2, 3) s
     WHERE d.campaign_id = s.c AND d.member = s.mb AND d.day = s.day;
    FOR f IN SELECT x.campaign_id AS c, sum(x.amount) AS a FROM payouts x
              WHERE x.id = ANY (ids) GROUP BY 1 ORDER BY 1 LOOP
        UPDATE campaign_red_packets rp SET budget_left = rp.budget_left + f.a
         WHERE rp.campaign_id = f.c;
    END LOOP;
    UPDATE payouts x SET status = 'returned', returned_at = now() WHERE x.id = ANY (ids);
    INSERT INTO payout_events (payout_id, kind, outcome, status_before, status_after)
    SELECT x, 'return', 'returned', 'failed', 'returned' FROM unnest(ids) AS x;
    PERFORM audit_append('payouts', NULL::inet, 'payout.return', x.id::text,
                         jsonb_build_object('amount', x.amount, 'campaign', x.campaign_id))
       FROM payouts x WHERE x.id = ANY (ids);
    RETURN cardinality(ids);
END $$;

-- ---- the provider's callback (POST /api/v1/payouts/callback) ----------------------------

-- The provider says payout p_key is p_status (paid | failed), its signature
-- already checked by the server. outcome:
--   applied    the payout moved (requested, sent or failed -> paid; requested
--              or sent -> failed, to be returned)
--   duplicate  it was already so (paid again, failed or returned again)
--   conflict   paid is final: a failed after paid changes nothing
--   late_paid  paid after the amount was returned: the amount is taken from
--              the budget again (returned -> paid) while budget_left allows it
--   late       the same when it does not: recorded (status stays returned,
--              paid_after_return, for the brand to settle), not returned again
--   unknown_payout
-- Every callback is a payout_events row and an audit row.
CREATE FUNCTION payout_callback(p_client inet, p_key text, p_status text, p_ref text)
RETURNS TABLE (outcome text, status text)
LANGUAGE plpgsql AS $$
DECLARE
    p payouts;
    after text;
    oc text;
BEGIN
    SELECT * INTO p FROM payouts x WHERE x.idempotency_key = p_key FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unknown_payout'::text, NULL::text;
        RETURN;
    END IF;
    after := p.status;
    IF p_status = 'paid' THEN
        IF p.status IN ('requested', 'sent', 'failed') THEN
            after := 'paid';
            oc := 'applied';
        ELSIF p.status = 'paid' THEN
            oc := 'duplicate';
        ELSE
            -- returned: the money went out after all; take it back from the
            -- budget (and count it in the member's caps again: no cap check,
            -- it is paid). Locks in the claims' order: caps, then budget.
            UPDATE red_packet_members m SET total = m.total + p.amount
             WHERE m.campaign_id = p.campaign_id AND m.member = p.member;
            UPDATE red_packet_member_days d SET total = d.total + p.amount
             WHERE d.campaign_id = p.campaign_id AND d.member = p.member AND d.day = p.day;
            UPDATE campaign_red_packets rp SET budget_left = rp.budget_left - p.amount
             WHERE rp.campaign_id = p.campaign_id AND rp.budget_left >= p.amount;
            IF FOUND THEN
                after := 'paid';
                oc := 'late_paid';
            ELSE
                oc := 'late';
                UPDATE red_packet_members m SET total = m.total - p.amount
                 WHERE m.campaign_id = p.campaign_id AND m.member = p.member;
                UPDATE red_packet_member_days d SET total = d.total - p.amount
                 WHERE d.campaign_id = p.campaign_id AND d.member = p.member AND d.day = p.day;
            END IF;
        END IF;
    ELSE
        IF p.status IN ('requested', 'sent') THEN
            after := 'failed';
            oc := 'applied';
        ELSIF p.status = 'paid' THEN
            oc := 'conflict';
        ELSE
            oc := 'duplicate';
        END IF;
    END IF;
    UPDATE payouts x
       SET status = after,
           leased_until = CASE WHEN after <> p.status THEN NULL ELSE x.leased_until END,
           paid_at = CASE WHEN after = 'paid' AND p.status <> 'paid' THEN now() ELSE x.paid_at END,
           failed_at = CASE WHEN after = 'failed' AND p.status <> 'failed' THEN now()
                            ELSE x.failed_at END,
           provider_ref = coalesce(p_ref, x.provider_ref),
           late_callbacks = x.late_callbacks + CASE WHEN oc IN ('applied', 'late_paid') THEN 0 ELSE 1 END,
           paid_after_return = x.paid_after_return OR oc = 'late'
     WHERE x.id = p.id;
    INSERT INTO payout_events (payout_id, kind, outcome, status_before, status_after, detail)
    VALUES (p.id, 'callback', oc, p.status, after, p_status);
    PERFORM audit_append('provider', p_client, 'payout.callback', p_key,
                         jsonb_build_object('status', p_status, 'outcome', oc,
                                            'before', p.status, 'after', after));
    IF oc IN ('applied', 'late_paid') AND after = 'paid' AND webhook_wanted('payout.paid') THEN
        PERFORM webhook_emit('payout.paid', ARRAY['payout:' || p.id], ARRAY[p.brand],
                             ARRAY[jsonb_build_object('payout', p.id, 'campaign', p.campaign_id,
                                                      'member', p.member, 'serial', p.serial,
                                                      'amount', p.amount, 'currency', p.currency,
                                                      'idempotency_key', p.idempotency_key,
                                                      'paid_at', webhook_time(now()))]);
    END IF;
    RETURN QUERY SELECT oc, after;
END $$;

-- ---- reconciliation (GET /api/v1/admin/campaigns/{id}/payouts) --------------------------

-- A campaign's payouts by status (count and amount), pending (requested +
-- sent), the budget and what is left, and whether the equation holds:
--   budget = budget_left + requested + sent + paid + failed
-- NULL: no such campaign among p_brands (NULL: every brand); a campaign
-- without a red packet has "red_packet": false.
CREATE FUNCTION admin_campaign_payouts(p_id bigint, p_brands bigint[]) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    WITH c AS (SELECT c.id FROM campaigns c
                WHERE c.id = p_id AND (p_brands IS NULL OR c.brand_id = ANY (p_brands))),
    s AS (SELECT st.status, count(p.id) AS n, coalesce(sum(p.amount), 0) AS a
            FROM unnest(ARRAY['requested', 'sent', 'paid', 'failed', 'returned']) AS st(status)
            LEFT JOIN payouts p ON p.campaign_id = p_id AND p.status = st.status
           GROUP BY st.status),
    t AS (SELECT jsonb_object_agg(s.status, jsonb_build_object('count', s.n, 'amount', s.a)) AS by_status,
                 sum(s.a) FILTER (WHERE s.status IN ('requested', 'sent', 'paid', 'failed')) AS spent,
                 sum(s.n) FILTER (WHERE s.status IN ('requested', 'sent')) AS pn,
                 sum(s.a) FILTER (WHERE s.status IN ('requested', 'sent')) AS pa
            FROM s)
    SELECT CASE WHEN rp.campaign_id IS NULL THEN jsonb_build_object('campaign', c.id, 'red_packet', false)
           ELSE t.by_status || jsonb_build_object(
               'campaign', c.id, 'red_packet', true, 'currency', rp.currency,
               'budget', rp.budget, 'budget_left', rp.budget_left,
               'pending', jsonb_build_object('count', t.pn, 'amount', t.pa),
               'paid_after_return', (SELECT jsonb_build_object('count', count(*),
                                                               'amount', coalesce(sum(p.amount), 0))
                                       FROM payouts p
                                      WHERE p.campaign_id = p_id AND p.paid_after_return),
               'late_callbacks', (SELECT coalesce(sum(p.late_callbacks), 0) FROM payouts p
                                   WHERE p.campaign_id = p_id),
               'balanced', rp.budget = rp.budget_left + t.spent) END
      FROM c CROSS JOIN t LEFT JOIN campaign_red_packets rp ON rp.campaign_id = c.id
$$;
