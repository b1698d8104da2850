-- 035_scan_storage.sql: writing a scan costs the same however many codes were
-- ever scanned (docs/scaling.md, "What a scan costs to write").
--
-- scans_serial_at (001_core.sql) put every scan row into a btree keyed by
-- serial: once scans are spread over millions of codes each row lands on a
-- random leaf, and after each checkpoint the first change of a leaf is a
-- full-page image in the WAL (8 kB for a 200-byte row). It is replaced by
-- scans_day_serial, keyed by the scan's UTC day first: a day's rows go into
-- that day's part of the tree only, which holds the codes scanned that day,
-- not every code ever scanned (the leaves of past days are never written
-- again). Unauthenticated scans (serial 0), which no per-code read wants,
-- are not in it.
--
-- Who read scans by serial, and how each is answered now:
--   alerts_evaluate_rules, travel (every --alert-interval): the codes scanned
--       since the last evaluation (by time, as before), then their scans of
--       the window by (day = ANY (the window's days), serial = ANY (the
--       codes)): one probe per day and code. (With the server's generic
--       plans the read by time is a sequential scan of the partition, before
--       035 as now, where before it was two: the window's too.)
--   admin_suspicious_codes: per day of the window, the print run's serial
--       range (without one, every serial: the window's days).
--   The rest read scans by time (admin_stats, the diversion, the not-genuine
--       rules, exports, EPCIS: scans_at_brin of 016), by member
--       (scans_member_at of 022) or not at all: per-code counts, first and
--       last scans and scanners are code_stats and code_scanners, which the
--       scan writer keeps.
-- The window's days run from its first day to tomorrow (UTC): a scan stamped
-- more than a day ahead of the database's clock is not read by these two.
-- On Citus serial = ANY (...) still names the shards: one command per shard
-- holding one of the codes.

-- The UTC days from p_from's to tomorrow's, for (at AT TIME ZONE 'UTC')::date
-- = ANY (...), which scans_day_serial answers. Taken into a variable before
-- the statement that reads scans (on Citus the workers get a constant).
CREATE FUNCTION scan_days(p_from timestamptz) RETURNS date[]
LANGUAGE sql STABLE AS $$
    SELECT array_agg(d::date ORDER BY d)
      FROM generate_series((p_from AT TIME ZONE 'UTC')::date::timestamp,
                           ((now() AT TIME ZONE 'UTC')::date + 1)::timestamp,
                           interval '1 day') AS g(d)
$$;

-- On a big scans this builds the index over every partition (writes to
-- scans wait for it); the old index goes after, in the same transaction.
CREATE INDEX scans_day_serial ON scans (((at AT TIME ZONE 'UTC')::date), serial, at)
    WHERE serial > 0;
DROP INDEX scans_serial_at;

-- The codes that look cloned: as in 010_citus.sql, the window's days taken
-- first: each day's part of the print run's serial range from
-- scans_day_serial.
CREATE OR REPLACE FUNCTION admin_suspicious_codes(p_days integer, p_min_clients integer,
                                                  p_batch bigint, p_limit integer,
                                                  p_brands bigint[])
RETURNS TABLE (serial bigint, code text, batch_id bigint, sku text, product_name text,
               scans bigint, clients bigint, refused_claims bigint, scans_after_claim bigint,
               first_scan timestamptz, last_scan timestamptz, claimed_at timestamptz,
               claimed_by text)
LANGUAGE plpgsql STABLE SET jit = off AS $$
#variable_conflict use_column
DECLARE
    since timestamptz := now() - make_interval(days => p_days);
    lo bigint := 1;
    hi bigint := 1099511627775;
    days date[] := scan_days(now() - make_interval(days => p_days));
    -- the brands' names, taken first: brand_allowed() inlined into the
    -- distributed query would be sent to the workers, which have no brands
    allowed text[] := (SELECT array_agg(br.name) FROM brands br WHERE br.id = ANY (p_brands));
BEGIN
    IF p_batch IS NOT NULL THEN
        SELECT bb.serial_first, bb.serial_last INTO lo, hi FROM batches bb WHERE bb.id = p_batch;
        IF NOT FOUND THEN
            RETURN;
        END IF;
    END IF;
    RETURN QUERY
        WITH s AS (
            SELECT sc.serial,
                   min(sc.code) AS code,
                   count(*) AS scans,
                   count(DISTINCT sc.client) AS clients,
                   count(*) FILTER (WHERE sc.kind = 'claim' AND sc.outcome = 'already_claimed')
                       AS refused_claims,
                   count(*) FILTER (WHERE sc.at > r.claimed_at AND
                                          NOT (sc.kind = 'claim' AND sc.outcome IN ('awarded', 'repeat')))
                       AS scans_after_claim,
                   min(sc.at) AS first_scan,
                   max(sc.at) AS last_scan,
                   min(r.claimed_at) AS claimed_at,
                   min(r.member) AS claimed_by
              FROM scans sc
              LEFT JOIN redemptions r ON r.serial = sc.serial
             WHERE sc.at >= since
               AND sc.serial > 0
               AND sc.serial BETWEEN lo AND hi
               AND (sc.at AT TIME ZONE 'UTC')::date = ANY (days)
             GROUP BY sc.serial)
        SELECT s.serial, s.code, b.id, b.product_sku, p.name, s.scans, s.clients,
               s.refused_claims, s.scans_after_claim, s.first_scan, s.last_scan, s.claimed_at,
               s.claimed_by
          FROM s
          JOIN batches b ON s.serial BETWEEN b.serial_first AND b.serial_last
          JOIN products p ON p.sku = b.product_sku
         WHERE (s.clients >= p_min_clients OR s.refused_claims > 0)
           AND (p_brands IS NULL OR p.brand = ANY (allowed))
         ORDER BY s.refused_claims DESC, s.clients DESC, s.scans DESC, s.serial
         LIMIT p_limit;
END $$;

-- alerts_evaluate_rules() of 022_insights.sql, the travel read by day and
-- code (above); everything else as it was.
CREATE OR REPLACE FUNCTION alerts_evaluate_rules() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    t timestamptz := now();
    since timestamptz;
    raised integer := 0;
    n integer;
    rule alert_rules;
    cand bigint[];
    ser bigint[];
    cnt bigint[];
    total bigint;
    subj text[];
    brs text[];
    dat jsonb[];
    rsubject text;
    maxw integer;
    tser bigint[];
    tat timestamptz[];
    treg text[];
    tcand bigint[];
    tdays date[];
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('packcode.alerts_evaluate')) THEN
        RETURN -1;
    END IF;
    SELECT s.scanners_from INTO since FROM alert_state s FOR UPDATE;

    -- (c) consumers' reports: each raises one alert, always
    WITH rp AS (
        UPDATE reports r SET alerted_at = t WHERE r.alerted_at IS NULL
        RETURNING r.id, r.serial, r.batch_id, r.code, r.reason, r.at, r.scanners, r.claimed_at),
    ins AS (
        INSERT INTO alerts (report_id, kind, subject, serial, brand, detail, raised_at)
        SELECT rp.id, 'report', 'code:' || rp.serial, rp.serial, coalesce(p.brand, ''),
               jsonb_build_object('report', rp.id, 'reason', rp.reason, 'code', rp.code,
                                  'batch', rp.batch_id, 'sku', p.sku,
                                  'reported_at', webhook_time(rp.at), 'scanners', rp.scanners,
                                  'claimed_at', webhook_time(rp.claimed_at)), t
          FROM rp
          LEFT JOIN batches b ON b.id = rp.batch_id
          LEFT JOIN products p ON p.sku = b.product_sku
         ORDER BY rp.id
        ON CONFLICT (report_id) DO NOTHING
        RETURNING alerts.id, alerts.subject, alerts.brand, alerts.detail)
    SELECT array_agg(ins.subject ORDER BY ins.id), array_agg(ins.brand ORDER BY ins.id),
           array_agg(ins.detail || jsonb_build_object('alert', ins.id) ORDER BY ins.id)
      INTO subj, brs, dat FROM ins;
    n := coalesce(cardinality(subj), 0);
    IF n > 0 THEN
        raised := raised + n;
        IF webhook_wanted('code.reported') THEN
            PERFORM webhook_emit('code.reported', subj, brs, dat);
        END IF;
    END IF;

    -- (a) codes seen by too many scanners: the codes with a new scanner first
    IF EXISTS (SELECT 1 FROM alert_rules ar WHERE ar.kind = 'scanners' AND ar.deleted_at IS NULL)
    THEN
        SELECT array_agg(DISTINCT cs.serial) INTO cand
          FROM code_scanners cs WHERE cs.counted_at > since - interval '30 seconds';
    END IF;
    FOR rule IN SELECT * FROM alert_rules ar
                 WHERE ar.kind = 'scanners' AND ar.deleted_at IS NULL AND cand IS NOT NULL
                 ORDER BY ar.id LOOP
        SELECT array_agg(x.serial ORDER BY x.serial), array_agg(x.n ORDER BY x.serial)
          INTO ser, cnt
          FROM (SELECT cs.serial, count(*) AS n FROM code_scanners cs
                 WHERE cs.serial = ANY (cand)
                   AND cs.last_seen >= t - make_interval(secs => rule.window_s)
                 GROUP BY cs.serial HAVING count(*) > rule.threshold) x;
        CONTINUE WHEN ser IS NULL;
        WITH ins AS (
            INSERT INTO alerts (rule_id, kind, subject, serial, brand, bucket, detail, raised_at)
            SELECT rule.id, 'scanners', 'code:' || u.s, u.s, p.brand,
                   floor(extract(epoch FROM t) / rule.window_s)::bigint,
                   jsonb_build_object('rule', rule.id, 'reason', 'scanners', 'scanners', u.n,
                                      'threshold', rule.threshold, 'window_s', rule.window_s,
                                      'serial', u.s, 'batch', b.id, 'sku', p.sku), t
              FROM unnest(ser, cnt) AS u(s, n)
              JOIN batches b ON u.s BETWEEN b.serial_first AND b.serial_last
              JOIN products p ON p.sku = b.product_sku
              JOIN brands br ON br.name = p.brand
             WHERE (rule.brand_id IS NULL OR br.id = rule.brand_id)
               AND NOT EXISTS (SELECT 1 FROM alerts a
                                WHERE a.rule_id = rule.id AND a.subject = 'code:' || u.s
                                  AND a.raised_at > t - make_interval(secs => rule.window_s))
             ORDER BY u.s
            ON CONFLICT (rule_id, subject, bucket) WHERE rule_id IS NOT NULL DO NOTHING
            RETURNING alerts.id, alerts.subject, alerts.brand, alerts.detail)
        SELECT array_agg(ins.subject ORDER BY ins.id), array_agg(ins.brand ORDER BY ins.id),
               array_agg(ins.detail || jsonb_build_object('alert', ins.id) ORDER BY ins.id)
          INTO subj, brs, dat FROM ins;
        n := coalesce(cardinality(subj), 0);
        IF n > 0 THEN
            raised := raised + n;
            IF webhook_wanted('code.suspicious') THEN
                PERFORM webhook_emit('code.suspicious', subj, brs, dat);
            END IF;
        END IF;
    END LOOP;

    -- (b) not-genuine scans over a rate: over all, or in one region (a
    -- rule's region is a country, CN, or a subdivision, CN-ZJ: the scan's
    -- own columns, written by the scan writer from --geoip)
    FOR rule IN SELECT * FROM alert_rules ar
                 WHERE ar.kind = 'not_genuine' AND ar.deleted_at IS NULL
                 ORDER BY ar.id LOOP
        SELECT count(*) INTO total FROM scans sc
         WHERE sc.at >= t - make_interval(secs => rule.window_s) AND sc.outcome = 'not_genuine'
           AND (rule.region IS NULL OR sc.subdivision = rule.region OR sc.country = rule.region);
        CONTINUE WHEN total <= rule.threshold;
        rsubject := CASE WHEN rule.region IS NULL THEN 'scans:not_genuine'
                        ELSE 'region:' || rule.region END;
        CONTINUE WHEN EXISTS (SELECT 1 FROM alerts a
                               WHERE a.rule_id = rule.id AND a.subject = rsubject
                                 AND a.raised_at > t - make_interval(secs => rule.window_s));
        WITH ins AS (
            INSERT INTO alerts (rule_id, kind, subject, brand, bucket, detail, raised_at)
            VALUES (rule.id, 'not_genuine', rsubject, '',
                    floor(extract(epoch FROM t) / rule.window_s)::bigint,
                    jsonb_build_object('rule', rule.id, 'reason', 'not_genuine', 'scans', total,
                                       'threshold', rule.threshold, 'window_s', rule.window_s,
                                       'region', rule.region), t)
            ON CONFLICT (rule_id, subject, bucket) WHERE rule_id IS NOT NULL DO NOTHING
            RETURNING alerts.id, alerts.subject, alerts.brand, alerts.detail)
        SELECT array_agg(ins.subject), array_agg(ins.brand),
               array_agg(ins.detail || jsonb_build_object('alert', ins.id))
          INTO subj, brs, dat FROM ins;
        n := coalesce(cardinality(subj), 0);
        IF n > 0 THEN
            raised := raised + n;
            IF webhook_wanted('code.suspicious') THEN
                PERFORM webhook_emit('code.suspicious', subj, brs, dat);
            END IF;
        END IF;
    END LOOP;

    -- (d) travel: a code scanned in two regions farther apart than the
    -- rule's speed (threshold, km/h) allows for the time between two
    -- consecutive scans within its window. The codes with a scan since the
    -- last evaluation (30 seconds of overlap), their scans of the longest
    -- window with a region, read once (a distributed statement of its own);
    -- each region placed at region_centroids' point (subdivision, else
    -- country; a region not there is not placed, and not counted).
    SELECT max(ar.window_s) INTO maxw FROM alert_rules ar
     WHERE ar.kind = 'travel' AND ar.deleted_at IS NULL;
    IF maxw IS NOT NULL THEN
        -- the codes first (the few seconds since), then their scans of the
        -- window by (UTC day, serial) from scans_day_serial: one probe per
        -- day and code
        SELECT array_agg(DISTINCT x.serial) INTO tcand
          FROM scans x WHERE x.at >= since - interval '30 seconds' AND x.serial > 0;
        tdays := scan_days(t - make_interval(secs => maxw));
        SELECT array_agg(sc.serial ORDER BY sc.serial, sc.at), array_agg(sc.at ORDER BY sc.serial, sc.at),
               array_agg(coalesce(sc.subdivision, sc.country) ORDER BY sc.serial, sc.at)
          INTO tser, tat, treg
          FROM scans sc
         WHERE (sc.at AT TIME ZONE 'UTC')::date = ANY (tdays) AND sc.serial = ANY (tcand)
           AND sc.at >= t - make_interval(secs => maxw) AND sc.serial > 0
           AND coalesce(sc.subdivision, sc.country) IS NOT NULL;
    END IF;
    FOR rule IN SELECT * FROM alert_rules ar
                 WHERE ar.kind = 'travel' AND ar.deleted_at IS NULL AND tser IS NOT NULL
                 ORDER BY ar.id LOOP
        WITH s AS (
            SELECT u.serial, u.at, u.reg, coalesce(c.lat, k.lat) AS lat, coalesce(c.lon, k.lon) AS lon,
                   CASE WHEN c.region IS NOT NULL THEN u.reg ELSE k.region END AS place
              FROM unnest(tser, tat, treg) AS u(serial, at, reg)
              LEFT JOIN region_centroids c ON c.region = u.reg
              LEFT JOIN region_centroids k ON k.region = left(u.reg, 2)
             WHERE u.at >= t - make_interval(secs => rule.window_s)
               AND coalesce(c.region, k.region) IS NOT NULL),
        p AS (
            SELECT s.serial, s.at, s.place, s.lat, s.lon,
                   lag(s.at) OVER w AS pat, lag(s.place) OVER w AS pplace,
                   lag(s.lat) OVER w AS plat, lag(s.lon) OVER w AS plon
              FROM s WINDOW w AS (PARTITION BY s.serial ORDER BY s.at)),
        d AS (
            SELECT p.serial, p.pplace, p.place, p.pat, p.at,
                   region_km(p.plat, p.plon, p.lat, p.lon) AS km,
                   greatest(extract(epoch FROM p.at - p.pat), 1) / 3600.0 AS hours
              FROM p WHERE p.pplace IS NOT NULL AND p.pplace <> p.place),
        f AS (
            SELECT DISTINCT ON (d.serial) d.serial, d.pplace, d.place, d.pat, d.at, d.km,
                   d.km / d.hours AS kmh
              FROM d WHERE d.km / d.hours > rule.threshold
             ORDER BY d.serial, d.km / d.hours DESC),
        ins AS (
            INSERT INTO alerts (rule_id, kind, subject, serial, brand, bucket, detail, raised_at)
            SELECT rule.id, 'travel', 'code:' || f.serial, f.serial, pr.brand,
                   floor(extract(epoch FROM t) / rule.window_s)::bigint,
                   jsonb_build_object('rule', rule.id, 'reason', 'travel', 'serial', f.serial,
                                      'batch', b.id, 'sku', pr.sku,
                                      'from_region', f.pplace, 'to_region', f.place,
                                      'from_at', webhook_time(f.pat), 'to_at', webhook_time(f.at),
                                      'km', round(f.km::numeric), 'kmh', round(f.kmh::numeric),
                                      'threshold', rule.threshold, 'window_s', rule.window_s), t
              FROM f
              JOIN batches b ON f.serial BETWEEN b.serial_first AND b.serial_last
              JOIN products pr ON pr.sku = b.product_sku
              JOIN brands br ON br.name = pr.brand
             WHERE (rule.brand_id IS NULL OR br.id = rule.brand_id)
               AND NOT EXISTS (SELECT 1 FROM alerts a
                                WHERE a.rule_id = rule.id AND a.subject = 'code:' || f.serial
                                  AND a.raised_at > t - make_interval(secs => rule.window_s))
             ORDER BY f.serial
            ON CONFLICT (rule_id, subject, bucket) WHERE rule_id IS NOT NULL DO NOTHING
            RETURNING alerts.id, alerts.subject, alerts.brand, alerts.detail)
        SELECT array_agg(ins.subject ORDER BY ins.id), array_agg(ins.brand ORDER BY ins.id),
               array_agg(ins.detail || jsonb_build_object('alert', ins.id) ORDER BY ins.id)
          INTO subj, brs, dat FROM ins;
        n := coalesce(cardinality(subj), 0);
        IF n > 0 THEN
            raised := raised + n;
            IF webhook_wanted('code.suspicious') THEN
                PERFORM webhook_emit('code.suspicious', subj, brs, dat);
            END IF;
        END IF;
    END LOOP;

    UPDATE alert_state s SET scanners_from = t, evaluated_at = t;
    RETURN raised;
END $$;
