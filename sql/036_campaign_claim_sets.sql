-- 036_campaign_claim_sets.sql: what campaigns gave a claim, one row per
-- claim instead of one per (claim, campaign). With issue 13's two campaigns
-- (a multiplier and an instant win) every claim wrote two campaign_claims
-- rows and four index entries beside its redemption: measured with
-- pgbench calling claim_many (16 claims a call, 8 connections), leaving that
-- insert out was worth 15-25% more calls a second, the largest single cost
-- of the campaigns' part of a claim.
--   - campaign_claim_sets: one row per claim a campaign applied to, its
--     campaigns with their multipliers and bonuses as arrays (in campaign
--     order), keyed by serial; a BRIN index on claimed_at for the per-campaign
--     reads of the console (a campaign's claims are after its creation);
--   - campaign_wins: one row per prize or red packet won (about 1% of
--     claims for a 1% instant win), keyed by (serial, campaign) and indexed by
--     (campaign, claimed_at) for the winners and the burn-down;
--   - campaign_claims stays as a view with its columns of 021 and 028 (a
--     row per claim and campaign), for campaign_claim_json (by serial: one
--     probe of each key) and for whoever queries it by hand.
-- The rows of campaign_claims are moved over. Campaigns' tables are the
-- coordinator's on Citus (docs/scaling.md); so are these.

CREATE TABLE campaign_claim_sets (
    serial       bigint PRIMARY KEY,
    member       text NOT NULL,
    claimed_at   timestamptz NOT NULL,
    campaigns    bigint[] NOT NULL,
    multipliers  numeric(6, 2)[] NOT NULL,
    bonuses      integer[] NOT NULL,
    CHECK (cardinality(campaigns) > 0 AND array_position(campaigns, NULL) IS NULL
           AND cardinality(multipliers) = cardinality(campaigns)
           AND cardinality(bonuses) = cardinality(campaigns))
);
CREATE INDEX campaign_claim_sets_at ON campaign_claim_sets USING brin (claimed_at);

CREATE TABLE campaign_wins (
    serial       bigint NOT NULL,
    campaign_id  bigint NOT NULL,
    prize_tier   integer,
    red_packet   bigint,
    claimed_at   timestamptz NOT NULL,
    PRIMARY KEY (serial, campaign_id),
    CHECK (prize_tier IS NOT NULL OR red_packet IS NOT NULL)
);
CREATE INDEX campaign_wins_campaign ON campaign_wins (campaign_id, claimed_at);

INSERT INTO campaign_claim_sets (serial, member, claimed_at, campaigns, multipliers, bonuses)
SELECT x.serial, min(x.member), min(x.claimed_at), array_agg(x.campaign_id ORDER BY x.campaign_id),
       array_agg(x.multiplier ORDER BY x.campaign_id), array_agg(x.bonus ORDER BY x.campaign_id)
  FROM campaign_claims x
 GROUP BY x.serial;
INSERT INTO campaign_wins (serial, campaign_id, prize_tier, red_packet, claimed_at)
SELECT x.serial, x.campaign_id, x.prize_tier, x.red_packet, x.claimed_at
  FROM campaign_claims x
 WHERE x.prize_tier IS NOT NULL OR x.red_packet IS NOT NULL;
DROP TABLE campaign_claims;

-- 021's and 028's campaign_claims: a row per claim and campaign that applied to it.
CREATE VIEW campaign_claims AS
    SELECT s.serial, u.campaign_id, s.member, u.multiplier, u.bonus, w.prize_tier, s.claimed_at,
           w.red_packet
      FROM campaign_claim_sets s
     CROSS JOIN LATERAL unnest(s.campaigns, s.multipliers, s.bonuses) AS u(campaign_id, multiplier, bonus)
      LEFT JOIN campaign_wins w ON w.serial = s.serial AND w.campaign_id = u.campaign_id;

-- What campaigns gave the awards of a claim_many call, written (a
-- campaign_claim_sets row per award, a campaign_wins row per prize or red
-- packet), and each claim's answer: NULL where nothing applied, else what
-- campaign_claim_json() answers for it (its base points, the product of its
-- multipliers, the sum of its bonuses, its campaigns, prizes and red
-- packets), in p_serials' order. k_*: the (claim index, campaign) pairs that
-- applied, with multiplier and bonus, in (claim, campaign) order as
-- claim_many builds them; w_*: the prizes won (claim index, campaign, tier);
-- rp_*: the red packets (claim index, campaign, amount). Only claims whose
-- outcome is 'awarded' are written. A claim's campaigns, multipliers and
-- bonuses are its slice of k_* (contiguous, in campaign order), not
-- aggregates: an aggregate with ORDER BY sorts once per group, and with six
-- of them per claim the sorts were half of this function's time. A slice
-- that is not contiguous is written as NULL, which campaign_claim_sets
-- refuses. PL/pgSQL, so that its plan is kept for the session.
CREATE FUNCTION campaign_record(p_serials bigint[], p_members text[], p_t timestamptz,
                                p_outcome text[], p_base integer[],
                                k_i integer[], k_c bigint[], k_mult numeric[], k_bonus integer[],
                                w_i integer[], w_c bigint[], w_t integer[],
                                rp_i integer[], rp_c bigint[], rp_a bigint[])
RETURNS jsonb[]
LANGUAGE plpgsql SET enable_seqscan = off SET jit = off AS $$
DECLARE
    out jsonb[];
BEGIN
    WITH a AS (
        SELECT x.i, x.c, x.mult, x.b, x.o, w.wt, rp.a AS rpa
          FROM unnest(k_i, k_c, k_mult, k_bonus) WITH ORDINALITY AS x(i, c, mult, b, o)
          LEFT JOIN unnest(w_i, w_c, w_t) AS w(wi, wc, wt) ON w.wi = x.i AND w.wc = x.c
          LEFT JOIN unnest(rp_i, rp_c, rp_a) AS rp(i, c, a) ON rp.i = x.i AND rp.c = x.c
         WHERE x.c IS NOT NULL AND p_outcome[x.i] = 'awarded'),
    g AS (
        SELECT a.i, min(a.o)::integer AS lo, max(a.o)::integer AS hi, count(*) AS n,
               -- the multipliers as stored (numeric(6, 2)); their product
               -- without logarithms when at most one is not 1 (032)
               CASE WHEN count(*) FILTER (WHERE a.mult <> 1) <= 1
                    THEN round(max(a.mult::numeric(6, 2)), 4)
                    ELSE round(exp(sum(ln(a.mult::numeric(6, 2)))), 4) END AS mult,
               sum(a.b) AS bonus, bool_or(a.wt IS NOT NULL) AS prize,
               bool_or(a.rpa IS NOT NULL) AS packet
          FROM a
         GROUP BY a.i),
    sets AS (
        INSERT INTO campaign_claim_sets (serial, member, claimed_at, campaigns, multipliers, bonuses)
        SELECT p_serials[g.i], p_members[g.i], p_t,
               CASE WHEN g.hi - g.lo + 1 = g.n THEN k_c[g.lo:g.hi] END,
               k_mult[g.lo:g.hi], k_bonus[g.lo:g.hi]
          FROM g),
    wins AS (
        INSERT INTO campaign_wins (serial, campaign_id, prize_tier, red_packet, claimed_at)
        SELECT p_serials[a.i], a.c, a.wt, a.rpa, p_t
          FROM a
         WHERE a.wt IS NOT NULL OR a.rpa IS NOT NULL),
    -- nearly always just the four keys: the prizes and red packets (and
    -- the concatenation, which rebuilds the object) only for a claim
    -- that won one
    js AS (
        SELECT g.i,
               CASE WHEN NOT (g.prize OR g.packet)
                    THEN jsonb_build_object('base_points', p_base[g.i], 'multiplier', g.mult,
                                            'bonus', g.bonus, 'campaigns', to_jsonb(k_c[g.lo:g.hi]))
                    ELSE jsonb_build_object('base_points', p_base[g.i], 'multiplier', g.mult,
                                            'bonus', g.bonus, 'campaigns', to_jsonb(k_c[g.lo:g.hi]))
                    || CASE WHEN g.prize THEN jsonb_build_object('prizes', (
                           SELECT jsonb_agg(jsonb_build_object('campaign', a.c, 'tier', a.wt,
                                                               'name', p.name) ORDER BY a.c)
                             FROM a JOIN campaign_prizes p ON p.campaign_id = a.c AND p.tier = a.wt
                            WHERE a.i = g.i)) ELSE '{}' END
                    || CASE WHEN g.packet THEN jsonb_build_object('red_packets', (
                           SELECT jsonb_agg(jsonb_build_object('campaign', a.c, 'amount', a.rpa,
                                                               'currency', r.currency) ORDER BY a.c)
                             FROM a JOIN campaign_red_packets r ON r.campaign_id = a.c
                            WHERE a.i = g.i AND a.rpa IS NOT NULL)) ELSE '{}' END END AS j
          FROM g)
    SELECT array_agg(js.j ORDER BY u.i)
      INTO out
      FROM generate_subscripts(p_serials, 1) AS u(i)
      LEFT JOIN js ON js.i = u.i;
    RETURN out;
END $$;

-- 021's campaign_json (028 renamed it campaign_json_021 and adds the red
-- packet around it): the count of claims it applied to from
-- campaign_claim_sets, by the BRIN index on claimed_at: a campaign's rows
-- are all after its creation, less the length of a claim's transaction (a
-- claim's time is its transaction's start; an hour is far beyond any).
CREATE OR REPLACE FUNCTION campaign_json_021(p_id bigint, p_full boolean) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
        'id', c.id, 'brand', b.name, 'name', c.name,
        'starts_at', webhook_time(c.starts_at), 'ends_at', webhook_time(c.ends_at),
        'ended_at', webhook_time(c.ended_at),
        'status', CASE WHEN c.ended_at IS NOT NULL OR c.ends_at <= now() THEN 'ended'
                       WHEN c.starts_at > now() THEN 'scheduled' ELSE 'active' END,
        'products', to_jsonb(c.skus), 'batches', to_jsonb(c.batch_ids),
        'regions', to_jsonb(c.regions),
        'multiplier', c.multiplier, 'bonus', c.bonus, 'first_claim_bonus', c.first_bonus,
        'ladder', CASE WHEN c.ladder_every IS NOT NULL THEN
                      jsonb_build_object('every', c.ladder_every, 'bonus', c.ladder_bonus) END,
        'daily_limit', c.daily_limit,
        'prizes', (SELECT jsonb_agg(jsonb_build_object(
                                'tier', p.tier, 'name', p.name, 'count', p.total,
                                'remaining', p.remaining, 'probability_ppm', p.ppm)
                            ORDER BY p.tier)
                     FROM campaign_prizes p WHERE p.campaign_id = c.id),
        'secret_sha256', c.secret_hash,
        'secret', CASE WHEN c.ended_at IS NOT NULL OR c.ends_at <= now()
                       THEN encode(c.secret, 'hex') END,
        'created_at', CASE WHEN p_full THEN webhook_time(c.created_at) END,
        'created_by', CASE WHEN p_full THEN c.created_by END,
        'claims', CASE WHEN p_full THEN (SELECT count(*) FROM campaign_claim_sets x
                                          WHERE x.claimed_at >= c.created_at - interval '1 hour'
                                            AND c.id = ANY (x.campaigns)) END))
      FROM campaigns c JOIN brands b ON b.id = c.brand_id
     WHERE c.id = p_id
