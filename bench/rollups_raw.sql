-- rollups_raw.sql: the analytics answers computed the slow way, by GROUP BY
-- over the raw scans, for bench/bench_rollups.sh and
-- tests/integration/test_server_analytics.sh to compare with the roll-ups'
-- (sql/015_scans.sql). Not a migration: loaded into a database by those
-- scripts. PL/pgSQL: Citus plans no SQL function's parameters over a
-- distributed table (scans). Each raw_* returns the same JSON as its analytics_* twin, built
-- by the same code from rows grouped here, so that one equality compares
-- every number. The product's points are today's (the roll-ups keep those
-- of the time of writing: equal while no product's points changed).

-- Rows shaped like scan_rollups, for the scans of the UTC days p_from .. p_to.
CREATE OR REPLACE FUNCTION raw_rollups(p_from date, p_to date)
RETURNS TABLE (day date, batch_id bigint, country text, subdivision text, city text,
               product_sku text, brand_id bigint, scans bigint, genuine bigint,
               not_genuine bigint, typo bigint, claims bigint, points bigint)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY
    SELECT (s.at AT TIME ZONE 'UTC')::date, coalesce(s.batch_id, 0), coalesce(s.country, ''),
           coalesce(s.subdivision, ''), coalesce(s.city, ''), coalesce(p.sku, ''),
           coalesce(br.id, 0), count(*),
           count(*) FILTER (WHERE s.outcome IN ('genuine', 'awarded', 'repeat', 'already_claimed')),
           count(*) FILTER (WHERE s.outcome = 'not_genuine'),
           count(*) FILTER (WHERE s.outcome = 'typo'),
           count(*) FILTER (WHERE s.kind = 'claim' AND s.outcome = 'awarded'),
           coalesce(sum(p.points) FILTER (WHERE s.kind = 'claim' AND s.outcome = 'awarded'), 0)
      FROM scans s
      LEFT JOIN batches b ON b.id = s.batch_id
      LEFT JOIN products p ON p.sku = b.product_sku
      LEFT JOIN brands br ON br.name = p.brand
     WHERE s.at >= p_from::timestamp AT TIME ZONE 'UTC'
       AND s.at < (p_to + 1)::timestamp AT TIME ZONE 'UTC'
     GROUP BY 1, 2, 3, 4, 5, 6, 7;
END $$;

-- The overview: per day (and the week before) in one pass over the scans, and
-- one over the spends (025_spent.sql).
CREATE OR REPLACE FUNCTION raw_overview(p_from date, p_to date, p_brands bigint[]) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v jsonb;
BEGIN
    SELECT analytics_week_over_week(p_from, p_to, (
        SELECT jsonb_object_agg(to_char(g.day, 'YYYY-MM-DD'), jsonb_build_object(
                   'scans', coalesce(x.scans, 0), 'scanners', coalesce(x.scanners, 0),
                   'genuine', coalesce(x.genuine, 0), 'not_genuine', coalesce(x.not_genuine, 0),
                   'typo', coalesce(x.typo, 0), 'claims', coalesce(x.claims, 0),
                   'points', coalesce(x.points, 0))
                   || analytics_spent_counts(p_brands, sp.spends, sp.points))
          FROM generate_series(p_from - 7, p_to, interval '1 day') AS g(day)
          LEFT JOIN (SELECT (s.at AT TIME ZONE 'UTC')::date AS day, count(*) AS scans,
                       count(DISTINCT s.scanner) AS scanners,
                       count(*) FILTER (WHERE s.outcome IN ('genuine', 'awarded', 'repeat',
                                                            'already_claimed')) AS genuine,
                       count(*) FILTER (WHERE s.outcome = 'not_genuine') AS not_genuine,
                       count(*) FILTER (WHERE s.outcome = 'typo') AS typo,
                       count(*) FILTER (WHERE s.kind = 'claim' AND s.outcome = 'awarded') AS claims,
                       coalesce(sum(p.points) FILTER (WHERE s.kind = 'claim'
                                                        AND s.outcome = 'awarded'), 0) AS points
                  FROM scans s
                  LEFT JOIN batches b ON b.id = s.batch_id
                  LEFT JOIN products p ON p.sku = b.product_sku
                  LEFT JOIN brands br ON br.name = p.brand
                 WHERE s.at >= (p_from - 7)::timestamp AT TIME ZONE 'UTC'
                   AND s.at < (p_to + 1)::timestamp AT TIME ZONE 'UTC'
                   AND (p_brands IS NULL OR br.id = ANY (p_brands))
                 GROUP BY 1) x ON x.day = g.day::date
          LEFT JOIN (SELECT (p.created_at AT TIME ZONE 'UTC')::date AS day, count(*) AS spends,
                            sum(p.points)::bigint AS points
                       FROM spends p
                      GROUP BY 1) sp ON sp.day = g.day::date))
        || analytics_spent_note(p_brands)
      INTO v;
    RETURN v;
END $$;

-- By product and print run, as analytics_batches (the claimed share from
-- every claim scan of each print run, one pass).
CREATE OR REPLACE FUNCTION raw_batches(p_from date, p_to date, p_brands bigint[], p_product text)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
    v jsonb;
BEGIN
    WITH rr AS MATERIALIZED (SELECT * FROM raw_rollups(p_from, p_to)),
    r AS (
        SELECT r.batch_id, sum(r.scans) AS scans, sum(r.genuine) AS genuine,
               sum(r.not_genuine) AS not_genuine, sum(r.typo) AS typo, sum(r.claims) AS claims,
               sum(r.points) AS points
          FROM rr r
         WHERE r.batch_id <> 0
           AND (p_brands IS NULL OR r.brand_id = ANY (p_brands))
           AND (p_product IS NULL OR r.product_sku = p_product)
         GROUP BY r.batch_id),
    c AS (
        SELECT s.batch_id, count(*) AS claimed FROM scans s
         WHERE s.kind = 'claim' AND s.outcome = 'awarded' AND s.batch_id IN (SELECT batch_id FROM r)
         GROUP BY s.batch_id),
    b AS (
        SELECT bt.id, bt.product_sku, bt.status, bt.serial_last - bt.serial_first + 1 AS codes,
               r.scans, r.genuine, r.not_genuine, r.typo, r.claims, r.points,
               coalesce(c.claimed, 0) AS claimed
          FROM r JOIN batches bt ON bt.id = r.batch_id LEFT JOIN c ON c.batch_id = r.batch_id)
    SELECT jsonb_build_object(
        'from', p_from, 'to', p_to,
        'products', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'sku', p.sku, 'name', p.name, 'brand', p.brand,
                       'scans', x.scans, 'genuine', x.genuine, 'not_genuine', x.not_genuine,
                       'typo', x.typo, 'claims', x.claims, 'points', x.points,
                       'batches', x.batches) ORDER BY p.sku)
              FROM (SELECT b.product_sku, sum(b.scans) AS scans, sum(b.genuine) AS genuine,
                           sum(b.not_genuine) AS not_genuine, sum(b.typo) AS typo,
                           sum(b.claims) AS claims, sum(b.points) AS points,
                           jsonb_agg(jsonb_build_object(
                               'id', b.id, 'status', b.status, 'codes', b.codes,
                               'scans', b.scans, 'genuine', b.genuine,
                               'not_genuine', b.not_genuine, 'typo', b.typo, 'claims', b.claims,
                               'points', b.points, 'claimed', b.claimed,
                               'claimed_share', round(b.claimed::numeric / b.codes, 6))
                               ORDER BY b.id) AS batches
                      FROM b GROUP BY b.product_sku) x
              JOIN products p ON p.sku = x.product_sku), '[]'))
      INTO v;
    RETURN v;
