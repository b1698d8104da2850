-- 022_insights.sql: what the console's members, counterfeit and export
-- pages read (docs/api.md, "Insights").
-- 1. Members: segments and cohorts over the claims (redemptions), a member
--    found by the keyed hash of a phone, a member's timeline (ledger, scans,
--    merges). A brand-limited identity sees the members who claimed a code
--    of its brands, and only those brands' events: the member pool is one
--    for the group, engagement is per brand.
-- 2. Not-genuine scans by region (scan_region_days of 015) and by UTC hour
--    (scan_hour_days, new: the smallest roll-up that has the hour, written
--    in the scan writer's transaction by scan_ingest()).
-- 3. Background export jobs: rows of exports (016) with job = true, run by
--    the server off the request path (server/engine/jobs.c) into a file.
-- Distributed tables (redemptions, ledger, scans, members,
-- member_identities, member_merges) are read in statements of their own,
-- with the coordinator's facts (batches of a brand) passed in as arrays.

-- ---- indexes ------------------------------------------------------------------------

-- A member's claims (timeline, search, engagement): without it every
-- member read would pass over redemptions.
CREATE INDEX redemptions_member ON redemptions (member, claimed_at);
-- A member's scans (timeline): only claims carry a member, so the index
-- holds those rows only and the landing page's scans cost it nothing.
CREATE INDEX scans_member_at ON scans (member, at) WHERE member IS NOT NULL;

-- ---- helpers --------------------------------------------------------------------------

-- A request's range for these pages: to defaults to today (UTC), from to 29
-- days before to (the last 30 days); 22023 as analytics_range.
CREATE FUNCTION insights_range(p_from date, p_to date, OUT f date, OUT t date)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    t := coalesce(p_to, (now() AT TIME ZONE 'UTC')::date);
    f := coalesce(p_from, t - 29);
    IF t < f OR t - f >= 366 THEN
        RAISE EXCEPTION 'to is from or later, at most 366 days in all' USING ERRCODE = '22023';
    END IF;
END $$;

-- The print runs of brands p_brands (NULL for NULL: every brand).
CREATE FUNCTION insights_batches(p_brands bigint[]) RETURNS bigint[]
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p_brands IS NULL THEN NULL ELSE
        (SELECT coalesce(array_agg(b.id ORDER BY b.id), '{}')
           FROM batches b JOIN products p ON p.sku = b.product_sku
           JOIN brands br ON br.name = p.brand
          WHERE br.id = ANY (p_brands)) END
$$;

-- The brands of a request: the identity's (NULL: every brand), narrowed
-- to brand p_brand when named (none of them when it is not one of the
-- identity's, or no brand).
CREATE FUNCTION insights_brands(p_brands bigint[], p_brand text) RETURNS bigint[]
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p_brand IS NULL THEN p_brands ELSE
        (SELECT coalesce(array_agg(b.id), '{}') FROM brands b
          WHERE b.name = p_brand AND (p_brands IS NULL OR b.id = ANY (p_brands))) END
$$;

-- ---- 1. members -------------------------------------------------------------------------

-- Segments and cohorts over p_from .. p_to (UTC days) of the claims of
-- brands p_brands (NULL: every brand). Definitions travel in the reply.
CREATE FUNCTION analytics_members(p_from date, p_to date, p_brands bigint[]) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    bs bigint[] := insights_batches(p_brands);
    lo timestamptz := p_from::timestamp AT TIME ZONE 'UTC';
    hi timestamptz := (p_to + 1)::timestamp AT TIME ZONE 'UTC';
    lapse timestamptz := (p_from - 90)::timestamp AT TIME ZONE 'UTC';
    segs jsonb;
    cohorts jsonb;
BEGIN
    -- one pass over the claims up to the range's end: each member's first
    -- claim, claims and points in the range, claims in the 90 days before
    WITH m AS (
        SELECT r.member, min(r.claimed_at) AS first,
               count(*) FILTER (WHERE r.claimed_at >= lo) AS n_in,
               coalesce(sum(r.points) FILTER (WHERE r.claimed_at >= lo), 0) AS pts_in,
               count(*) FILTER (WHERE r.claimed_at >= lapse AND r.claimed_at < lo) AS n_before
          FROM redemptions r
         WHERE r.claimed_at < hi AND (bs IS NULL OR r.batch_id = ANY (bs))
         GROUP BY r.member)
    SELECT jsonb_build_array(
               jsonb_build_object('segment', 'new',
                   'members', count(*) FILTER (WHERE m.first >= lo),
                   'definition', 'first claim of the brand within the range'),
               jsonb_build_object('segment', 'repeat',
                   'members', count(*) FILTER (WHERE m.n_in >= 2),
                   'definition', 'two or more claims of the brand within the range'),
               jsonb_build_object('segment', 'lapsed',
                   'members', count(*) FILTER (WHERE m.n_in = 0 AND m.n_before > 0),
                   'definition', 'claimed in the 90 days before the range, not within it'),
               jsonb_build_object('segment', 'top',
                   'members', least(10, count(*) FILTER (WHERE m.n_in > 0)),
                   'definition', 'the 10 members with the most points earned in the range'))
      INTO segs FROM m;

    -- cohorts: the members whose first claim fell in each month of the
    -- range, and of them, who claimed in that month and each month after
    -- (up to the range's last month); counted once per (cohort, month)
    WITH c AS (
        SELECT r.member, date_trunc('month', min(r.claimed_at) AT TIME ZONE 'UTC') AS cohort
          FROM redemptions r
         WHERE r.claimed_at < hi AND (bs IS NULL OR r.batch_id = ANY (bs))
         GROUP BY r.member
        HAVING min(r.claimed_at) >= date_trunc('month', p_from)::timestamp AT TIME ZONE 'UTC'),
    a AS (
        SELECT DISTINCT r.member, date_trunc('month', r.claimed_at AT TIME ZONE 'UTC') AS month
          FROM redemptions r
         WHERE r.claimed_at >= date_trunc('month', p_from)::timestamp AT TIME ZONE 'UTC'
           AND r.claimed_at < hi AND (bs IS NULL OR r.batch_id = ANY (bs))),
    sizes AS (SELECT c.cohort, count(*) AS n FROM c GROUP BY c.cohort),
    act AS (
        SELECT c.cohort, a.month, count(*) AS n FROM c JOIN a ON a.member = c.member
         GROUP BY c.cohort, a.month),
    months AS (
        SELECT g.m::timestamp AS month
          FROM generate_series(date_trunc('month', p_from), date_trunc('month', p_to),
                               interval '1 month') g(m))
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'month', to_char(mo.month, 'YYYY-MM'),
               'members', coalesce((SELECT z.n FROM sizes z WHERE z.cohort = mo.month), 0),
               'active', (SELECT jsonb_agg(coalesce(x.n, 0) ORDER BY k.month)
                            FROM months k
                            LEFT JOIN act x ON x.cohort = mo.month AND x.month = k.month
                           WHERE k.month >= mo.month)) ORDER BY mo.month), '[]')
      INTO cohorts
      FROM months mo;

    RETURN jsonb_build_object('from', p_from, 'to', p_to, 'segments', segs, 'cohorts', cohorts);
