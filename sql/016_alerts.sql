-- 016_alerts.sql: what the brand takes out (exports) and what the brand is
-- told (alerts). Both stay on the coordinator (exports, alert_rules, alerts,
-- alert_state are its own tables, like the webhook tables): they are small
-- and written only by the coordinator's functions, which read the
-- distributed tables in statements of their own.
-- 1. Exports (docs/api.md, "Exports"): export_begin records an export and
--    writes its audit row, then hands back the one COPY ... TO STDOUT that
--    streams it; export_finish records how it ended and how many rows left.
-- 2. Alerts (docs/alerts.md): rules per brand, alert rows deduplicated per
--    rule and subject within the rule's window, raised set-based by
--    alerts_evaluate() off the request path, told through the outbox
--    (code.suspicious, code.reported).

-- ---- indexes for date ranges and new scanners ------------------------------------------

-- Block-range indexes: rows are written in time order, so a few bytes per
-- range of pages find a date range without a B-tree's cost on every write.
CREATE INDEX scans_at_brin ON scans USING brin (at);
CREATE INDEX redemptions_claimed_brin ON redemptions USING brin (claimed_at);
CREATE INDEX ledger_created_brin ON ledger USING brin (created_at);
CREATE INDEX members_created_brin ON members USING brin (created_at);
-- The scanners counted since the last evaluation (alerts). counted_at
-- changes only when a scanner is counted (again): the updates of last_seen
-- on every scan stay HOT.
CREATE INDEX code_scanners_counted ON code_scanners (counted_at);

-- ---- 1. exports ---------------------------------------------------------------------------