$$;

-- 030's admin_campaign_winners, the same answer from the new tables: the
-- claims per day from campaign_claim_sets (as campaign_json_021 counts
-- them), the red packets and prizes per day and the latest winners from
-- campaign_wins by its (campaign, claimed_at) index, a winner's member from
-- the claim's set.
CREATE OR REPLACE FUNCTION admin_campaign_winners(p_id bigint, p_brands bigint[], p_limit integer)
RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    c campaigns;
    tiers integer[];
    days jsonb;
    w jsonb;
    mem text[];
    masks jsonb;
BEGIN
    SELECT * INTO c FROM campaigns x
     WHERE x.id = p_id AND (p_brands IS NULL OR x.brand_id = ANY (p_brands));
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT coalesce(array_agg(p.tier ORDER BY p.tier), '{}') INTO tiers
      FROM campaign_prizes p WHERE p.campaign_id = p_id;
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'day', d.day, 'claims', d.claims, 'red_packets', coalesce(g.given, 0),
               'won', (SELECT coalesce(jsonb_agg((SELECT count(*) FROM unnest(g.won) u
                                                   WHERE u = t) ORDER BY t), '[]'::jsonb)
                         FROM unnest(tiers) t))
               ORDER BY d.day), '[]'::jsonb)
      INTO days
      FROM (SELECT (s.claimed_at AT TIME ZONE 'UTC')::date AS day, count(*) AS claims
              FROM campaign_claim_sets s
             WHERE s.claimed_at >= c.created_at - interval '1 hour' AND p_id = ANY (s.campaigns)
             GROUP BY 1) d
      LEFT JOIN (SELECT (x.claimed_at AT TIME ZONE 'UTC')::date AS day,
                        sum(x.red_packet) AS given,
                        array_agg(x.prize_tier) FILTER (WHERE x.prize_tier IS NOT NULL) AS won
                   FROM campaign_wins x WHERE x.campaign_id = p_id
                  GROUP BY 1) g ON g.day = d.day;
    SELECT coalesce(array_agg(DISTINCT s.member), '{}') INTO mem
      FROM (SELECT x.serial FROM campaign_wins x
             WHERE x.campaign_id = p_id AND x.prize_tier IS NOT NULL
             ORDER BY x.claimed_at DESC, x.serial DESC LIMIT p_limit) x
      JOIN campaign_claim_sets s ON s.serial = x.serial;
    -- the phones' masks, in a query of their own (member_identities is
    -- distributed on Citus, the campaigns are not)
    SELECT coalesce(jsonb_object_agg(i.member, i.masked), '{}'::jsonb) INTO masks
      FROM (SELECT DISTINCT ON (mi.member) mi.member, mi.masked FROM member_identities mi
             WHERE mi.member = ANY (mem) AND mi.kind = 'phone'
             ORDER BY mi.member, mi.created_at) i;
    SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
               'at', webhook_time(x.claimed_at), 'serial', x.serial,
               'tier', x.prize_tier, 'prize', p.name,
               'member', left(s.member, 4) || '***',
               'phone', masks ->> s.member))
               ORDER BY x.claimed_at DESC, x.serial DESC), '[]'::jsonb)
      INTO w
      FROM (SELECT cw.* FROM campaign_wins cw
             WHERE cw.campaign_id = p_id AND cw.prize_tier IS NOT NULL
             ORDER BY cw.claimed_at DESC, cw.serial DESC LIMIT p_limit) x
      JOIN campaign_claim_sets s ON s.serial = x.serial
      JOIN campaign_prizes p ON p.campaign_id = p_id AND p.tier = x.prize_tier;
    RETURN jsonb_build_object(
        'campaign', p_id,
        'prizes', coalesce((SELECT jsonb_agg(jsonb_build_object(
                                'tier', p.tier, 'name', p.name, 'count', p.total,
                                'remaining', p.remaining) ORDER BY p.tier)
                              FROM campaign_prizes p WHERE p.campaign_id = p_id), '[]'::jsonb),
        'days', days,
        'winners', w);