END $$;

-- Whether member p_member claimed a code of print runs p_batches (NULL:
-- every member counts).
-- PL/pgSQL: on Citus a SQL function's parameters cannot reach a
-- distributed table's plan.
CREATE FUNCTION insights_member_visible(p_member text, p_batches bigint[]) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN p_batches IS NULL OR EXISTS (SELECT 1 FROM redemptions r
                                         WHERE r.member = p_member AND r.batch_id = ANY (p_batches));
END $$;

-- The members of identity hash p_hash (a phone's keyed hash) that brands
-- p_brands may see: member, the identity's masked form, balance (NULL for a
-- brand-limited identity: points are the group's), created.
CREATE FUNCTION admin_member_search(p_hash bytea, p_brands bigint[])
RETURNS TABLE (member text, masked text, balance bigint, created_at timestamptz)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    bs bigint[] := insights_batches(p_brands);
    mem text;
    msk text;
BEGIN
    SELECT i.member, i.masked INTO mem, msk FROM member_identities i WHERE i.hash = p_hash;
    IF mem IS NULL OR NOT insights_member_visible(mem, bs) THEN
        RETURN;
    END IF;
    RETURN QUERY SELECT m.member, msk, CASE WHEN p_brands IS NULL THEN m.balance END,
                        m.created_at
                   FROM members m WHERE m.member = mem;
END $$;

-- A member's events, newest first, at most p_limit: ledger rows (claim,
-- adjust, spend, merge), scans (landing, lookup, claim: kind 'scan'), and
-- the merges of other members into this one (kind 'merge'). For
-- brand-limited p_brands only the events of their print runs (claims and
-- scans of their codes; adjustments, spends and merges name no brand) and
-- only for a member who claimed one of their codes; NULL when not visible.
-- p_hash: the keyed hash of the identity typed (a phone), when it was no
-- member key: its member is the one shown.
CREATE FUNCTION admin_member_timeline(p_member text, p_hash bytea, p_limit integer,
                                      p_brands bigint[])
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
    bs bigint[] := insights_batches(p_brands);
    ranges int8multirange;
    led jsonb;
    sc jsonb;
    mg jsonb;