-- One row per export, from its start: who, what, which range, whether
-- member data left unmasked, how it ended and how many rows it had.
-- status: running (streaming now, or the server died mid-way), done,
-- aborted (the client went away), failed (the database failed). A
-- background job (the console's, later) is a row with status queued and
-- a file; its columns are to be added with it.
CREATE TABLE exports (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor       text NOT NULL CHECK (length(actor) <= 100),
    client      inet,
    kind        text NOT NULL CHECK (kind IN ('scans', 'claims', 'members', 'ledger')),
    format      text NOT NULL CHECK (format IN ('csv', 'jsonl')),
    range_from  timestamptz NOT NULL,
    range_to    timestamptz NOT NULL,
    brand_ids   bigint[],
    pii         boolean NOT NULL,
    status      text NOT NULL DEFAULT 'running'
                CHECK (status IN ('running', 'done', 'aborted', 'failed')),
    rows        bigint CHECK (rows >= 0),
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    CHECK (range_to > range_from)
);

-- A member id as the admin API masks it without the pii scope
-- ("+86*******8000"; eight characters or fewer: all stars), as an SQL
-- expression over expr. Built-in functions only: on Citus the expression
-- runs on the workers. The seam for the members' PII: when members carry
-- encrypted phone identities, their masked and unmasked columns are chosen
-- here and in export_sql's members branch.
CREATE FUNCTION export_mask_sql(expr text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT format('CASE WHEN length(%1$s) >= 8 THEN left(%1$s, 3) || repeat(''*'', length(%1$s) - 7)'
                  ' || right(%1$s, 4) ELSE repeat(''*'', length(%1$s)) END', expr)
$$;

-- A text cell for spreadsheets (CSV only): a value starting with = + - @
-- (or a tab or carriage return) gets a leading apostrophe, so that no
-- spreadsheet runs it as a formula (OWASP, "CSV injection").
CREATE FUNCTION export_cell_sql(expr text, csv boolean) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN csv
                THEN format('CASE WHEN %1$s ~ ''^[-=+@\t\r]'' THEN '''''''' || %1$s ELSE %1$s END',
                            expr)
                ELSE expr END
$$;

-- A timestamp as "2026-12-03T06:14:30.123Z".
CREATE FUNCTION export_time_sql(expr text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT format('to_char(%s AT TIME ZONE ''UTC'', ''YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'')', expr)
$$;

-- The COPY ... TO STDOUT of an export. The values are literals, quoted by
-- format('%L') (and the times as epoch numbers), so that the statement
-- needs no parameters (COPY takes none) and runs alike on any connection
-- and on Citus (each table read on its own, with constants the workers
-- can prune by). No ORDER BY: rows come in no particular order, as the
-- database reads them, and nothing is sorted or held.
-- p_brand_ids not NULL: an identity limited to those brands gets only the
-- rows of their codes (scans, claims; ledger: the claims of their codes),
-- the members who claimed one of their codes, and no balances (points are
-- the group's). Without p_pii member ids are masked, and client addresses
-- cut to their /24 (IPv4) or /48 (IPv6).
CREATE FUNCTION export_sql(p_kind text, p_format text, p_from timestamptz, p_to timestamptz,
                           p_brand_ids bigint[], p_pii boolean) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    csv boolean := p_format = 'csv';
    limited boolean := p_brand_ids IS NOT NULL;
    ranges text;
    ids text;
    lo text := format('to_timestamp(%s)', extract(epoch FROM p_from));
    hi text := format('to_timestamp(%s)', extract(epoch FROM p_to));
    names text[];
    exprs text[];
    src text;
    sel text;
BEGIN
    IF limited THEN
        SELECT coalesce(range_agg(int8range(b.serial_first, b.serial_last, '[]'))::text, '{}'),
               coalesce(array_agg(b.id ORDER BY b.id)::text, '{}')
          INTO ranges, ids
          FROM batches b JOIN products p ON p.sku = b.product_sku
          JOIN brands br ON br.name = p.brand
         WHERE br.id = ANY (p_brand_ids);
    END IF;
    IF p_kind = 'scans' THEN
        -- the scans branch's region columns join this list when they land
        names := ARRAY['at', 'serial', 'code', 'kind', 'outcome', 'client', 'user_agent', 'member'];
        exprs := ARRAY[export_time_sql('sc.at'), 'sc.serial', export_cell_sql('sc.code', csv),
                       'sc.kind', 'sc.outcome',
                       CASE WHEN p_pii THEN 'host(sc.client)'
                            ELSE 'host(network(set_masklen(sc.client, CASE WHEN family(sc.client) '
                                 '= 4 THEN 24 ELSE 48 END)))' END,
                       export_cell_sql('sc.user_agent', csv),
                       export_cell_sql(CASE WHEN p_pii THEN 'sc.member'
                                            ELSE export_mask_sql('sc.member') END, csv)];
        src := format('FROM scans sc WHERE sc.at >= %s AND sc.at < %s', lo, hi);
        IF limited THEN
            src := src || format(' AND sc.serial <@ %L::int8multirange', ranges);
        END IF;
    ELSIF p_kind = 'claims' THEN
        names := ARRAY['claimed_at', 'serial', 'batch_id', 'member', 'points'];
        exprs := ARRAY[export_time_sql('r.claimed_at'), 'r.serial', 'r.batch_id',
                       export_cell_sql(CASE WHEN p_pii THEN 'r.member'
                                            ELSE export_mask_sql('r.member') END, csv),
                       'r.points'];
        src := format('FROM redemptions r WHERE r.claimed_at >= %s AND r.claimed_at < %s', lo, hi);
        IF limited THEN
            src := src || format(' AND r.batch_id = ANY (%L::bigint[])', ids);
        END IF;
    ELSIF p_kind = 'members' THEN
        -- members' PII seam: encrypted phone identities add their columns here
        names := ARRAY['member', 'balance', 'created_at'];
        exprs := ARRAY[export_cell_sql(CASE WHEN p_pii THEN 'm.member'
                                            ELSE export_mask_sql('m.member') END, csv),
                       CASE WHEN limited THEN 'NULL::bigint' ELSE 'm.balance' END,
                       export_time_sql('m.created_at')];
        src := format('FROM members m WHERE m.created_at >= %s AND m.created_at < %s', lo, hi);
        IF limited THEN
            src := src || format(' AND m.member IN (SELECT r.member FROM redemptions r '
                                 'WHERE r.batch_id = ANY (%L::bigint[]))', ids);
        END IF;
    ELSIF p_kind = 'ledger' THEN
        names := ARRAY['at', 'member', 'id', 'kind', 'delta', 'balance_after', 'serial',
                       'reference'];
        exprs := ARRAY[export_time_sql('l.created_at'),
                       export_cell_sql(CASE WHEN p_pii THEN 'l.member'
                                            ELSE export_mask_sql('l.member') END, csv),
                       'l.id', 'l.kind', 'l.delta',
                       CASE WHEN limited THEN 'NULL::bigint' ELSE 'l.balance_after' END,
                       'l.serial', export_cell_sql('l.reference', csv)];
        src := format('FROM ledger l WHERE l.created_at >= %s AND l.created_at < %s', lo, hi);
        IF limited THEN
            src := src || format(' AND l.kind = ''claim'' AND l.serial <@ %L::int8multirange',
                                 ranges);
        END IF;
    ELSE
        RAISE EXCEPTION 'unknown export kind %', p_kind USING ERRCODE = '22023';
    END IF;
    IF csv THEN
        SELECT string_agg(format('%s AS %I', e, n), ', ' ORDER BY i) INTO sel
          FROM unnest(exprs, names) WITH ORDINALITY AS u(e, n, i);
        RETURN format('COPY (SELECT %s %s) TO STDOUT WITH (FORMAT csv, HEADER true)', sel, src);
    END IF;
    -- JSON Lines: one object a line, its keys named here (json_build_object:
    -- the same on Citus, where a subquery's column names do not survive);
    -- CSV mode with a quote and a delimiter that JSON text never holds raw
    -- (it escapes every control character), so each line goes out as written.
    SELECT string_agg(format('%L, %s', n, e), ', ' ORDER BY i) INTO sel
      FROM unnest(exprs, names) WITH ORDINALITY AS u(e, n, i);
    RETURN format('COPY (SELECT json_build_object(%s)::text %s) TO STDOUT '
                  'WITH (FORMAT csv, QUOTE E''\x01'', DELIMITER E''\x02'')', sel, src);
END $$;

-- Start an export: its row and its audit row (export.start: who, what,
-- range, format, brands, pii), before any data leaves. Returns its id and
-- the COPY to run. A bad kind or format is SQLSTATE 22023; an empty range
-- violates the table's check (23514).
CREATE FUNCTION export_begin(p_actor text, p_client inet, p_kind text, p_format text,
                             p_from timestamptz, p_to timestamptz, p_brand_ids bigint[],
                             p_pii boolean)
RETURNS TABLE (id bigint, copy_sql text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    eid bigint;
BEGIN
    INSERT INTO exports (actor, client, kind, format, range_from, range_to, brand_ids, pii)
    VALUES (p_actor, p_client, p_kind, p_format, p_from, p_to, p_brand_ids, p_pii)
    RETURNING exports.id INTO eid;
    PERFORM audit_append(p_actor, p_client, 'export.start', p_kind,
                         jsonb_build_object('export_id', eid, 'format', p_format,
                                            'from', webhook_time(p_from), 'to', webhook_time(p_to),
                                            'brands', p_brand_ids, 'pii', p_pii));
    RETURN QUERY SELECT eid, export_sql(p_kind, p_format, p_from, p_to, p_brand_ids, p_pii);
END $$;

-- An export through the admin API: the identity's actor and brands.
CREATE FUNCTION admin_export_begin(p_token bigint, p_client inet, p_kind text, p_format text,
                                   p_from timestamptz, p_to timestamptz, p_pii boolean)
RETURNS TABLE (id bigint, copy_sql text)
LANGUAGE plpgsql AS $$
DECLARE
    who record;
BEGIN
    SELECT * INTO who FROM admin_identity(p_token);
    RETURN QUERY SELECT * FROM export_begin(who.actor, p_client, p_kind, p_format, p_from, p_to,
                                            who.brand_ids, p_pii);
END $$;

-- The end of export p_id: how it ended (done, aborted, failed) and the
-- rows that left. Audited as export.finish (who, what, range, rows).
-- Finishing one that is not running changes nothing (outcome not_running).
CREATE FUNCTION export_finish(p_id bigint, p_rows bigint, p_status text)
RETURNS TABLE (outcome text)
LANGUAGE plpgsql AS $$
DECLARE
    e exports;
BEGIN
    UPDATE exports x SET status = p_status, rows = p_rows, finished_at = now()
     WHERE x.id = p_id AND x.status = 'running'
    RETURNING * INTO e;
    IF e.id IS NULL THEN
        RETURN QUERY SELECT 'not_running'::text;
        RETURN;
    END IF;
    PERFORM audit_append(e.actor, e.client, 'export.finish', e.kind,
                         jsonb_build_object('export_id', e.id, 'format', e.format,
                                            'from', webhook_time(e.range_from),
                                            'to', webhook_time(e.range_to), 'brands', e.brand_ids,
                                            'pii', e.pii, 'status', p_status, 'rows', p_rows));
    RETURN QUERY SELECT 'finished'::text;
END $$;

-- ---- 2. alerts ------------------------------------------------------------------------------

INSERT INTO webhook_event_types (name, subject, description) VALUES
    ('code.suspicious', 'code', 'an alert rule fired: a code seen by too many scanners, '
                                'or too many not-genuine scans'),
    ('code.reported', 'code', 'a consumer reported a code from the landing page');

-- A brand's rule. kind:
--   scanners     a code seen by more than threshold distinct scanners
--                within window_s (code_scanners of 007_consumer.sql);
--   not_genuine  more than threshold not-genuine scans within window_s,
--                over all (such scans name no code, so no brand: a rule of
--                every brand only); per region once scans carry one
--                (region, the seam: NULL means over all);
--   travel       one code in two regions too far apart for the time
--                between: reserved, evaluated once scans carry a location.
-- brand_id: the brand whose codes it watches (NULL: every brand).
CREATE TABLE alert_rules (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('scanners', 'not_genuine', 'travel')),
    threshold   integer NOT NULL CHECK (threshold BETWEEN 1 AND 1000000),
    window_s    integer NOT NULL CHECK (window_s BETWEEN 60 AND 2592000),
    brand_id    bigint REFERENCES brands (id),
    region      text CHECK (length(region) <= 64),
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  text NOT NULL CHECK (length(created_by) <= 100),
    deleted_at  timestamptz,
    CHECK (kind <> 'not_genuine' OR brand_id IS NULL)
);

-- An alert: a rule fired for a subject ('code:SERIAL', 'scans:not_genuine'),
-- or a consumer reported a code (rule_id NULL, report_id). brand: the brand
-- of the code ('' for none), which decides who sees it. bucket: the rule's
-- window the alert was raised in (epoch / window_s), a backstop for the
-- dedup so that two evaluations at once cannot raise one twice.
CREATE TABLE alerts (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rule_id         bigint REFERENCES alert_rules (id),
    report_id       bigint UNIQUE,
    kind            text NOT NULL CHECK (kind IN ('scanners', 'not_genuine', 'travel', 'report')),
    subject         text NOT NULL CHECK (length(subject) <= 200),
    serial          bigint,
    brand           text NOT NULL CHECK (length(brand) <= 200),
    bucket          bigint NOT NULL DEFAULT 0,
    detail          jsonb NOT NULL,
    raised_at       timestamptz NOT NULL DEFAULT now(),
    acknowledged_at timestamptz,
    acknowledged_by text CHECK (length(acknowledged_by) <= 100)
);
CREATE UNIQUE INDEX alerts_dedup ON alerts (rule_id, subject, bucket) WHERE rule_id IS NOT NULL;
CREATE INDEX alerts_recent ON alerts (rule_id, subject, raised_at);
CREATE INDEX alerts_brand ON alerts (brand, id);

-- Where the evaluation got to: new scanners are looked for from here.
CREATE TABLE alert_state (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    scanners_from  timestamptz NOT NULL,
    evaluated_at   timestamptz
);
INSERT INTO alert_state (scanners_from) VALUES (now());

-- Raise what is due, once: reports not alerted yet, then each live rule.
-- Set-based, one transaction, under an advisory lock taken without waiting
-- (the lease): when several servers evaluate at once, one does the work
-- and the others return -1 at once; alerts_dedup stands behind it anyway.
-- The distributed tables (code_scanners, scans) are read in statements of
-- their own, their results kept in arrays; the rest is the coordinator's.
-- A scanners rule looks at codes that got a new scanner since the last
-- evaluation (30 seconds of overlap for scan transactions still open then),
-- and raises for a code at most once per window. Returns the alerts raised.
CREATE FUNCTION alerts_evaluate() RETURNS integer
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

    -- (b) not-genuine scans over a rate, over all. The region seam: once
    -- scans carry a region, a rule with a region counts only its scans and
    -- its subject becomes 'region:' || region.
    FOR rule IN SELECT * FROM alert_rules ar
                 WHERE ar.kind = 'not_genuine' AND ar.deleted_at IS NULL AND ar.region IS NULL
                 ORDER BY ar.id LOOP
        SELECT count(*) INTO total FROM scans sc
         WHERE sc.at >= t - make_interval(secs => rule.window_s) AND sc.outcome = 'not_genuine';
        CONTINUE WHEN total <= rule.threshold;
        CONTINUE WHEN EXISTS (SELECT 1 FROM alerts a
                               WHERE a.rule_id = rule.id AND a.subject = 'scans:not_genuine'
                                 AND a.raised_at > t - make_interval(secs => rule.window_s));
        WITH ins AS (
            INSERT INTO alerts (rule_id, kind, subject, brand, bucket, detail, raised_at)
            VALUES (rule.id, 'not_genuine', 'scans:not_genuine', '',
                    floor(extract(epoch FROM t) / rule.window_s)::bigint,
                    jsonb_build_object('rule', rule.id, 'reason', 'not_genuine', 'scans', total,
                                       'threshold', rule.threshold, 'window_s', rule.window_s,
                                       'region', NULL), t)
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

    -- (d) travel: the seam. Needs each scan's location (the scans branch's
    -- region, and a distance between regions); rules of this kind are kept
    -- and not evaluated until then.

    UPDATE alert_state s SET scanners_from = t, evaluated_at = t;
    RETURN raised;
END $$;

-- ---- alert rules and alerts: the write path (audited) and the admin API ----

-- A new rule, for brand p_brand (a name; NULL: every brand) by an identity
-- of brands p_brand_ids (NULL: every brand). outcome: added | forbidden_brand
-- (not one of the identity's brands, or every brand asked by a limited
-- identity) | unknown_brand | brand_not_allowed (a not_genuine rule is of
-- every brand). Audited as alert_rule.add.
CREATE FUNCTION alert_rule_add(p_actor text, p_client inet, p_kind text, p_threshold integer,
                               p_window_s integer, p_brand text, p_brand_ids bigint[])
RETURNS TABLE (outcome text, id bigint, created_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    bid bigint;
    rid bigint;
    at timestamptz;
BEGIN
    IF p_brand IS NOT NULL THEN
        SELECT b.id INTO bid FROM brands b WHERE b.name = p_brand;
        IF bid IS NULL THEN
            RETURN QUERY SELECT 'unknown_brand'::text, NULL::bigint, NULL::timestamptz;
            RETURN;
        END IF;
    END IF;
    IF p_brand_ids IS NOT NULL AND (bid IS NULL OR NOT bid = ANY (p_brand_ids)) THEN
        RETURN QUERY SELECT 'forbidden_brand'::text, NULL::bigint, NULL::timestamptz;
        RETURN;
    END IF;
    IF p_kind = 'not_genuine' AND bid IS NOT NULL THEN
        RETURN QUERY SELECT 'brand_not_allowed'::text, NULL::bigint, NULL::timestamptz;
        RETURN;
    END IF;
    INSERT INTO alert_rules (kind, threshold, window_s, brand_id, created_by)
    VALUES (p_kind, p_threshold, p_window_s, bid, p_actor)
    RETURNING alert_rules.id, alert_rules.created_at INTO rid, at;
    PERFORM audit_append(p_actor, p_client, 'alert_rule.add', rid::text,
                         jsonb_build_object('kind', p_kind, 'threshold', p_threshold,
                                            'window_s', p_window_s, 'brand', p_brand));
    RETURN QUERY SELECT 'added'::text, rid, at;
END $$;

-- Delete a rule (it stays, with deleted_at, for its alerts). outcome:
-- deleted | unknown_rule (none, deleted, or not visible to p_brand_ids).
-- Audited as alert_rule.delete.
CREATE FUNCTION alert_rule_delete(p_actor text, p_client inet, p_rule bigint, p_brand_ids bigint[])
RETURNS TABLE (outcome text)
LANGUAGE plpgsql AS $$
DECLARE
    rid bigint;
BEGIN
    UPDATE alert_rules ar SET deleted_at = now()
     WHERE ar.id = p_rule AND ar.deleted_at IS NULL
       AND (p_brand_ids IS NULL OR ar.brand_id = ANY (p_brand_ids))
    RETURNING ar.id INTO rid;
    IF rid IS NULL THEN
        RETURN QUERY SELECT 'unknown_rule'::text;
        RETURN;
    END IF;
    PERFORM audit_append(p_actor, p_client, 'alert_rule.delete', rid::text, NULL);
    RETURN QUERY SELECT 'deleted'::text;
END $$;

-- Acknowledge an alert. outcome: acknowledged | already (its first
-- acknowledgement stands) | unknown_alert (none, or not visible to
-- p_brand_ids). Audited as alert.acknowledge.
CREATE FUNCTION alert_acknowledge(p_actor text, p_client inet, p_alert bigint,
                                  p_brand_ids bigint[])
RETURNS TABLE (outcome text, acknowledged_at timestamptz, acknowledged_by text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    a alerts;
BEGIN
    SELECT * INTO a FROM alerts x WHERE x.id = p_alert FOR UPDATE;
    IF a.id IS NULL OR NOT brand_allowed(p_brand_ids, a.brand) THEN
        RETURN QUERY SELECT 'unknown_alert'::text, NULL::timestamptz, NULL::text;
        RETURN;
    END IF;
    IF a.acknowledged_at IS NOT NULL THEN
        RETURN QUERY SELECT 'already'::text, a.acknowledged_at, a.acknowledged_by;
        RETURN;
    END IF;
    UPDATE alerts x SET acknowledged_at = now(), acknowledged_by = p_actor WHERE x.id = a.id;
    PERFORM audit_append(p_actor, p_client, 'alert.acknowledge', a.id::text,
                         jsonb_build_object('kind', a.kind, 'subject', a.subject));
    RETURN QUERY SELECT 'acknowledged'::text, now(), p_actor;
END $$;

CREATE FUNCTION admin_alert_rule_add(p_token bigint, p_client inet, p_kind text,
                                     p_threshold integer, p_window_s integer, p_brand text)
RETURNS TABLE (outcome text, id bigint, created_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    who record;
BEGIN
    SELECT * INTO who FROM admin_identity(p_token);
    RETURN QUERY SELECT * FROM alert_rule_add(who.actor, p_client, p_kind, p_threshold, p_window_s,
                                              p_brand, who.brand_ids);
END $$;

CREATE FUNCTION admin_alert_rule_delete(p_token bigint, p_client inet, p_rule bigint)
RETURNS TABLE (outcome text)
LANGUAGE plpgsql AS $$
DECLARE
    who record;
BEGIN
    SELECT * INTO who FROM admin_identity(p_token);
    RETURN QUERY SELECT * FROM alert_rule_delete(who.actor, p_client, p_rule, who.brand_ids);
END $$;

CREATE FUNCTION admin_alert_acknowledge(p_token bigint, p_client inet, p_alert bigint)
RETURNS TABLE (outcome text, acknowledged_at timestamptz, acknowledged_by text)
LANGUAGE plpgsql AS $$
DECLARE
    who record;
BEGIN
    SELECT * INTO who FROM admin_identity(p_token);
    RETURN QUERY SELECT * FROM alert_acknowledge(who.actor, p_client, p_alert, who.brand_ids);
END $$;

-- The live rules an identity of brands p_brands may see.
CREATE FUNCTION admin_alert_rules(p_brands bigint[])
RETURNS TABLE (id bigint, kind text, threshold integer, window_s integer, brand text,
               created_at timestamptz, created_by text)
LANGUAGE sql STABLE AS $$
    SELECT ar.id, ar.kind, ar.threshold, ar.window_s, b.name, ar.created_at, ar.created_by
      FROM alert_rules ar LEFT JOIN brands b ON b.id = ar.brand_id
     WHERE ar.deleted_at IS NULL AND (p_brands IS NULL OR ar.brand_id = ANY (p_brands))
     ORDER BY ar.id
$$;

-- Alerts newest first (keyset: ids below p_before), of the brands an
-- identity of p_brands may see; p_open: only those not acknowledged.
CREATE FUNCTION admin_alerts(p_before bigint, p_limit integer, p_open boolean, p_brands bigint[])
RETURNS TABLE (id bigint, kind text, rule_id bigint, subject text, serial bigint, brand text,
               detail jsonb, raised_at timestamptz, acknowledged_at timestamptz,
               acknowledged_by text)
LANGUAGE sql STABLE AS $$
    SELECT a.id, a.kind, a.rule_id, a.subject, a.serial, a.brand, a.detail, a.raised_at,
           a.acknowledged_at, a.acknowledged_by
      FROM alerts a
     WHERE a.id < coalesce(p_before, 9223372036854775807)
       AND (NOT coalesce(p_open, false) OR a.acknowledged_at IS NULL)
       AND brand_allowed(p_brands, a.brand)
     ORDER BY a.id DESC
     LIMIT p_limit
$$;