END $$;

-- claim_many of 032_claim_campaigns.sql, same signature, both paths, with its
-- SET clauses: step 4b writes and answers through campaign_record, and
-- the draws find their tiers by one join against each campaign's tiers
-- computed once per call (the tier of a draw was a subquery that, inlined
-- twice, recomputed them per draw). The draw statement took 0.48-0.51 ms
-- a call of 16 claims and takes 0.27-0.28 (pg_stat_statements, one
-- connection, the two campaigns of the bench).
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
            -- the campaigns that draw, their keys and their tiers, once
            -- (MATERIALIZED: inlined, the tiers were computed again for
            -- every draw); each draw's tier by one join, not a subquery
            -- per draw: half the statement's time
            WITH keys AS MATERIALIZED (
                SELECT c.id, c.k_ipad, c.k_opad FROM campaigns c
                 WHERE c.id = ANY (ARRAY(SELECT DISTINCT x.c FROM unnest(k_c, k_draws) AS x(c, d)
                                          WHERE x.d))),
            tiers AS MATERIALIZED (
                SELECT p.campaign_id AS c, p.tier,
                       sum(p.ppm) OVER (PARTITION BY p.campaign_id ORDER BY p.tier) * 4294967296 AS cum
                  FROM campaign_prizes p
                 WHERE p.campaign_id IN (SELECT keys.id FROM keys)),
            d AS (
                SELECT x.i, x.c, campaign_draw_value(
                                     campaign_hmac(k.k_ipad, k.k_opad, p_serials[x.i]::text)) * 1000000 AS v
                  FROM unnest(k_i, k_c, k_draws) AS x(i, c, d)
                  JOIN keys k ON k.id = x.c
                 WHERE x.d AND o_outcome[x.i] = 'awarded'),
            -- tier k when (ppm_1 + ... + ppm_{k-1}) * 2^32 <= v * 10^6 <
            -- (ppm_1 + ... + ppm_k) * 2^32 (021: campaign_tier_of)
            y AS (
                SELECT d.i, d.c, min(t.tier) AS tier
                  FROM d JOIN tiers t ON t.c = d.c AND d.v < t.cum
                 GROUP BY d.i, d.c)
            SELECT y.c, y.tier, count(*)::integer AS n, array_agg(y.i ORDER BY y.i) AS idx
              FROM y
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
        -- what applied, written beside the redemption, and each award's
        -- answer (campaign_claim_json's): campaign_record
        o_campaign := campaign_record(p_serials, p_members, t, o_outcome, base, k_i, k_c, k_mult,
                                      k_bonus, w_i, w_c, w_t, rp_i, rp_c, rp_a);
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