BEGIN
    IF p_hash IS NOT NULL THEN
        p_member := coalesce((SELECT i.member FROM member_identities i WHERE i.hash = p_hash),
                             p_member);
    END IF;
    -- two statements: on Citus the first runs on the member's shard, where
    -- the second (a query of its own over redemptions) cannot be nested
    IF NOT EXISTS (SELECT 1 FROM members m WHERE m.member = p_member) THEN
        RETURN NULL;
    END IF;
    IF NOT insights_member_visible(p_member, bs) THEN
        RETURN NULL;
    END IF;
    SELECT coalesce(range_agg(int8range(b.serial_first, b.serial_last, '[]')), '{}')
      INTO ranges FROM batches b WHERE bs IS NULL OR b.id = ANY (bs);
    -- distributed tables, each in a statement of its own
    SELECT coalesce(jsonb_agg(x.e), '[]') INTO led FROM (
        SELECT jsonb_build_object('at', l.created_at, 'kind', l.kind, 'points', l.delta,
                                  'serial', l.serial, 'reference', l.reference) AS e
          FROM ledger l
         WHERE l.member = p_member
           AND (bs IS NULL OR (l.serial IS NOT NULL AND l.serial <@ ranges))
         ORDER BY l.id DESC LIMIT p_limit) x;
    SELECT coalesce(jsonb_agg(x.e), '[]') INTO sc FROM (
        SELECT jsonb_build_object('at', s.at, 'kind', 'scan', 'points', NULL, 'serial', s.serial,
                                  'code', s.code, 'scan_kind', s.kind, 'outcome', s.outcome) AS e
          FROM scans s
         WHERE s.member = p_member AND (bs IS NULL OR s.serial <@ ranges)
         ORDER BY s.at DESC LIMIT p_limit) x;
    SELECT coalesce(jsonb_agg(x.e), '[]') INTO mg FROM (
        SELECT jsonb_build_object('at', mm.at, 'kind', 'merge', 'points', mm.points,
                                  'from', mm.from_member) AS e
          FROM member_merges mm
         WHERE bs IS NULL AND mm.into_member = p_member
         ORDER BY mm.at DESC LIMIT p_limit) x;
    -- the coordinator's: product and print run of each serial
    RETURN jsonb_build_object('member', p_member, 'events', coalesce((
        SELECT jsonb_agg(jsonb_build_object(
                   'at', webhook_time((e ->> 'at')::timestamptz), 'kind', e ->> 'kind',
                   'points', (e -> 'points'), 'product', b.product_sku, 'batch', b.id,
                   'serial', (e -> 'serial'), 'code', (e -> 'code'),
                   'outcome', (e -> 'outcome'), 'reference', (e -> 'reference'),
                   'from', (e -> 'from'))
                   ORDER BY (e ->> 'at')::timestamptz DESC)
          FROM (SELECT e FROM (SELECT jsonb_array_elements(led || sc || mg) AS e) y
                 ORDER BY (y.e ->> 'at')::timestamptz DESC LIMIT p_limit) u
          LEFT JOIN batches b ON (u.e ->> 'serial')::bigint > 0
                             AND (u.e ->> 'serial')::bigint BETWEEN b.serial_first AND b.serial_last),
        '[]'));