END $$;

-- By region, as analytics_regions.
CREATE OR REPLACE FUNCTION raw_regions(p_from date, p_to date, p_brands bigint[], p_level text,
                                       p_country text, p_batch bigint)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
    v jsonb;
BEGIN
    SELECT jsonb_build_object(
        'from', p_from, 'to', p_to, 'level', p_level, 'country', p_country, 'batch', p_batch,
        'regions', coalesce(jsonb_agg(jsonb_build_object(
                       'country', x.country, 'subdivision', x.subdivision, 'city', x.city,
                       'scans', x.scans, 'genuine', x.genuine, 'not_genuine', x.not_genuine,
                       'typo', x.typo, 'claims', x.claims, 'points', x.points)
                       ORDER BY x.scans DESC, x.country, x.subdivision, x.city), '[]'))
      FROM (SELECT CASE WHEN r.country = '' THEN 'unknown' ELSE r.country END AS country,
                   CASE WHEN p_level = 'country' THEN NULL
                        WHEN r.subdivision = '' THEN 'unknown' ELSE r.subdivision END AS subdivision,
                   CASE WHEN p_level <> 'city' THEN NULL
                        WHEN r.city = '' THEN 'unknown' ELSE r.city END AS city,
                   sum(r.scans) AS scans, sum(r.genuine) AS genuine,
                   sum(r.not_genuine) AS not_genuine, sum(r.typo) AS typo,
                   sum(r.claims) AS claims, sum(r.points) AS points
              FROM raw_rollups(p_from, p_to) r
             WHERE (p_brands IS NULL OR r.brand_id = ANY (p_brands))
               AND (p_country IS NULL OR r.country = p_country)
               AND (p_batch IS NULL OR r.batch_id = p_batch)
             GROUP BY 1, 2, 3) x
      INTO v;
    RETURN v;
