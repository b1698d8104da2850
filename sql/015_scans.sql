-- 015_scans.sql: scans as the brand's data.
-- 1. Each scan row carries its scanner, its print run and its region (the
--    server resolves the region from the scanner's address when it writes
--    the row: server/engine/geoip.c). Columns are added; none is renamed.
-- 2. A flush of the scan writer is one transaction: COPY into the session's
--    stage (scan_writer_session), then scan_ingest(), which writes the rows,
--    the per-code summary (scan_summary of 007) and the roll-ups, once per
--    write tag: a flush retried after its commit was lost is recognised
--    (scan_writes) and counts nothing twice.
-- 3. Roll-ups maintained as scans are written: per day x print run x region
--    (scan_rollups), and coarser for the pages that read them: per day x
--    print run (scan_batch_days), per day x brand x region
--    (scan_region_days), per day x brand (scan_day_totals), and the exact set of
--    each day's scanners per brand (scan_day_scanners) from which the
--    distinct-scanner counts are kept. Days are UTC days.
-- 4. The admin API's reads of them (analytics_*), brand-scoped as 008.

-- ---- 1. the scan row --------------------------------------------------------------

-- scanner: the hash of address and User-Agent (server/engine/scanlog.c);
-- batch_id: the print run of serial (NULL: none); country: ISO 3166-1
-- alpha-2; subdivision: ISO 3166-2 (country, '-', the subdivision's code:
-- CN-ZJ, US-CA); city: the city's English name; NULL: unknown.
ALTER TABLE scans
    ADD COLUMN scanner bigint,
    ADD COLUMN batch_id bigint,
    ADD COLUMN country text CHECK (length(country) <= 3),
    ADD COLUMN subdivision text CHECK (length(subdivision) <= 16),
    ADD COLUMN city text CHECK (length(city) <= 100);

-- ---- 2. the writer's transaction -----------------------------------------------------