END $$;

-- ---- 2. not-genuine scans by hour -----------------------------------------------------

-- Not-genuine scans per UTC day, hour (0-23) and brand (0: none, which is
-- every not-genuine scan today: such a code names no print run). Written
-- by scan_ingest() with the other roll-ups, in the same transaction.
CREATE TABLE scan_hour_days (
    day          date NOT NULL,
    hour         smallint NOT NULL CHECK (hour BETWEEN 0 AND 23),
    brand_id     bigint NOT NULL,
    not_genuine  bigint NOT NULL,
    PRIMARY KEY (day, hour, brand_id)
);

-- scan_ingest() of 015 stays as it was, under another name; the new one
-- reads the stage's not-genuine scans first (the old one empties it), runs
-- it, and adds them to scan_hour_days only when the flush was written (a
-- duplicate tag counts nothing). scan_hour_days comes last in the order
-- of tables, in key order, so concurrent writers still cannot deadlock.
ALTER FUNCTION scan_ingest() RENAME TO scan_ingest_rollups;
CREATE FUNCTION scan_ingest() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    hd date[];
    hh smallint[];
    hb bigint[];
    hn bigint[];
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
    outcome := scan_ingest_rollups();
    IF outcome = 'written' AND hd IS NOT NULL THEN
        INSERT INTO scan_hour_days AS r (day, hour, brand_id, not_genuine)
        SELECT u.d, u.h, u.b, u.n FROM unnest(hd, hh, hb, hn) AS u(d, h, b, n)
        ON CONFLICT (day, hour, brand_id) DO UPDATE SET not_genuine = r.not_genuine + excluded.not_genuine;
    END IF;
    RETURN outcome;
END $$;

-- Not-genuine scans over p_from .. p_to by region (subdivision, else
-- country, else "unknown"; from scan_region_days) and by UTC hour (24
-- rows, from scan_hour_days), of brands p_brands (NULL: every brand).
CREATE FUNCTION analytics_not_genuine(p_from date, p_to date, p_brands bigint[]) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'from', p_from, 'to', p_to,
        'by_region', coalesce((
            SELECT jsonb_agg(jsonb_build_object('region', x.region, 'scans', x.n)
                             ORDER BY x.n DESC, x.region)
              FROM (SELECT CASE WHEN d.subdivision <> '' THEN d.subdivision
                                WHEN d.country <> '' THEN d.country ELSE 'unknown' END AS region,
                           sum(d.not_genuine) AS n
                      FROM scan_region_days d
                     WHERE d.day BETWEEN p_from AND p_to AND d.not_genuine > 0
                       AND (p_brands IS NULL OR d.brand_id = ANY (p_brands))
                     GROUP BY 1) x), '[]'),
        'by_hour', (
            SELECT jsonb_agg(jsonb_build_object('hour', g.h, 'scans', coalesce(
                       (SELECT sum(h.not_genuine) FROM scan_hour_days h
                         WHERE h.day BETWEEN p_from AND p_to AND h.hour = g.h
                           AND (p_brands IS NULL OR h.brand_id = ANY (p_brands))), 0))
                       ORDER BY g.h)
              FROM generate_series(0, 23) g(h)))
$$;

-- ---- 3. background export jobs ----------------------------------------------------------

-- A job is an exports row with job = true: queued until a server's runner
-- takes it (running), then done or failed. rows: written so far (progress
-- while running); rows_total: counted when it started; file: its name in
-- the server's --export-dir; error: why it failed. A runner holds a
-- session advisory lock on the job while it runs it: a job running with no
-- lock held is one whose runner died, and is taken again.
ALTER TABLE exports DROP CONSTRAINT exports_status_check;
ALTER TABLE exports ADD CONSTRAINT exports_status_check
    CHECK (status IN ('queued', 'running', 'done', 'aborted', 'failed'));
