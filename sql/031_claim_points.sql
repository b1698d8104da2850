-- 031_claim_points.sql: the roll-ups' points are the points awarded. Since
-- campaigns (021) a claim may award more than its product's points (a
-- multiplier, bonuses), but scan_ingest_rollups() (015's scan_ingest)
-- counts each awarded claim at its product's points, so the console's
-- "points issued" fell short of the ledger. scan_ingest() (022's wrapper)
-- now reads, before the roll-ups, what each awarded claim of the flush was
-- given (redemptions.points, written by claim_many in the claim's own
-- transaction, which committed before its scan record was sent), and adds
-- the difference to the four roll-ups that count points once the flush is
-- written. Their rows are this transaction's own by then (the roll-ups just
-- wrote them), so no lock is taken in a new order. redemptions is read by
-- its key, with the serials as an array (on Citus a distributed table,
-- joined with nothing local).

-- The points given to each of these serials, by redemptions' key whatever
-- the statistics of a new deployment (as 024_plans.sql does for the hot
-- functions).
CREATE FUNCTION redemption_points(p_serials bigint[], OUT serials bigint[], OUT points integer[])
LANGUAGE plpgsql STABLE SET enable_seqscan = off SET jit = off AS $$
BEGIN
    SELECT array_agg(rd.serial), array_agg(rd.points) INTO serials, points
      FROM redemptions rd WHERE rd.serial = ANY (p_serials);
END $$;

CREATE OR REPLACE FUNCTION scan_ingest() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    hd date[];
    hh smallint[];
    hb bigint[];
    hn bigint[];
    cs bigint[];
    rs bigint[];
    rp integer[];
    ed date[];
    eb bigint[];
    ec text[];
    esd text[];
    eci text[];
    ebr bigint[];
    ex bigint[];
    outcome text;
BEGIN
    SELECT array_agg(x.d ORDER BY x.d, x.h, x.b), array_agg(x.h ORDER BY x.d, x.h, x.b),
           array_agg(x.b ORDER BY x.d, x.h, x.b), array_agg(x.n ORDER BY x.d, x.h, x.b)
      INTO hd, hh, hb, hn
      FROM (SELECT (s.at AT TIME ZONE 'UTC')::date AS d,
                   extract(hour FROM s.at AT TIME ZONE 'UTC')::smallint AS h,
                   coalesce(s.brand_id, 0) AS b, count(*) AS n
              FROM scan_stage s WHERE s.outcome = 'not_genuine'
             GROUP BY 1, 2, 3) x;

    -- what each awarded claim was given beyond its product's points, summed
    -- by the roll-ups' key (day, print run, region; the brand goes with the
    -- print run)
    SELECT array_agg(DISTINCT s.serial) INTO cs FROM scan_stage s
     WHERE s.kind = 'claim' AND s.outcome = 'awarded' AND s.serial > 0;
    IF cs IS NOT NULL THEN
        SELECT r.serials, r.points INTO rs, rp FROM redemption_points(cs) r;
        SELECT array_agg(x.d), array_agg(x.b), array_agg(x.c), array_agg(x.sd), array_agg(x.ci),
               array_agg(x.br), array_agg(x.extra)
          INTO ed, eb, ec, esd, eci, ebr, ex
          FROM (SELECT (s.at AT TIME ZONE 'UTC')::date AS d, bt.id AS b,
                       coalesce(s.country, '') AS c, coalesce(s.subdivision, '') AS sd,
                       coalesce(s.city, '') AS ci, br.id AS br, sum(u.p - p.points) AS extra
                  FROM scan_stage s
                  JOIN unnest(rs, rp) AS u(serial, p) ON u.serial = s.serial
                  JOIN batches bt ON int8range(bt.serial_first, bt.serial_last, '[]') @> s.serial
                  JOIN products p ON p.sku = bt.product_sku
                  JOIN brands br ON br.name = p.brand
                 WHERE s.kind = 'claim' AND s.outcome = 'awarded'
                 GROUP BY 1, 2, 3, 4, 5, 6
                HAVING sum(u.p - p.points) <> 0) x;
    END IF;

    outcome := scan_ingest_rollups();

    IF outcome = 'written' AND hd IS NOT NULL THEN
        INSERT INTO scan_hour_days AS r (day, hour, brand_id, not_genuine)
        SELECT u.d, u.h, u.b, u.n FROM unnest(hd, hh, hb, hn) AS u(d, h, b, n)
        ON CONFLICT (day, hour, brand_id) DO UPDATE SET not_genuine = r.not_genuine + excluded.not_genuine;
    END IF;
    IF outcome = 'written' AND ed IS NOT NULL THEN
        UPDATE scan_rollups r SET points = r.points + e.x
          FROM unnest(ed, eb, ec, esd, eci, ex) AS e(d, b, c, sd, ci, x)
         WHERE r.day = e.d AND r.batch_id = e.b AND r.country = e.c AND r.subdivision = e.sd
           AND r.city = e.ci;
        UPDATE scan_batch_days r SET points = r.points + e.x
          FROM (SELECT u.d, u.b, sum(u.x) AS x FROM unnest(ed, eb, ex) AS u(d, b, x)
                 GROUP BY 1, 2) e
         WHERE r.day = e.d AND r.batch_id = e.b;
        UPDATE scan_region_days r SET points = r.points + e.x
          FROM (SELECT u.d, u.br, u.c, u.sd, u.ci, sum(u.x) AS x
                  FROM unnest(ed, ebr, ec, esd, eci, ex) AS u(d, br, c, sd, ci, x)
                 GROUP BY 1, 2, 3, 4, 5) e
         WHERE r.day = e.d AND r.brand_id = e.br AND r.country = e.c AND r.subdivision = e.sd
           AND r.city = e.ci;
        -- scan_day_totals: per brand, and brand 0 for all brands together
        UPDATE scan_day_totals r SET points = r.points + e.x
          FROM (SELECT u.d, u.br, sum(u.x) AS x FROM unnest(ed, ebr, ex) AS u(d, br, x)
                 GROUP BY 1, 2
                 UNION ALL
                SELECT u.d, 0, sum(u.x) FROM unnest(ed, ex) AS u(d, x) GROUP BY 1) e
         WHERE r.day = e.d AND r.brand_id = e.br;
    END IF;
    RETURN outcome;
END $$;