END $$;

-- The roll-up tables against the raw scans, whole: rows that differ (none
-- when they agree). scan_day_totals' scanners by count(DISTINCT scanner).
CREATE OR REPLACE FUNCTION raw_rollup_diff() RETURNS TABLE (what text, row_ text)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY
    WITH rr AS MATERIALIZED (SELECT * FROM raw_rollups('2000-01-01', '2999-12-31')),
    bd AS (SELECT day, batch_id, product_sku, brand_id, sum(scans) AS scans, sum(genuine) AS genuine,
                  sum(not_genuine) AS not_genuine, sum(typo) AS typo, sum(claims) AS claims,
                  sum(points) AS points
             FROM rr WHERE batch_id <> 0 GROUP BY 1, 2, 3, 4),
    rd AS (SELECT day, brand_id, country, subdivision, city, sum(scans) AS scans,
                  sum(genuine) AS genuine, sum(not_genuine) AS not_genuine, sum(typo) AS typo,
                  sum(claims) AS claims, sum(points) AS points
             FROM rr GROUP BY 1, 2, 3, 4, 5)
    (SELECT 'scan_batch_days', d::text FROM (
        (SELECT day, batch_id, product_sku, brand_id, scans, genuine, not_genuine, typo, claims,
                points FROM scan_batch_days EXCEPT SELECT * FROM bd)
        UNION ALL
        (SELECT * FROM bd EXCEPT SELECT day, batch_id, product_sku, brand_id, scans, genuine,
                                        not_genuine, typo, claims, points FROM scan_batch_days)) d)
    UNION ALL
    (SELECT 'scan_region_days', d::text FROM (
        (SELECT day, brand_id, country, subdivision, city, scans, genuine, not_genuine, typo,
                claims, points FROM scan_region_days EXCEPT SELECT * FROM rd)
        UNION ALL
        (SELECT * FROM rd EXCEPT SELECT day, brand_id, country, subdivision, city, scans, genuine,
                                        not_genuine, typo, claims, points FROM scan_region_days)) d)
    UNION ALL
    (SELECT 'scan_rollups', d::text FROM (
        (SELECT day, batch_id, country, subdivision, city, product_sku, brand_id, scans, genuine,
                not_genuine, typo, claims, points FROM scan_rollups
         EXCEPT SELECT * FROM rr)
        UNION ALL
        (SELECT * FROM rr
         EXCEPT SELECT day, batch_id, country, subdivision, city, product_sku, brand_id, scans,
                       genuine, not_genuine, typo, claims, points FROM scan_rollups)) d)
    UNION ALL
    (SELECT 'scan_day_totals', d::text FROM (
        WITH raw AS (
            SELECT (s.at AT TIME ZONE 'UTC')::date AS day, g.brand_id, count(*) AS scans,
                   count(*) FILTER (WHERE s.outcome IN ('genuine', 'awarded', 'repeat',
                                                        'already_claimed')) AS genuine,
                   count(*) FILTER (WHERE s.outcome = 'not_genuine') AS not_genuine,
                   count(*) FILTER (WHERE s.outcome = 'typo') AS typo,
                   count(*) FILTER (WHERE s.kind = 'claim' AND s.outcome = 'awarded') AS claims,
                   coalesce(sum(p.points) FILTER (WHERE s.kind = 'claim'
                                                    AND s.outcome = 'awarded'), 0) AS points,
                   count(DISTINCT s.scanner) AS scanners
              FROM scans s
              LEFT JOIN batches b ON b.id = s.batch_id
              LEFT JOIN products p ON p.sku = b.product_sku
              LEFT JOIN brands br ON br.name = p.brand
             CROSS JOIN LATERAL (VALUES (0::bigint), (br.id)) g(brand_id)
             WHERE g.brand_id IS NOT NULL
             GROUP BY 1, 2)
        (SELECT day, brand_id, scans, genuine, not_genuine, typo, claims, points, scanners
           FROM scan_day_totals EXCEPT SELECT * FROM raw)
        UNION ALL
        (SELECT * FROM raw EXCEPT SELECT day, brand_id, scans, genuine, not_genuine, typo,
                                         claims, points, scanners FROM scan_day_totals)) d);
END $$;