ALTER TABLE exports
    ADD COLUMN job boolean NOT NULL DEFAULT false,
    ADD COLUMN rows_total bigint CHECK (rows_total >= 0),
    ADD COLUMN error text CHECK (length(error) <= 500),
    ADD COLUMN file text CHECK (length(file) <= 200),
    ADD COLUMN tries integer NOT NULL DEFAULT 0;
CREATE INDEX exports_jobs_open ON exports (id) WHERE job AND status IN ('queued', 'running');

-- The advisory lock's first key: the second is the job's id.
CREATE FUNCTION export_job_lock_key() RETURNS integer LANGUAGE sql IMMUTABLE AS $$
    SELECT 20221022
$$;

-- Queue a job (audited as export.queue: who, what, range, format, brands, pii).
CREATE FUNCTION admin_export_job_add(p_token bigint, p_client inet, p_kind text, p_format text,
                                     p_from timestamptz, p_to timestamptz, p_pii boolean)
RETURNS TABLE (id bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    who record;
    eid bigint;
BEGIN
    SELECT * INTO who FROM admin_identity(p_token);
    INSERT INTO exports (actor, client, kind, format, range_from, range_to, brand_ids, pii,
                         status, job)
    VALUES (who.actor, p_client, p_kind, p_format, p_from, p_to, who.brand_ids, p_pii,
            'queued', true)
    RETURNING exports.id INTO eid;
    PERFORM audit_append(who.actor, p_client, 'export.queue', p_kind,
                         jsonb_build_object('export_id', eid, 'format', p_format,
                                            'from', webhook_time(p_from), 'to', webhook_time(p_to),
                                            'brands', who.brand_ids, 'pii', p_pii));
    RETURN QUERY SELECT eid;
END $$;

-- Take the oldest job that is queued, or running with its runner gone: the
-- caller's session then holds its advisory lock (until export_job_finish).
-- Returns its id, format, the COPY to run and the query that counts its
-- rows; no row when there is none. A job tried 3 times fails.
CREATE FUNCTION export_job_take()
RETURNS TABLE (id bigint, format text, copy_sql text, count_sql text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    e exports;
    c text;
    jid bigint;
BEGIN
    FOR jid IN SELECT x.id FROM exports x
                WHERE x.job AND x.status IN ('queued', 'running') ORDER BY x.id LOOP
        CONTINUE WHEN NOT pg_try_advisory_lock(export_job_lock_key(), jid::integer);
        -- locked: is it still open (another runner may have ended it meanwhile)?
        SELECT * INTO e FROM exports x WHERE x.id = jid AND x.status IN ('queued', 'running');
        IF e.id IS NULL THEN
            PERFORM pg_advisory_unlock(export_job_lock_key(), jid::integer);
            CONTINUE;
        END IF;
        IF e.tries >= 3 THEN
            UPDATE exports x SET status = 'failed', error = 'its runner stopped 3 times',
                                 finished_at = now() WHERE x.id = e.id;
            PERFORM audit_append(e.actor, e.client, 'export.finish', e.kind,
                                 jsonb_build_object('export_id', e.id, 'status', 'failed',
                                                    'rows', e.rows));
            PERFORM pg_advisory_unlock(export_job_lock_key(), e.id::integer);
            CONTINUE;
        END IF;
        UPDATE exports x SET status = 'running', rows = 0, rows_total = NULL, error = NULL,
                             tries = x.tries + 1, started_at = now()
         WHERE x.id = e.id;
        c := export_sql(e.kind, 'csv', e.range_from, e.range_to, e.brand_ids, e.pii);
        RETURN QUERY SELECT e.id, e.format,
                            export_sql(e.kind, e.format, e.range_from, e.range_to, e.brand_ids,
                                       e.pii),
                            'SELECT count(*) FROM ('
                            || regexp_replace(c, '^COPY \((.*)\) TO STDOUT .*$', '\1', 's')
                            || ') x';
        RETURN;
    END LOOP;
END $$;

-- A running job's progress.
CREATE FUNCTION export_job_progress(p_id bigint, p_rows bigint, p_total bigint) RETURNS void
LANGUAGE sql AS $$
    UPDATE exports SET rows = p_rows, rows_total = coalesce(p_total, rows_total)
     WHERE id = p_id AND job AND status = 'running'
$$;

-- A job's end: done (p_file written, p_rows rows) or failed (p_error).
-- Audited as export.finish; the caller's advisory lock is let go.
CREATE FUNCTION export_job_finish(p_id bigint, p_status text, p_rows bigint, p_file text,
                                  p_error text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    e exports;
BEGIN
    UPDATE exports x SET status = p_status, rows = p_rows, file = p_file,
                         error = left(p_error, 500), finished_at = now()
     WHERE x.id = p_id AND x.job AND x.status = 'running'
    RETURNING * INTO e;
    IF e.id IS NOT NULL THEN
        PERFORM audit_append(e.actor, e.client, 'export.finish', e.kind,
                             jsonb_build_object('export_id', e.id, 'format', e.format,
                                                'from', webhook_time(e.range_from),
                                                'to', webhook_time(e.range_to),
                                                'brands', e.brand_ids, 'pii', e.pii,
                                                'status', p_status, 'rows', p_rows));
    END IF;
    PERFORM pg_advisory_unlock(export_job_lock_key(), p_id::integer);
END $$;

-- Whether an identity of brands p_brands (NULL: every brand) sees a job
-- requested with brand limits p_job_brands: every brand sees all; a
-- limited one only jobs limited to some of its own brands.
CREATE FUNCTION export_job_visible(p_brands bigint[], p_job_brands bigint[]) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT p_brands IS NULL OR (p_job_brands IS NOT NULL AND p_job_brands <@ p_brands)
$$;

-- A job as the admin API shows it.
CREATE FUNCTION export_job_json(e exports) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'job', e.id, 'kind', e.kind, 'format', e.format,
        'from', webhook_time(e.range_from), 'to', webhook_time(e.range_to),
        'state', e.status, 'requested_by', e.actor, 'brands', e.brand_ids, 'pii', e.pii,
        'rows', coalesce(e.rows, 0), 'rows_total', e.rows_total,
        'progress', CASE WHEN e.status = 'done' THEN 1
                         WHEN coalesce(e.rows_total, 0) = 0 THEN 0
                         ELSE round(least(1, e.rows::numeric / e.rows_total), 4) END,
        'error', e.error, 'created', webhook_time(e.started_at),
        'finished', webhook_time(e.finished_at),
        'href', '/api/v1/admin/export-jobs/' || e.id,
        'download', CASE WHEN e.status = 'done'
                         THEN '/api/v1/admin/export-jobs/' || e.id || '/download' END)
$$;

-- The jobs an identity of brands p_brands sees, newest first (at most 100).
CREATE FUNCTION admin_export_jobs(p_brands bigint[]) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('jobs', coalesce(jsonb_agg(export_job_json(x) ORDER BY x.id DESC), '[]'))
      FROM (SELECT * FROM exports e
             WHERE e.job AND export_job_visible(p_brands, e.brand_ids)
             ORDER BY e.id DESC LIMIT 100) x
$$;

-- One job, or NULL when there is none the identity sees.
CREATE FUNCTION admin_export_job(p_id bigint, p_brands bigint[]) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT export_job_json(e) FROM exports e
     WHERE e.id = p_id AND e.job AND export_job_visible(p_brands, e.brand_ids)
$$;

-- A download of a done job: its file, format and kind, audited as
-- export.download (who downloaded which job); no row when the job is not
-- one the identity sees, or not done.
CREATE FUNCTION admin_export_job_download(p_token bigint, p_client inet, p_id bigint)
RETURNS TABLE (file text, format text, kind text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    who record;
    e exports;
BEGIN
    SELECT * INTO who FROM admin_identity(p_token);
    SELECT * INTO e FROM exports x
     WHERE x.id = p_id AND x.job AND x.status = 'done'
       AND export_job_visible(who.brand_ids, x.brand_ids);
    IF e.id IS NULL THEN
        RETURN;
    END IF;
    PERFORM audit_append(who.actor, p_client, 'export.download', e.kind,
                         jsonb_build_object('export_id', e.id, 'requested_by', e.actor,
                                            'rows', e.rows));
    RETURN QUERY SELECT e.file, e.format, e.kind;
END $$;

-- ---- 4. alert rules: per-region not_genuine, travel -----------------------------------

-- Where a region is, for travel rules: a point per ISO 3166 region (a
-- subdivision: its seat; a country: roughly its middle), the distance
-- between two regions being the great-circle distance between their
-- points. China's provinces and a few countries to start; operators add
-- rows (INSERT) for the regions their scans come from.
CREATE TABLE region_centroids (
    region  text PRIMARY KEY CHECK (length(region) <= 16),
    name    text NOT NULL,
    lat     double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon     double precision NOT NULL CHECK (lon BETWEEN -180 AND 180)
);
INSERT INTO region_centroids (region, name, lat, lon) VALUES
    ('CN-BJ', 'Beijing', 39.90, 116.40), ('CN-TJ', 'Tianjin', 39.13, 117.20),
    ('CN-HE', 'Hebei (Shijiazhuang)', 38.04, 114.51), ('CN-SX', 'Shanxi (Taiyuan)', 37.87, 112.55),
    ('CN-NM', 'Inner Mongolia (Hohhot)', 40.84, 111.75), ('CN-LN', 'Liaoning (Shenyang)', 41.80, 123.43),
    ('CN-JL', 'Jilin (Changchun)', 43.82, 125.32), ('CN-HL', 'Heilongjiang (Harbin)', 45.80, 126.53),
    ('CN-SH', 'Shanghai', 31.23, 121.47), ('CN-JS', 'Jiangsu (Nanjing)', 32.06, 118.80),
    ('CN-ZJ', 'Zhejiang (Hangzhou)', 30.27, 120.15), ('CN-AH', 'Anhui (Hefei)', 31.82, 117.23),
    ('CN-FJ', 'Fujian (Fuzhou)', 26.07, 119.30), ('CN-JX', 'Jiangxi (Nanchang)', 28.68, 115.86),
    ('CN-SD', 'Shandong (Jinan)', 36.65, 117.12), ('CN-HA', 'Henan (Zhengzhou)', 34.75, 113.63),
    ('CN-HB', 'Hubei (Wuhan)', 30.59, 114.31), ('CN-HN', 'Hunan (Changsha)', 28.23, 112.94),
    ('CN-GD', 'Guangdong (Guangzhou)', 23.13, 113.26), ('CN-GX', 'Guangxi (Nanning)', 22.82, 108.32),
    ('CN-HI', 'Hainan (Haikou)', 20.04, 110.34), ('CN-CQ', 'Chongqing', 29.56, 106.55),
    ('CN-SC', 'Sichuan (Chengdu)', 30.57, 104.07), ('CN-GZ', 'Guizhou (Guiyang)', 26.65, 106.63),
    ('CN-YN', 'Yunnan (Kunming)', 25.04, 102.71), ('CN-XZ', 'Tibet (Lhasa)', 29.65, 91.17),
    ('CN-SN', 'Shaanxi (Xi''an)', 34.34, 108.94), ('CN-GS', 'Gansu (Lanzhou)', 36.06, 103.83),
    ('CN-QH', 'Qinghai (Xining)', 36.62, 101.78), ('CN-NX', 'Ningxia (Yinchuan)', 38.49, 106.23),
    ('CN-XJ', 'Xinjiang (Urumqi)', 43.83, 87.62), ('CN-HK', 'Hong Kong', 22.32, 114.17),
    ('CN-MO', 'Macau', 22.20, 113.54), ('CN-TW', 'Taiwan (Taipei)', 25.03, 121.57),
    ('CN', 'China', 35.86, 104.20), ('HK', 'Hong Kong', 22.32, 114.17), ('MO', 'Macau', 22.20, 113.54),
    ('TW', 'Taiwan', 23.70, 120.96), ('JP', 'Japan', 36.20, 138.25), ('KR', 'South Korea', 35.91, 127.77),
    ('SG', 'Singapore', 1.35, 103.82), ('MY', 'Malaysia', 4.21, 101.98), ('TH', 'Thailand', 15.87, 100.99),
    ('VN', 'Vietnam', 14.06, 108.28), ('AU', 'Australia', -25.27, 133.78), ('GB', 'United Kingdom', 55.38, -3.44),
    ('DE', 'Germany', 51.17, 10.45), ('FR', 'France', 46.23, 2.21), ('US', 'United States', 39.83, -98.58),
    ('US-CA', 'California', 36.78, -119.42), ('US-NY', 'New York', 42.17, -74.95);

-- The great-circle distance in km between two points (haversine, R = 6371 km).
CREATE FUNCTION region_km(lat1 double precision, lon1 double precision, lat2 double precision,
                          lon2 double precision) RETURNS double precision
LANGUAGE sql IMMUTABLE AS $$
    SELECT 2 * 6371 * asin(least(1, sqrt(sin(radians(lat2 - lat1) / 2) ^ 2
                                         + cos(radians(lat1)) * cos(radians(lat2))
                                           * sin(radians(lon2 - lon1) / 2) ^ 2)))
$$;

-- A rule with a region (not_genuine only: its scans of that country or
-- subdivision). The rest as alert_rule_add of 016, which this wraps.
CREATE FUNCTION admin_alert_rule_add(p_token bigint, p_client inet, p_kind text,
                                     p_threshold integer, p_window_s integer, p_brand text,
                                     p_region text)
RETURNS TABLE (outcome text, id bigint, created_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    who record;
    r record;
BEGIN
    IF p_region IS NOT NULL AND p_kind <> 'not_genuine' THEN
        RAISE EXCEPTION 'region is for not_genuine rules' USING ERRCODE = '22023';
    END IF;
    SELECT * INTO who FROM admin_identity(p_token);
    SELECT * INTO r FROM alert_rule_add(who.actor, p_client, p_kind, p_threshold, p_window_s,
                                        p_brand, who.brand_ids);
    IF r.outcome = 'added' AND p_region IS NOT NULL THEN
        UPDATE alert_rules ar SET region = p_region WHERE ar.id = r.id;
        PERFORM audit_append(who.actor, p_client, 'alert_rule.region', r.id::text,
                             jsonb_build_object('region', p_region));
    END IF;
    RETURN QUERY SELECT r.outcome, r.id, r.created_at;
END $$;

-- The live rules an identity of brands p_brands may see, with their region.
DROP FUNCTION admin_alert_rules(bigint[]);
CREATE FUNCTION admin_alert_rules(p_brands bigint[])
RETURNS TABLE (id bigint, kind text, threshold integer, window_s integer, brand text,
               created_at timestamptz, created_by text, region text)
LANGUAGE sql STABLE AS $$
    SELECT ar.id, ar.kind, ar.threshold, ar.window_s, b.name, ar.created_at, ar.created_by,
           ar.region
      FROM alert_rules ar LEFT JOIN brands b ON b.id = ar.brand_id
     WHERE ar.deleted_at IS NULL AND (p_brands IS NULL OR ar.brand_id = ANY (p_brands))
     ORDER BY ar.id
$$;

UPDATE webhook_event_types
   SET description = 'an alert rule fired: a code seen by too many scanners or in regions too '
                     'far apart for the time between, or too many not-genuine scans (over all '
                     'or in a region)'
 WHERE name = 'code.suspicious';

-- alerts_evaluate() of 016, with (b) per region and (d) travel evaluated:
-- since 019 it is alerts_evaluate_rules(), which 019's alerts_evaluate()
-- calls before the diversion, in one transaction, under one lease.
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
        SELECT array_agg(sc.serial ORDER BY sc.serial, sc.at), array_agg(sc.at ORDER BY sc.serial, sc.at),
               array_agg(coalesce(sc.subdivision, sc.country) ORDER BY sc.serial, sc.at)
          INTO tser, tat, treg
          FROM scans sc
         WHERE sc.at >= t - make_interval(secs => maxw) AND sc.serial > 0
           AND coalesce(sc.subdivision, sc.country) IS NOT NULL
           AND sc.serial IN (SELECT x.serial FROM scans x
                              WHERE x.at >= since - interval '30 seconds' AND x.serial > 0);
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