-- The flushes written, by tag (a writer's random id and its flush number):
-- a flush sent again finds its tag and writes nothing. Kept a week.
CREATE TABLE scan_writes (
    tag   text PRIMARY KEY CHECK (length(tag) <= 64),
    rows  integer NOT NULL,
    at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX scan_writes_at ON scan_writes (at);

-- Per UTC day, print run and region: batch_id 0 (product_sku '', brand_id
-- 0) holds the scans of no print run (not genuine, typos); a region not
-- known is ''. genuine: outcome genuine, awarded, repeat or
-- already_claimed; claims: awarded claims (a repeat is not a new claim);
-- points: their products' points at the time of writing.
CREATE TABLE scan_rollups (
    day          date NOT NULL,
    batch_id     bigint NOT NULL,
    country      text NOT NULL,
    subdivision  text NOT NULL,
    city         text NOT NULL,
    product_sku  text NOT NULL,
    brand_id     bigint NOT NULL,
    scans        bigint NOT NULL,
    genuine      bigint NOT NULL,
    not_genuine  bigint NOT NULL,
    typo         bigint NOT NULL,
    claims       bigint NOT NULL,
    points       bigint NOT NULL,
    PRIMARY KEY (day, batch_id, country, subdivision, city)
);
CREATE INDEX scan_rollups_brand_day ON scan_rollups (brand_id, day);
CREATE INDEX scan_rollups_batch ON scan_rollups (batch_id, day);

-- Coarser roll-ups of the same scans, each for one page of the dashboard so
-- that a read touches as few rows as the answer needs: per day and print
-- run (the print runs page; the claimed share sums a print run's days), per
-- day, brand and region (the regions page). Same counters, same meaning.
CREATE TABLE scan_batch_days (
    day          date NOT NULL,
    batch_id     bigint NOT NULL,
    product_sku  text NOT NULL,
    brand_id     bigint NOT NULL,
    scans        bigint NOT NULL,
    genuine      bigint NOT NULL,
    not_genuine  bigint NOT NULL,
    typo         bigint NOT NULL,
    claims       bigint NOT NULL,
    points       bigint NOT NULL,
    PRIMARY KEY (day, batch_id)
);
CREATE INDEX scan_batch_days_batch ON scan_batch_days (batch_id);
CREATE TABLE scan_region_days (
    day          date NOT NULL,
    brand_id     bigint NOT NULL,
    country      text NOT NULL,
    subdivision  text NOT NULL,
    city         text NOT NULL,
    scans        bigint NOT NULL,
    genuine      bigint NOT NULL,
    not_genuine  bigint NOT NULL,
    typo         bigint NOT NULL,
    claims       bigint NOT NULL,
    points       bigint NOT NULL,
    PRIMARY KEY (day, brand_id, country, subdivision, city)
);

-- Per UTC day and brand the same counters and the distinct scanners; brand_id
-- 0 is the whole group (every scan, those of no print run too).
CREATE TABLE scan_day_totals (
    day          date NOT NULL,
    brand_id     bigint NOT NULL,
    scans        bigint NOT NULL DEFAULT 0,
    genuine      bigint NOT NULL DEFAULT 0,
    not_genuine  bigint NOT NULL DEFAULT 0,
    typo         bigint NOT NULL DEFAULT 0,
    claims       bigint NOT NULL DEFAULT 0,
    points       bigint NOT NULL DEFAULT 0,
    scanners     bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (day, brand_id)
);

-- Exact sets: who scanned on a day, per brand (0: the group). A row is new
-- once, and only then adds one to scan_day_totals.scanners. Sets are what
-- make a union exact (several brands, several days); they hold one row per
-- scanner a day, not one per scan.
CREATE TABLE scan_day_scanners (
    day       date NOT NULL,
    brand_id  bigint NOT NULL,
    scanner   bigint NOT NULL,
    PRIMARY KEY (day, brand_id, scanner)
);

-- The stage a writer's connection copies a flush into (server/statements.h
-- runs this once per connection): rows live until the end of the
-- transaction that scan_ingest() ends.
CREATE FUNCTION scan_writer_session() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    CREATE TEMP TABLE IF NOT EXISTS scan_stage (
        tag          text,
        at           timestamptz,
        serial       bigint,
        code         text,
        kind         text,
        outcome      text,
        client       inet,
        user_agent   text,
        member       text,
        scanner      bigint,
        country      text,
        subdivision  text,
        city         text,
        batch_id     bigint,
        product_sku  text,
        brand_id     bigint,
        points       integer
    ) ON COMMIT DELETE ROWS;
END $$;

-- Write what the stage holds (one flush, one tag), in the caller's
-- transaction: 'written', or 'duplicate' when the tag was written before
-- (nothing is written again), or 'empty'. Tables in one order (scans,
-- code_scanners and code_stats through scan_summary, scan_rollups,
-- scan_batch_days, scan_region_days, scan_day_scanners, scan_day_totals),
-- each in key order, so concurrent writers cannot deadlock.
CREATE FUNCTION scan_ingest() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    t text;
    t2 text;
    n integer;
    a record;
    b record;
BEGIN
    SELECT min(tag), max(tag), count(*) INTO t, t2, n FROM scan_stage;
    IF n = 0 THEN
        RETURN 'empty';
    END IF;
    IF t IS NULL OR t <> t2 THEN
        RAISE EXCEPTION 'scan_ingest: one flush, one tag' USING ERRCODE = '22023';
    END IF;
    INSERT INTO scan_writes (tag, rows) VALUES (t, n) ON CONFLICT (tag) DO NOTHING;
    IF NOT FOUND THEN
        DELETE FROM scan_stage;
        RETURN 'duplicate';
    END IF;
    IF random() < 0.01 THEN
        DELETE FROM scan_writes WHERE at < now() - interval '7 days';
    END IF;

    -- the print run, product, brand and points of each serial
    UPDATE scan_stage s
       SET batch_id = bt.id, product_sku = p.sku, brand_id = br.id, points = p.points
      FROM batches bt
      JOIN products p ON p.sku = bt.product_sku
      JOIN brands br ON br.name = p.brand
     WHERE s.serial > 0
       AND int8range(bt.serial_first, bt.serial_last, '[]') @> s.serial;

    INSERT INTO scans (at, serial, code, kind, outcome, client, user_agent, member, scanner,
                       batch_id, country, subdivision, city)
    SELECT s.at, s.serial, s.code, s.kind, s.outcome, s.client, s.user_agent, s.member,
           s.scanner, s.batch_id, s.country, s.subdivision, s.city
      FROM scan_stage s;

    -- the per-code summary, as the writer used to send it
    SELECT array_agg(x.serial ORDER BY x.serial) AS serials, array_agg(x.n ORDER BY x.serial) AS counts,
           array_agg(x.f ORDER BY x.serial) AS firsts, array_agg(x.l ORDER BY x.serial) AS lasts
      INTO a
      FROM (SELECT s.serial, count(*)::bigint AS n, min(s.at) AS f, max(s.at) AS l
              FROM scan_stage s WHERE s.serial > 0 GROUP BY s.serial) x;
    IF a.serials IS NOT NULL THEN
        SELECT array_agg(s.serial ORDER BY s.serial, s.at) AS serials,
               array_agg(s.scanner ORDER BY s.serial, s.at) AS scanners,
               array_agg(s.kind = 'claim' AND s.outcome IN ('awarded', 'repeat')
                         ORDER BY s.serial, s.at) AS claimed
          INTO b
          FROM scan_stage s WHERE s.serial > 0;
        PERFORM scan_summary(a.serials, a.counts, a.firsts, a.lasts, b.serials, b.scanners,
                             b.claimed);
    END IF;

    -- the roll-ups
    INSERT INTO scan_rollups AS r (day, batch_id, country, subdivision, city, product_sku, brand_id,
                                   scans, genuine, not_genuine, typo, claims, points)
    SELECT (s.at AT TIME ZONE 'UTC')::date, coalesce(s.batch_id, 0), coalesce(s.country, ''),
           coalesce(s.subdivision, ''), coalesce(s.city, ''), coalesce(min(s.product_sku), ''),
           coalesce(min(s.brand_id), 0), count(*),
           count(*) FILTER (WHERE s.outcome IN ('genuine', 'awarded', 'repeat', 'already_claimed')),
           count(*) FILTER (WHERE s.outcome = 'not_genuine'),
           count(*) FILTER (WHERE s.outcome = 'typo'),
           count(*) FILTER (WHERE s.kind = 'claim' AND s.outcome = 'awarded'),
           coalesce(sum(s.points) FILTER (WHERE s.kind = 'claim' AND s.outcome = 'awarded'), 0)
      FROM scan_stage s
     GROUP BY 1, 2, 3, 4, 5
     ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (day, batch_id, country, subdivision, city) DO UPDATE SET
        scans = r.scans + excluded.scans,
        genuine = r.genuine + excluded.genuine,
        not_genuine = r.not_genuine + excluded.not_genuine,
        typo = r.typo + excluded.typo,
        claims = r.claims + excluded.claims,
        points = r.points + excluded.points;

    INSERT INTO scan_batch_days AS r (day, batch_id, product_sku, brand_id, scans, genuine,
                                      not_genuine, typo, claims, points)
    SELECT (s.at AT TIME ZONE 'UTC')::date, s.batch_id, min(s.product_sku), min(s.brand_id), count(*),
           count(*) FILTER (WHERE s.outcome IN ('genuine', 'awarded', 'repeat', 'already_claimed')),
           count(*) FILTER (WHERE s.outcome = 'not_genuine'),
           count(*) FILTER (WHERE s.outcome = 'typo'),
           count(*) FILTER (WHERE s.kind = 'claim' AND s.outcome = 'awarded'),
           coalesce(sum(s.points) FILTER (WHERE s.kind = 'claim' AND s.outcome = 'awarded'), 0)
      FROM scan_stage s
     WHERE s.batch_id IS NOT NULL
     GROUP BY 1, 2
     ORDER BY 1, 2
    ON CONFLICT (day, batch_id) DO UPDATE SET
        scans = r.scans + excluded.scans,
        genuine = r.genuine + excluded.genuine,
        not_genuine = r.not_genuine + excluded.not_genuine,
        typo = r.typo + excluded.typo,
        claims = r.claims + excluded.claims,
        points = r.points + excluded.points;

    INSERT INTO scan_region_days AS r (day, brand_id, country, subdivision, city, scans, genuine,
                                       not_genuine, typo, claims, points)
    SELECT (s.at AT TIME ZONE 'UTC')::date, coalesce(s.brand_id, 0), coalesce(s.country, ''),
           coalesce(s.subdivision, ''), coalesce(s.city, ''), count(*),
           count(*) FILTER (WHERE s.outcome IN ('genuine', 'awarded', 'repeat', 'already_claimed')),
           count(*) FILTER (WHERE s.outcome = 'not_genuine'),
           count(*) FILTER (WHERE s.outcome = 'typo'),
           count(*) FILTER (WHERE s.kind = 'claim' AND s.outcome = 'awarded'),
           coalesce(sum(s.points) FILTER (WHERE s.kind = 'claim' AND s.outcome = 'awarded'), 0)
      FROM scan_stage s
     GROUP BY 1, 2, 3, 4, 5
     ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (day, brand_id, country, subdivision, city) DO UPDATE SET
        scans = r.scans + excluded.scans,
        genuine = r.genuine + excluded.genuine,
        not_genuine = r.not_genuine + excluded.not_genuine,
        typo = r.typo + excluded.typo,
        claims = r.claims + excluded.claims,
        points = r.points + excluded.points;

    WITH fresh AS (
        INSERT INTO scan_day_scanners (day, brand_id, scanner)
        SELECT DISTINCT d.day, d.brand_id, d.scanner
          FROM (SELECT (s.at AT TIME ZONE 'UTC')::date AS day, 0::bigint AS brand_id, s.scanner
                  FROM scan_stage s
                 UNION ALL
                SELECT (s.at AT TIME ZONE 'UTC')::date, s.brand_id, s.scanner
                  FROM scan_stage s WHERE s.brand_id IS NOT NULL) d
         ORDER BY 1, 2, 3
        ON CONFLICT DO NOTHING
        RETURNING day, brand_id),
    counted AS (
        SELECT f.day, f.brand_id, count(*) AS n FROM fresh f GROUP BY 1, 2),
    sums AS (
        SELECT d.day, d.brand_id, count(*) AS scans,
               count(*) FILTER (WHERE d.outcome IN ('genuine', 'awarded', 'repeat', 'already_claimed')) AS genuine,
               count(*) FILTER (WHERE d.outcome = 'not_genuine') AS not_genuine,
               count(*) FILTER (WHERE d.outcome = 'typo') AS typo,
               count(*) FILTER (WHERE d.kind = 'claim' AND d.outcome = 'awarded') AS claims,
               coalesce(sum(d.points) FILTER (WHERE d.kind = 'claim' AND d.outcome = 'awarded'), 0) AS points
          FROM (SELECT (s.at AT TIME ZONE 'UTC')::date AS day, 0::bigint AS brand_id, s.outcome,
                       s.kind, s.points
                  FROM scan_stage s
                 UNION ALL
                SELECT (s.at AT TIME ZONE 'UTC')::date, s.brand_id, s.outcome, s.kind, s.points
                  FROM scan_stage s WHERE s.brand_id IS NOT NULL) d
         GROUP BY 1, 2)
    INSERT INTO scan_day_totals AS dt (day, brand_id, scans, genuine, not_genuine, typo, claims,
                                       points, scanners)
    SELECT x.day, x.brand_id, x.scans, x.genuine, x.not_genuine, x.typo, x.claims, x.points,
           coalesce(c.n, 0)
      FROM sums x LEFT JOIN counted c ON c.day = x.day AND c.brand_id = x.brand_id
     ORDER BY 1, 2
    ON CONFLICT (day, brand_id) DO UPDATE SET
        scans = dt.scans + excluded.scans,
        genuine = dt.genuine + excluded.genuine,
        not_genuine = dt.not_genuine + excluded.not_genuine,
        typo = dt.typo + excluded.typo,
        claims = dt.claims + excluded.claims,
        points = dt.points + excluded.points,
        scanners = dt.scanners + excluded.scanners;

    DELETE FROM scan_stage;
    RETURN 'written';
END $$;

-- ---- 4. reads ------------------------------------------------------------------------

-- A request's range: to defaults to today (UTC), from to 13 days before
-- to; SQLSTATE 22023 when to is before from or the range is over 366 days.
CREATE FUNCTION analytics_range(p_from date, p_to date, OUT f date, OUT t date)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    t := coalesce(p_to, (now() AT TIME ZONE 'UTC')::date);
    f := coalesce(p_from, t - 13);
    IF t < f OR t - f >= 366 THEN
        RAISE EXCEPTION 'to is from or later, at most 366 days in all' USING ERRCODE = '22023';
    END IF;
END $$;

-- The counters of one UTC day as JSON, from scan_day_totals: the group's
-- row (p_brands NULL), or the sum of the brands' rows with the distinct
-- scanners counted over their sets (exact for a union of brands).
CREATE FUNCTION analytics_day_counts(p_day date, p_brands bigint[]) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p_brands IS NULL THEN
        (SELECT jsonb_build_object('scans', coalesce(t.scans, 0), 'scanners', coalesce(t.scanners, 0),
                                   'genuine', coalesce(t.genuine, 0),
                                   'not_genuine', coalesce(t.not_genuine, 0),
                                   'typo', coalesce(t.typo, 0), 'claims', coalesce(t.claims, 0),
                                   'points', coalesce(t.points, 0))
           FROM (SELECT 1) one
           LEFT JOIN scan_day_totals t ON t.day = p_day AND t.brand_id = 0)
    ELSE
        (SELECT jsonb_build_object('scans', coalesce(sum(t.scans), 0),
                                   'scanners', CASE WHEN cardinality(p_brands) = 1
                                                    THEN coalesce(sum(t.scanners), 0)
                                                    ELSE (SELECT count(DISTINCT s.scanner)
                                                            FROM scan_day_scanners s
                                                           WHERE s.day = p_day
                                                             AND s.brand_id = ANY (p_brands)) END,
                                   'genuine', coalesce(sum(t.genuine), 0),
                                   'not_genuine', coalesce(sum(t.not_genuine), 0),
                                   'typo', coalesce(sum(t.typo), 0),
                                   'claims', coalesce(sum(t.claims), 0),
                                   'points', coalesce(sum(t.points), 0))
           FROM scan_day_totals t WHERE t.day = p_day AND t.brand_id = ANY (p_brands))
    END
$$;

-- The overview's reply from the counters of each day (p_counts: an object
-- by day, "YYYY-MM-DD", of analytics_day_counts objects; a day missing
-- counts zero): each UTC day from p_from to p_to with the same weekday a
-- week before and the change in percent (null when the week before was 0).
-- Shared with the benchmark's raw GROUP BY (bench/rollups_raw.sql), so that
-- both answers are built alike and compared whole.
CREATE FUNCTION analytics_week_over_week(p_from date, p_to date, p_counts jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    WITH z AS (
        SELECT jsonb_build_object('scans', 0, 'scanners', 0, 'genuine', 0, 'not_genuine', 0,
                                  'typo', 0, 'claims', 0, 'points', 0) AS zero),
    d AS (
        SELECT g.day::date AS day,
               coalesce(p_counts -> to_char(g.day, 'YYYY-MM-DD'), z.zero) AS now_,
               coalesce(p_counts -> to_char(g.day - interval '7 days', 'YYYY-MM-DD'), z.zero)
                   AS before
          FROM generate_series(p_from, p_to, interval '1 day') AS g(day), z)
    SELECT jsonb_build_object(
        'from', p_from, 'to', p_to,
        'days', coalesce((SELECT jsonb_agg(jsonb_build_object(
                              'day', d.day, 'counts', d.now_, 'week_before', d.before,
                              'change_pct', (SELECT jsonb_object_agg(k.key,
                                                 CASE WHEN (d.before ->> k.key)::numeric = 0 THEN NULL
                                                      ELSE round(((k.value #>> '{}')::numeric
                                                                  - (d.before ->> k.key)::numeric)
                                                                 * 100 / (d.before ->> k.key)::numeric, 1)
                                                 END)
                                               FROM jsonb_each(d.now_) k))
                            ORDER BY d.day) FROM d), '[]'))
$$;

-- The overview over p_from .. p_to from scan_day_totals (analytics_day_counts).
CREATE FUNCTION analytics_overview(p_from date, p_to date, p_brands bigint[]) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT analytics_week_over_week(p_from, p_to, (
        SELECT jsonb_object_agg(to_char(g.day, 'YYYY-MM-DD'),
                                analytics_day_counts(g.day::date, p_brands))
          FROM generate_series(p_from - 7, p_to, interval '1 day') AS g(day)))
$$;

-- By product and print run over p_from .. p_to: each print run's counters,
-- its state, its size and its claimed share (claims of every day written,
-- over its codes).
CREATE FUNCTION analytics_batches(p_from date, p_to date, p_brands bigint[], p_product text)
RETURNS jsonb LANGUAGE sql STABLE AS $$
    WITH r AS (
        SELECT r.batch_id, sum(r.scans) AS scans, sum(r.genuine) AS genuine,
               sum(r.not_genuine) AS not_genuine, sum(r.typo) AS typo, sum(r.claims) AS claims,
               sum(r.points) AS points
          FROM scan_batch_days r
         WHERE r.day BETWEEN p_from AND p_to
           AND (p_brands IS NULL OR r.brand_id = ANY (p_brands))
           AND (p_product IS NULL OR r.product_sku = p_product)
         GROUP BY r.batch_id),
    b AS (
        SELECT bt.id, bt.product_sku, bt.status, bt.serial_last - bt.serial_first + 1 AS codes,
               r.scans, r.genuine, r.not_genuine, r.typo, r.claims, r.points,
               (SELECT coalesce(sum(a.claims), 0) FROM scan_batch_days a WHERE a.batch_id = bt.id)
                   AS claimed
          FROM r JOIN batches bt ON bt.id = r.batch_id)
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
$$;

-- By region over p_from .. p_to: p_level 'country', 'subdivision' or
-- 'city' (within p_country when given); a region not known is "unknown".
-- From scan_region_days, or for one print run (p_batch) from scan_rollups.
CREATE FUNCTION analytics_regions(p_from date, p_to date, p_brands bigint[], p_level text,
                                  p_country text, p_batch bigint)
RETURNS jsonb LANGUAGE sql STABLE AS $$
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
              FROM (SELECT d.brand_id, d.country, d.subdivision, d.city, d.scans, d.genuine,
                           d.not_genuine, d.typo, d.claims, d.points
                      FROM scan_region_days d
                     WHERE p_batch IS NULL AND d.day BETWEEN p_from AND p_to
                    UNION ALL
                    SELECT u.brand_id, u.country, u.subdivision, u.city, u.scans, u.genuine,
                           u.not_genuine, u.typo, u.claims, u.points
                      FROM scan_rollups u
                     WHERE u.batch_id = p_batch AND u.day BETWEEN p_from AND p_to) r
             WHERE (p_brands IS NULL OR r.brand_id = ANY (p_brands))
               AND (p_country IS NULL OR r.country = p_country)
             GROUP BY 1, 2, 3) x
$$;
