-- 019_distributors.sql: distributors, their sales territories, shipments,
-- and diversion (窜货) alerts (docs/supply-chain.md, "Distributors").
--
-- The tables, for whoever reads them (the EPCIS events of a later migration
-- among them):
--
--   gbt2260          reference: GB/T 2260 administrative division codes we
--       know (provinces, 2 digits; prefecture-level cities, 4 digits) and
--       the ISO 3166-2 subdivision (CN-ZJ) and English city name (Hangzhou)
--       under which the geolocation database (--geoip, sql/015_scans.sql)
--       stores a scan of theirs.
--   distributors     a brand's distributor: name, brand; deleted_at when
--       deleted (kept for its shipments and alerts). EPCIS: a party (the
--       destination of a shipping event).
--   distributor_regions  a distributor's sales territory, one row per
--       region as entered (code: "CN", "CN-ZJ", "33", "330000", "3301")
--       and as scans store regions (country ISO 3166-1 alpha-2,
--       subdivision ISO 3166-2, city the English name; NULL: any). A scan
--       is in the territory when it is in one of its rows. No rows: no
--       territory is checked.
--   shipments        one row per shipment: which distributor, when, who,
--       the brand's reference (a delivery note). EPCIS: a shipping event
--       (shipped_at, destination the distributor).
--   shipment_items   what a shipment holds, one row per unit named, never
--       per code: kind 'pallet' (parent: the SSCC as a number), 'case'
--       (parent: the case's serial), 'range' or 'batch' (batch_id,
--       serial_first..serial_last, serials not sequence numbers). A code's
--       shipment is the latest that names it, its case or its pallet
--       (pack_links of sql/018_packing.sql). EPCIS: the shipping event's
--       EPCs (SSCCs, case and item SGTINs, or an EPC class and range).
--
-- Diversion: alerts_evaluate() (sql/016_alerts.sql) also looks at the
-- consumer scans since its last run that have a region and a genuine
-- outcome; a scan of a code shipped to a distributor whose territory does
-- not hold the scan's region raises an alert of kind 'diversion' (one per
-- code and shipment) and the webhook event code.diverted, off the request
-- path like the other alerts.

CREATE TABLE gbt2260 (
    code         text PRIMARY KEY CHECK (code ~ '^[0-9]{2}([0-9]{2})?$'),
    subdivision  text NOT NULL,
    city         text,
    name         text NOT NULL
);
INSERT INTO gbt2260 (code, subdivision, name) VALUES
    ('11', 'CN-BJ', 'Beijing'), ('12', 'CN-TJ', 'Tianjin'), ('13', 'CN-HE', 'Hebei'),
    ('14', 'CN-SX', 'Shanxi'), ('15', 'CN-NM', 'Inner Mongolia'), ('21', 'CN-LN', 'Liaoning'),
    ('22', 'CN-JL', 'Jilin'), ('23', 'CN-HL', 'Heilongjiang'), ('31', 'CN-SH', 'Shanghai'),
    ('32', 'CN-JS', 'Jiangsu'), ('33', 'CN-ZJ', 'Zhejiang'), ('34', 'CN-AH', 'Anhui'),
    ('35', 'CN-FJ', 'Fujian'), ('36', 'CN-JX', 'Jiangxi'), ('37', 'CN-SD', 'Shandong'),
    ('41', 'CN-HA', 'Henan'), ('42', 'CN-HB', 'Hubei'), ('43', 'CN-HN', 'Hunan'),
    ('44', 'CN-GD', 'Guangdong'), ('45', 'CN-GX', 'Guangxi'), ('46', 'CN-HI', 'Hainan'),
    ('50', 'CN-CQ', 'Chongqing'), ('51', 'CN-SC', 'Sichuan'), ('52', 'CN-GZ', 'Guizhou'),
    ('53', 'CN-YN', 'Yunnan'), ('54', 'CN-XZ', 'Tibet'), ('61', 'CN-SN', 'Shaanxi'),
    ('62', 'CN-GS', 'Gansu'), ('63', 'CN-QH', 'Qinghai'), ('64', 'CN-NX', 'Ningxia'),
    ('65', 'CN-XJ', 'Xinjiang'), ('71', 'CN-TW', 'Taiwan'), ('81', 'CN-HK', 'Hong Kong'),
    ('82', 'CN-MO', 'Macao');
INSERT INTO gbt2260 (code, subdivision, city, name)
SELECT c.code, g.subdivision, c.city, c.city
  FROM (VALUES ('1301', 'Shijiazhuang'), ('1401', 'Taiyuan'), ('1501', 'Hohhot'),
               ('2101', 'Shenyang'), ('2102', 'Dalian'), ('2201', 'Changchun'),
               ('2301', 'Harbin'), ('3201', 'Nanjing'), ('3202', 'Wuxi'), ('3205', 'Suzhou'),
               ('3301', 'Hangzhou'), ('3302', 'Ningbo'), ('3303', 'Wenzhou'),
               ('3307', 'Jinhua'), ('3401', 'Hefei'), ('3501', 'Fuzhou'), ('3502', 'Xiamen'),
               ('3601', 'Nanchang'), ('3701', 'Jinan'), ('3702', 'Qingdao'),
               ('4101', 'Zhengzhou'), ('4201', 'Wuhan'), ('4301', 'Changsha'),
               ('4401', 'Guangzhou'), ('4403', 'Shenzhen'), ('4404', 'Zhuhai'),
               ('4406', 'Foshan'), ('4419', 'Dongguan'), ('4501', 'Nanning'),
               ('4601', 'Haikou'), ('5101', 'Chengdu'), ('5201', 'Guiyang'),
               ('5301', 'Kunming'), ('5401', 'Lhasa'), ('6101', 'Xi''an'),
               ('6201', 'Lanzhou'), ('6301', 'Xining'), ('6401', 'Yinchuan'),
               ('6501', 'Urumqi')) c(code, city)
  JOIN gbt2260 g ON g.code = left(c.code, 2);

CREATE TABLE distributors (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    brand_id    bigint NOT NULL REFERENCES brands (id),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  text NOT NULL CHECK (length(created_by) <= 200),
    deleted_at  timestamptz
);
CREATE UNIQUE INDEX distributors_name ON distributors (brand_id, name) WHERE deleted_at IS NULL;

CREATE TABLE distributor_regions (
    distributor_id  bigint NOT NULL REFERENCES distributors (id),
    code            text NOT NULL CHECK (length(code) <= 16),
    country         text NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    subdivision     text,
    city            text,
    PRIMARY KEY (distributor_id, code)
);

CREATE TABLE shipments (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    brand_id        bigint NOT NULL REFERENCES brands (id),
    distributor_id  bigint NOT NULL REFERENCES distributors (id),
    shipped_at      timestamptz NOT NULL DEFAULT now(),
    actor           text NOT NULL CHECK (length(actor) <= 200),
    reference       text CHECK (length(reference) <= 200)
);
CREATE INDEX shipments_distributor ON shipments (distributor_id, id);

CREATE TABLE shipment_items (
    shipment_id   bigint NOT NULL REFERENCES shipments (id),
    ord           integer NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('pallet', 'case', 'range', 'batch')),
    parent        bigint,
    batch_id      bigint,
    serial_first  bigint,
    serial_last   bigint,
    PRIMARY KEY (shipment_id, ord),
    CHECK ((kind IN ('pallet', 'case')) = (parent IS NOT NULL)),
    CHECK ((kind IN ('range', 'batch')) = (serial_first IS NOT NULL AND serial_last >= serial_first))
);
CREATE INDEX shipment_items_parent ON shipment_items (parent) WHERE parent IS NOT NULL;
CREATE INDEX shipment_items_range ON shipment_items (serial_first) WHERE serial_first IS NOT NULL;

ALTER TABLE alerts DROP CONSTRAINT alerts_kind_check;
ALTER TABLE alerts ADD CONSTRAINT alerts_kind_check
    CHECK (kind IN ('scanners', 'not_genuine', 'travel', 'report', 'diversion'));
-- a diversion alert: once per code (subject) and shipment (bucket)
CREATE UNIQUE INDEX alerts_diversion_dedup ON alerts (subject, bucket) WHERE kind = 'diversion';

INSERT INTO webhook_event_types (name, subject, description) VALUES
    ('code.diverted', 'code', 'a code shipped to a distributor was scanned outside its territory');

-- ---- regions ----------------------------------------------------------------------------

-- A territory's region as scans store one: "CN" (ISO 3166-1), "CN-ZJ"
-- (ISO 3166-2), GB/T 2260 "33" / "330000" (a province) or "3301" /
-- "330100" (a city we know: gbt2260). 22023 for anything else.
CREATE FUNCTION region_parse(p_code text, OUT country text, OUT subdivision text, OUT city text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    g gbt2260;
    c text := upper(p_code);
BEGIN
    IF c ~ '^[A-Z]{2}$' THEN
        country := c;
    ELSIF c ~ '^[A-Z]{2}-[A-Z0-9]{1,3}$' THEN
        country := left(c, 2);
        subdivision := c;
    ELSIF c ~ '^[0-9]{2}(0000)?$' OR c ~ '^[0-9]{4}(00)?$' THEN
        SELECT * INTO g FROM gbt2260 x
         WHERE x.code = CASE WHEN c ~ '^[0-9]{2}(0000)?$' THEN left(c, 2) ELSE left(c, 4) END;
        IF g.code IS NULL THEN
            RAISE EXCEPTION 'region %: no GB/T 2260 province or city we know', p_code
                USING ERRCODE = '22023';
        END IF;
        country := 'CN';
        subdivision := g.subdivision;
        city := g.city;
    ELSE
        RAISE EXCEPTION 'region %: an ISO 3166 country (CN), subdivision (CN-ZJ) or a GB/T 2260 code (33, 3301)',
            p_code USING ERRCODE = '22023';
    END IF;
END $$;

-- ---- distributors: the write path (audited) --------------------------------------------

-- Replace a distributor's territory with p_regions (region_parse each).
CREATE FUNCTION distributor_territory_set(p_id bigint, p_regions text[]) RETURNS void
LANGUAGE sql AS $$
    DELETE FROM distributor_regions r WHERE r.distributor_id = p_id;
    INSERT INTO distributor_regions (distributor_id, code, country, subdivision, city)
    SELECT DISTINCT ON (upper(u.c)) p_id, upper(u.c), g.country, g.subdivision, g.city
      FROM unnest(p_regions) u(c), region_parse(u.c) g
     ORDER BY upper(u.c);
$$;

-- A new distributor of brand p_brand. outcome: added | exists (that name,
-- alive) | unknown_brand | forbidden_brand; a bad region is 22023.
-- Audited as distributor.add.
CREATE FUNCTION distributor_add(p_actor text, p_client inet, p_brand text, p_name text,
                                p_regions text[], p_brand_ids bigint[])
RETURNS TABLE (outcome text, id bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    bid bigint;
    did bigint;
BEGIN
    SELECT b.id INTO bid FROM brands b WHERE b.name = p_brand;
    IF bid IS NULL THEN
        RETURN QUERY SELECT 'unknown_brand'::text, NULL::bigint;
        RETURN;
    END IF;
    IF p_brand_ids IS NOT NULL AND NOT bid = ANY (p_brand_ids) THEN
        RETURN QUERY SELECT 'forbidden_brand'::text, NULL::bigint;
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM distributors d
                WHERE d.brand_id = bid AND d.name = p_name AND d.deleted_at IS NULL) THEN
        RETURN QUERY SELECT 'exists'::text, NULL::bigint;
        RETURN;
    END IF;
    INSERT INTO distributors (brand_id, name, created_by) VALUES (bid, p_name, p_actor)
    RETURNING distributors.id INTO did;
    PERFORM distributor_territory_set(did, coalesce(p_regions, '{}'));
    PERFORM audit_append(p_actor, p_client, 'distributor.add', did::text,
                         jsonb_build_object('brand', p_brand, 'name', p_name,
                                            'territory', to_jsonb(coalesce(p_regions, '{}'))));
    RETURN QUERY SELECT 'added'::text, did;
END $$;

-- Change a distributor: a new name (NULL: kept) and/or territory (NULL:
-- kept; '{}': none). outcome: changed | unknown_distributor (none, deleted,
-- or not of p_brand_ids) | exists. Audited as distributor.change.
CREATE FUNCTION distributor_change(p_actor text, p_client inet, p_id bigint, p_name text,
                                   p_regions text[], p_brand_ids bigint[])
RETURNS TABLE (outcome text)
LANGUAGE plpgsql AS $$
DECLARE
    d distributors;
BEGIN
    SELECT * INTO d FROM distributors x
     WHERE x.id = p_id AND x.deleted_at IS NULL
       AND (p_brand_ids IS NULL OR x.brand_id = ANY (p_brand_ids)) FOR UPDATE;
    IF d.id IS NULL THEN
        RETURN QUERY SELECT 'unknown_distributor'::text;
        RETURN;
    END IF;
    IF p_name IS NOT NULL AND p_name <> d.name AND EXISTS (
        SELECT 1 FROM distributors x
         WHERE x.brand_id = d.brand_id AND x.name = p_name AND x.deleted_at IS NULL) THEN
        RETURN QUERY SELECT 'exists'::text;
        RETURN;
    END IF;
    UPDATE distributors x SET name = coalesce(p_name, x.name) WHERE x.id = p_id;
    IF p_regions IS NOT NULL THEN
        PERFORM distributor_territory_set(p_id, p_regions);
    END IF;
    PERFORM audit_append(p_actor, p_client, 'distributor.change', p_id::text,
                         jsonb_build_object('name', p_name, 'territory', to_jsonb(p_regions)));
    RETURN QUERY SELECT 'changed'::text;
END $$;

-- Delete a distributor (kept, deleted_at set, for its shipments and
-- alerts). outcome: deleted | unknown_distributor. Audited.
CREATE FUNCTION distributor_delete(p_actor text, p_client inet, p_id bigint, p_brand_ids bigint[])
RETURNS TABLE (outcome text)
LANGUAGE plpgsql AS $$
DECLARE
    did bigint;
BEGIN
    UPDATE distributors x SET deleted_at = now()
     WHERE x.id = p_id AND x.deleted_at IS NULL
       AND (p_brand_ids IS NULL OR x.brand_id = ANY (p_brand_ids))
    RETURNING x.id INTO did;
    IF did IS NULL THEN
        RETURN QUERY SELECT 'unknown_distributor'::text;
        RETURN;
    END IF;
    PERFORM audit_append(p_actor, p_client, 'distributor.delete', did::text, NULL);
    RETURN QUERY SELECT 'deleted'::text;
END $$;

-- The live distributors an identity of p_brand_ids may see, as JSON rows.
CREATE FUNCTION distributors_list(p_brand_ids bigint[])
RETURNS TABLE (id bigint, brand text, name text, territory text[], created_at timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT d.id, b.name, d.name,
           coalesce((SELECT array_agg(r.code ORDER BY r.code) FROM distributor_regions r
                      WHERE r.distributor_id = d.id), '{}'),
           d.created_at
      FROM distributors d JOIN brands b ON b.id = d.brand_id
     WHERE d.deleted_at IS NULL AND (p_brand_ids IS NULL OR d.brand_id = ANY (p_brand_ids))
     ORDER BY d.id
$$;

-- ---- shipments ------------------------------------------------------------------------

-- Ship units to distributor p_distributor: item i is p_kinds[i] with
-- p_values[i] ('pallet': the SSCC as a number; 'case': the case's serial;
-- 'batch': the batch id) or, for 'range', p_values[i] the batch and
-- p_firsts[i]..p_lasts[i] sequence numbers of it (1 = its first code).
-- Each must be the distributor's brand's. outcome: shipped |
-- unknown_distributor (none, deleted, not of p_brand_ids); a bad item is
-- 22023 "item N: why", nothing written. Audited as shipment.add.
CREATE FUNCTION shipment_add(p_actor text, p_client inet, p_distributor bigint, p_reference text,
                             p_kinds text[], p_values bigint[], p_firsts bigint[],
                             p_lasts bigint[], p_brand_ids bigint[])
RETURNS TABLE (outcome text, id bigint, shipped_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    d record;
    sid bigint;
    t timestamptz := now();
    i integer;
    b record;
    k text;
    v bigint;
BEGIN
    SELECT x.id, x.brand_id, br.name AS brand INTO d
      FROM distributors x JOIN brands br ON br.id = x.brand_id
     WHERE x.id = p_distributor AND x.deleted_at IS NULL
       AND (p_brand_ids IS NULL OR x.brand_id = ANY (p_brand_ids));
    IF d.id IS NULL THEN
        RETURN QUERY SELECT 'unknown_distributor'::text, NULL::bigint, NULL::timestamptz;
        RETURN;
    END IF;
    IF coalesce(cardinality(p_kinds), 0) = 0 THEN
        RAISE EXCEPTION 'a shipment holds at least one pallet, case, batch or range'
            USING ERRCODE = '22023';
    END IF;
    INSERT INTO shipments (brand_id, distributor_id, shipped_at, actor, reference)
    VALUES (d.brand_id, d.id, t, p_actor, p_reference)
    RETURNING shipments.id INTO sid;
    FOR i IN 1 .. cardinality(p_kinds) LOOP
        k := p_kinds[i];
        v := p_values[i];
        IF k = 'pallet' THEN
            IF pack_parent_brand(true, v) IS DISTINCT FROM d.brand THEN
                RAISE EXCEPTION 'item %: SSCC % is no pallet of brand %', i,
                    lpad(v::text, 18, '0'), d.brand USING ERRCODE = '22023';
            END IF;
            INSERT INTO shipment_items (shipment_id, ord, kind, parent) VALUES (sid, i, k, v);
        ELSIF k = 'case' THEN
            IF pack_parent_brand(false, v) IS DISTINCT FROM d.brand THEN
                RAISE EXCEPTION 'item %: no case of brand %', i, d.brand USING ERRCODE = '22023';
            END IF;
            INSERT INTO shipment_items (shipment_id, ord, kind, parent) VALUES (sid, i, k, v);
        ELSIF k IN ('batch', 'range') THEN
            SELECT bt.id, bt.serial_first AS f, bt.serial_last AS l, p.brand INTO b
              FROM batches bt JOIN products p ON p.sku = bt.product_sku WHERE bt.id = v;
            IF b.id IS NULL OR b.brand <> d.brand THEN
                RAISE EXCEPTION 'item %: no batch % of brand %', i, v, d.brand
                    USING ERRCODE = '22023';
            END IF;
            IF k = 'range' AND (p_firsts[i] IS NULL OR p_lasts[i] IS NULL OR p_firsts[i] < 1
                                OR p_lasts[i] > b.l - b.f + 1 OR p_firsts[i] > p_lasts[i]) THEN
                RAISE EXCEPTION 'item %: the range is codes of batch % numbered 1 to %', i, v,
                    b.l - b.f + 1 USING ERRCODE = '22023';
            END IF;
            INSERT INTO shipment_items (shipment_id, ord, kind, batch_id, serial_first, serial_last)
            VALUES (sid, i, k, v,
                    CASE WHEN k = 'range' THEN b.f + p_firsts[i] - 1 ELSE b.f END,
                    CASE WHEN k = 'range' THEN b.f + p_lasts[i] - 1 ELSE b.l END);
        ELSE
            RAISE EXCEPTION 'item %: a pallet, case, batch or range, not %', i, k
                USING ERRCODE = '22023';
        END IF;
    END LOOP;
    PERFORM audit_append(p_actor, p_client, 'shipment.add', sid::text,
                         jsonb_build_object('distributor', d.id, 'brand', d.brand,
                                            'reference', p_reference,
                                            'items', (SELECT jsonb_agg(to_jsonb(si) - 'shipment_id'
                                                                       ORDER BY si.ord)
                                                        FROM shipment_items si
                                                       WHERE si.shipment_id = sid)));
    RETURN QUERY SELECT 'shipped'::text, sid, t;
END $$;

-- The shipment each serial of p_serials was last shipped in (NULL: none):
-- named itself (its range, its batch, as a case), through its case, or its
-- pallet (directly or through its case).
CREATE FUNCTION shipment_of(p_serials bigint[])
RETURNS TABLE (ord integer, serial bigint, case_serial bigint, pallet bigint, shipment_id bigint)
LANGUAGE sql STABLE AS $$
    SELECT p.i::integer, p.s, p.case_serial, p.pallet,
           (SELECT si.shipment_id FROM shipment_items si
             WHERE (si.serial_first IS NOT NULL AND si.serial_first <= p.s AND si.serial_last >= p.s)
                OR (si.kind = 'case' AND si.parent IN (p.s, p.case_serial))
                OR (si.kind = 'pallet' AND si.parent = p.pallet)
             ORDER BY si.shipment_id DESC LIMIT 1)
      FROM (SELECT u.i, u.s, CASE WHEN NOT c.pallet THEN c.parent END AS case_serial,
                   CASE WHEN c.pallet THEN c.parent ELSE pp.parent END AS pallet
              FROM unnest(p_serials) WITH ORDINALITY AS u(s, i)
              LEFT JOIN pack_links c ON c.child = u.s
              LEFT JOIN pack_links pp ON NOT c.pallet AND pp.child = c.parent AND pp.pallet) p
$$;

-- An item's chain for the brand's staff (never the public): its case, its
-- pallet, its last shipment and distributor. NULL where there is none; no
-- row for a code of a brand p_brand_ids may not see.
CREATE FUNCTION pack_chain(p_serial bigint, p_brand_ids bigint[])
RETURNS TABLE (serial bigint, batch_id bigint, case_serial bigint, case_batch bigint,
               case_key smallint, pallet text, shipment_id bigint, shipped_at timestamptz,
               reference text, distributor_id bigint, distributor text, territory text[])
LANGUAGE sql STABLE AS $$
    SELECT s.serial, b.id, s.case_serial, cb.id, cb.key_id, sscc_text(s.pallet / 10),
           sh.id, sh.shipped_at, sh.reference, d.id, d.name,
           (SELECT array_agg(r.code ORDER BY r.code) FROM distributor_regions r
             WHERE r.distributor_id = d.id)
      FROM shipment_of(ARRAY[p_serial]) s
      JOIN batches b ON s.serial BETWEEN b.serial_first AND b.serial_last
      JOIN products p ON p.sku = b.product_sku
      LEFT JOIN batches cb ON s.case_serial BETWEEN cb.serial_first AND cb.serial_last
      LEFT JOIN shipments sh ON sh.id = s.shipment_id
      LEFT JOIN distributors d ON d.id = sh.distributor_id
     WHERE brand_allowed(p_brand_ids, p.brand)
$$;

-- ---- diversion, evaluated with the other alerts ------------------------------------------

-- Raise a diversion alert for each consumer scan since p_since (less 30
-- seconds for scan transactions still open then) that has a region and a
-- genuine outcome, of a code whose last shipment went to a distributor
-- with a territory not holding the scan's region: once per code and
-- shipment. The scans (distributed on Citus) are read in a statement of
-- their own. Returns the alerts raised.
CREATE FUNCTION alerts_evaluate_diversion(p_since timestamptz) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    t timestamptz := now();
    ser bigint[];
    ats timestamptz[];
    cos text[];
    sds text[];
    cis text[];
    kds text[];
    subj text[];
    brs text[];
    dat jsonb[];
    n integer;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM shipments) THEN
        RETURN 0;
    END IF;
    SELECT array_agg(x.serial ORDER BY x.at), array_agg(x.at ORDER BY x.at),
           array_agg(x.country ORDER BY x.at), array_agg(x.subdivision ORDER BY x.at),
           array_agg(x.city ORDER BY x.at), array_agg(x.kind ORDER BY x.at)
      INTO ser, ats, cos, sds, cis, kds
      FROM (SELECT sc.serial, sc.at, sc.country, sc.subdivision, sc.city, sc.kind
              FROM scans sc
             WHERE sc.at > p_since - interval '30 seconds' AND sc.serial <> 0
               AND sc.country IS NOT NULL
               AND sc.outcome IN ('genuine', 'awarded', 'repeat', 'already_claimed')) x;
    IF ser IS NULL THEN
        RETURN 0;
    END IF;
    WITH sc AS (
        SELECT u.i, u.s, u.at, u.co, u.sd, u.ci, u.kd
          FROM unnest(ser, ats, cos, sds, cis, kds) WITH ORDINALITY AS u(s, at, co, sd, ci, kd, i)),
    sh AS (
        SELECT sc.*, so.case_serial, so.pallet, so.shipment_id
          FROM sc JOIN shipment_of(ser) so ON so.ord = sc.i
         WHERE so.shipment_id IS NOT NULL),
    out AS (
        SELECT DISTINCT ON (sh.s, sh.shipment_id) sh.*, d.id AS did, d.name AS dname,
               b.id AS batch, p.sku, p.brand
          FROM sh
          JOIN shipments s ON s.id = sh.shipment_id
          JOIN distributors d ON d.id = s.distributor_id
          JOIN batches b ON sh.s BETWEEN b.serial_first AND b.serial_last
          JOIN products p ON p.sku = b.product_sku
         WHERE EXISTS (SELECT 1 FROM distributor_regions r WHERE r.distributor_id = d.id)
           AND NOT EXISTS (SELECT 1 FROM distributor_regions r
                            WHERE r.distributor_id = d.id AND r.country = sh.co
                              AND (r.subdivision IS NULL OR r.subdivision = sh.sd)
                              AND (r.city IS NULL OR r.city = sh.ci))
         ORDER BY sh.s, sh.shipment_id, sh.at),
    ins AS (
        INSERT INTO alerts (kind, subject, serial, brand, bucket, detail, raised_at)
        SELECT 'diversion', 'code:' || o.s, o.s, o.brand, o.shipment_id,
               jsonb_build_object(
                   'reason', 'diversion', 'serial', o.s, 'batch', o.batch, 'sku', o.sku,
                   'distributor', jsonb_build_object('id', o.did, 'name', o.dname),
                   'territory', (SELECT jsonb_agg(r.code ORDER BY r.code) FROM distributor_regions r
                                  WHERE r.distributor_id = o.did),
                   'shipment', o.shipment_id,
                   'case', o.case_serial, 'pallet', sscc_text(o.pallet / 10),
                   'scanned_at', webhook_time(o.at), 'scan_kind', o.kd,
                   'scanned_in', jsonb_build_object('country', o.co, 'subdivision', o.sd,
                                                    'city', o.ci)), t
          FROM out o ORDER BY o.s
        ON CONFLICT (subject, bucket) WHERE kind = 'diversion' DO NOTHING
        RETURNING alerts.id, alerts.subject, alerts.brand, alerts.detail)
    SELECT array_agg(ins.subject ORDER BY ins.id), array_agg(ins.brand ORDER BY ins.id),
           array_agg(ins.detail || jsonb_build_object('alert', ins.id) ORDER BY ins.id)
      INTO subj, brs, dat FROM ins;
    n := coalesce(cardinality(subj), 0);
    IF n > 0 AND webhook_wanted('code.diverted') THEN
        PERFORM webhook_emit('code.diverted', subj, brs, dat);
    END IF;
    RETURN n;
END $$;

-- alerts_evaluate of 016_alerts.sql, kept under a new name, then the
-- diversion from where it got to: one transaction, one lease.
ALTER FUNCTION alerts_evaluate() RENAME TO alerts_evaluate_rules;
CREATE FUNCTION alerts_evaluate() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    since timestamptz;
    n integer;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('packcode.alerts_evaluate')) THEN
        RETURN -1;
    END IF;
    SELECT s.scanners_from INTO since FROM alert_state s FOR UPDATE;
    n := alerts_evaluate_rules();
    RETURN n + alerts_evaluate_diversion(since);
END $$;

-- ---- through the admin API: the identity's actor and brands ---------------------------

CREATE FUNCTION admin_distributor_add(p_token bigint, p_client inet, p_brand text, p_name text,
                                      p_regions text[])
RETURNS TABLE (outcome text, id bigint)
LANGUAGE plpgsql AS $$
DECLARE
    who record;
BEGIN
    SELECT * INTO who FROM admin_identity(p_token);
    RETURN QUERY SELECT * FROM distributor_add(who.actor, p_client, p_brand, p_name, p_regions,
                                               who.brand_ids);
END $$;

CREATE FUNCTION admin_distributor_change(p_token bigint, p_client inet, p_id bigint, p_name text,
                                         p_regions text[])
RETURNS TABLE (outcome text)
LANGUAGE plpgsql AS $$
DECLARE
    who record;
BEGIN
    SELECT * INTO who FROM admin_identity(p_token);
    RETURN QUERY SELECT * FROM distributor_change(who.actor, p_client, p_id, p_name, p_regions,
                                                  who.brand_ids);
END $$;

CREATE FUNCTION admin_distributor_delete(p_token bigint, p_client inet, p_id bigint)
RETURNS TABLE (outcome text)
LANGUAGE plpgsql AS $$
DECLARE
    who record;
BEGIN
    SELECT * INTO who FROM admin_identity(p_token);
    RETURN QUERY SELECT * FROM distributor_delete(who.actor, p_client, p_id, who.brand_ids);
END $$;

CREATE FUNCTION admin_shipment_add(p_token bigint, p_client inet, p_distributor bigint,
                                   p_reference text, p_kinds text[], p_values bigint[],
                                   p_firsts bigint[], p_lasts bigint[])
RETURNS TABLE (outcome text, id bigint, shipped_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    who record;
BEGIN
    SELECT * INTO who FROM admin_identity(p_token);
    RETURN QUERY SELECT * FROM shipment_add(who.actor, p_client, p_distributor, p_reference,
                                            p_kinds, p_values, p_firsts, p_lasts, who.brand_ids);
END $$;

-- ---- the admin API of packing, distributors and shipments (handlers/packing.c) ---------

-- A JSON body's field: text (NULL when absent; 22023 when not a string).
CREATE FUNCTION api_text(p_body jsonb, p_key text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF p_body IS NULL OR NOT p_body ? p_key OR jsonb_typeof(p_body -> p_key) = 'null' THEN
        RETURN NULL;
    END IF;
    IF jsonb_typeof(p_body -> p_key) <> 'string' OR length(p_body ->> p_key) NOT BETWEEN 1 AND 200 THEN
        RAISE EXCEPTION '% must be a string of 1 to 200 characters', p_key USING ERRCODE = '22023';
    END IF;
    RETURN p_body ->> p_key;
END $$;

-- A JSON body's array of strings (NULL when absent).
CREATE FUNCTION api_texts(p_body jsonb, p_key text) RETURNS text[] LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF p_body IS NULL OR NOT p_body ? p_key OR jsonb_typeof(p_body -> p_key) = 'null' THEN
        RETURN NULL;
    END IF;
    IF jsonb_typeof(p_body -> p_key) <> 'array' OR jsonb_array_length(p_body -> p_key) > 1000
       OR EXISTS (SELECT 1 FROM jsonb_array_elements(p_body -> p_key) e
                   WHERE jsonb_typeof(e) <> 'string') THEN
        RAISE EXCEPTION '% must be an array of at most 1000 strings', p_key USING ERRCODE = '22023';
    END IF;
    RETURN ARRAY(SELECT jsonb_array_elements_text(p_body -> p_key));
END $$;

-- A JSON body's array of whole numbers (NULL when absent).
CREATE FUNCTION api_ints(p_body jsonb, p_key text) RETURNS bigint[] LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF p_body IS NULL OR NOT p_body ? p_key OR jsonb_typeof(p_body -> p_key) = 'null' THEN
        RETURN NULL;
    END IF;
    IF jsonb_typeof(p_body -> p_key) <> 'array' OR jsonb_array_length(p_body -> p_key) > 1000
       OR EXISTS (SELECT 1 FROM jsonb_array_elements(p_body -> p_key) e
                   WHERE jsonb_typeof(e) <> 'number' OR e::text !~ '^[0-9]{1,18}$') THEN
        RAISE EXCEPTION '% must be an array of at most 1000 whole numbers', p_key
            USING ERRCODE = '22023';
    END IF;
    RETURN ARRAY(SELECT e::text::bigint FROM jsonb_array_elements(p_body -> p_key) e);
END $$;

-- One endpoint of packing, distributors or shipments: p_op names it,
-- p_arg is the path's argument as the server resolved it (a parent
-- 'P:SSCC' or 'C:SERIAL', a code's serial, a distributor id), p_body the
-- request's JSON with codes resolved by the server (cases of a shipment:
-- "case_serials"; children: "children": [{"serial", "batch", "key"}]).
-- Returns the HTTP status and the reply. A bad body is 22023 (400).
CREATE FUNCTION api_packing(p_token bigint, p_client inet, p_op text, p_arg text, p_body jsonb)
RETURNS TABLE (status integer, body jsonb)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    who record;
    r record;
    pallet boolean := p_arg LIKE 'P:%';
    parent bigint := CASE WHEN p_arg ~ '^[PC]:[0-9]{1,19}$' THEN substr(p_arg, 3)::bigint END;
    aid bigint := CASE WHEN p_arg ~ '^[0-9]{1,18}$' THEN p_arg::bigint END;
    reason text := api_text(p_body, 'reason');
    kinds text[];
    vals bigint[];
    firsts bigint[];
    lasts bigint[];
    n integer;
BEGIN
    SELECT * INTO who FROM admin_identity(p_token);
    IF p_op = 'distributors' THEN
        RETURN QUERY SELECT 200, jsonb_build_object('distributors', coalesce(jsonb_agg(
            jsonb_build_object('id', d.id, 'brand', d.brand, 'name', d.name,
                               'territory', to_jsonb(d.territory),
                               'created_at', webhook_time(d.created_at)) ORDER BY d.id), '[]'))
          FROM distributors_list(who.brand_ids) d;
    ELSIF p_op = 'distributor_add' THEN
        IF api_text(p_body, 'brand') IS NULL OR api_text(p_body, 'name') IS NULL THEN
            RAISE EXCEPTION 'brand and name are needed' USING ERRCODE = '22023';
        END IF;
        SELECT * INTO r FROM distributor_add(who.actor, p_client, p_body ->> 'brand',
                                             p_body ->> 'name', api_texts(p_body, 'territory'),
                                             who.brand_ids);
        RETURN QUERY SELECT CASE r.outcome WHEN 'added' THEN 201 WHEN 'exists' THEN 409
                                           WHEN 'forbidden_brand' THEN 403 ELSE 404 END,
                            CASE WHEN r.outcome = 'added'
                                 THEN (SELECT to_jsonb(d) FROM distributors_list(who.brand_ids) d
                                        WHERE d.id = r.id)
                                 ELSE jsonb_build_object('error', r.outcome, 'message',
                                          CASE r.outcome WHEN 'exists' THEN 'the brand has a distributor of that name'
                                                         WHEN 'forbidden_brand' THEN 'not a brand of this identity'
                                                         ELSE 'no such brand' END) END;
    ELSIF p_op IN ('distributor_change', 'distributor_delete') THEN
        IF p_op = 'distributor_change' THEN
            SELECT * INTO r FROM distributor_change(who.actor, p_client, aid, api_text(p_body, 'name'),
                                                    api_texts(p_body, 'territory'), who.brand_ids);
        ELSE
            SELECT * INTO r FROM distributor_delete(who.actor, p_client, aid, who.brand_ids);
        END IF;
        RETURN QUERY SELECT CASE r.outcome WHEN 'unknown_distributor' THEN 404 WHEN 'exists' THEN 409
                                           ELSE 200 END,
                            CASE WHEN r.outcome IN ('changed', 'deleted')
                                 THEN jsonb_build_object('id', aid, 'outcome', r.outcome)
                                      || coalesce((SELECT to_jsonb(d) FROM distributors_list(who.brand_ids) d
                                                    WHERE d.id = aid), '{}')
                                 ELSE jsonb_build_object('error', r.outcome, 'message',
                                          CASE r.outcome WHEN 'exists' THEN 'the brand has a distributor of that name'
                                                         ELSE 'no such distributor' END) END;
    ELSIF p_op = 'shipment_add' THEN
        IF p_body IS NULL OR jsonb_typeof(p_body -> 'distributor') <> 'number' THEN
            RAISE EXCEPTION 'distributor (an id) is needed' USING ERRCODE = '22023';
        END IF;
        vals := coalesce(api_ints(p_body, 'pallets'), '{}');
        kinds := array_fill('pallet'::text, ARRAY[cardinality(vals)]);
        n := cardinality(coalesce(api_ints(p_body, 'case_serials'), '{}'));
        kinds := kinds || array_fill('case'::text, ARRAY[n]);
        vals := vals || coalesce(api_ints(p_body, 'case_serials'), '{}');
        n := cardinality(coalesce(api_ints(p_body, 'batches'), '{}'));
        kinds := kinds || array_fill('batch'::text, ARRAY[n]);
        vals := vals || coalesce(api_ints(p_body, 'batches'), '{}');
        firsts := array_fill(NULL::bigint, ARRAY[cardinality(vals)]);
        lasts := firsts;
        IF p_body ? 'ranges' THEN
            IF jsonb_typeof(p_body -> 'ranges') <> 'array' OR EXISTS (
                SELECT 1 FROM jsonb_array_elements(p_body -> 'ranges') e
                 WHERE jsonb_typeof(e) <> 'object' OR jsonb_typeof(e -> 'batch') <> 'number'
                    OR jsonb_typeof(e -> 'first') <> 'number' OR jsonb_typeof(e -> 'last') <> 'number') THEN
                RAISE EXCEPTION 'ranges is an array of {"batch", "first", "last"}' USING ERRCODE = '22023';
            END IF;
            SELECT kinds || array_agg('range'::text), vals || array_agg((e ->> 'batch')::bigint),
                   firsts || array_agg((e ->> 'first')::bigint), lasts || array_agg((e ->> 'last')::bigint)
              INTO kinds, vals, firsts, lasts FROM jsonb_array_elements(p_body -> 'ranges') e;
        END IF;
        SELECT * INTO r FROM shipment_add(who.actor, p_client, (p_body ->> 'distributor')::bigint,
                                          api_text(p_body, 'reference'), kinds, vals, firsts, lasts,
                                          who.brand_ids);
        IF r.outcome <> 'shipped' THEN
            RETURN QUERY SELECT 404, jsonb_build_object('error', 'unknown_distributor',
                                                        'message', 'no such distributor');
            RETURN;
        END IF;
        RETURN QUERY SELECT 201, jsonb_build_object(
            'id', r.id, 'distributor', (p_body ->> 'distributor')::bigint,
            'reference', api_text(p_body, 'reference'), 'shipped_at', webhook_time(r.shipped_at),
            'items', (SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                                 'kind', si.kind,
                                 'sscc', CASE WHEN si.kind = 'pallet' THEN sscc_text(si.parent / 10) END,
                                 'case_serial', CASE WHEN si.kind = 'case' THEN si.parent END,
                                 'batch', si.batch_id, 'serial_first', si.serial_first,
                                 'serial_last', si.serial_last)) ORDER BY si.ord)
                        FROM shipment_items si WHERE si.shipment_id = r.id));
    ELSIF p_op IN ('pack_activate', 'pack_unpack') THEN
        IF p_op = 'pack_activate' THEN
            SELECT * INTO r FROM pack_activate(who.actor, p_client, who.brand_ids, pallet, parent, reason);
        ELSE
            SELECT * INTO r FROM pack_unpack(who.actor, p_client, who.brand_ids, pallet, parent, reason);
        END IF;
        IF r.outcome IN ('unknown_parent', 'forbidden_brand') THEN
            RETURN QUERY SELECT CASE r.outcome WHEN 'forbidden_brand' THEN 403 ELSE 404 END,
                                jsonb_build_object('error', r.outcome, 'message',
                                    CASE r.outcome WHEN 'forbidden_brand'
                                         THEN 'this is of a brand this identity may not change'
                                         ELSE 'no case or pallet of ours' END);
            RETURN;
        END IF;
        RETURN QUERY SELECT 200, jsonb_strip_nulls(jsonb_build_object(
            'parent', CASE WHEN pallet THEN sscc_text(parent / 10) ELSE parent::text END,
            'kind', CASE WHEN pallet THEN 'pallet' ELSE 'case' END, 'outcome', r.outcome,
            'reason', reason))
            || to_jsonb(r) - 'outcome';
    ELSIF p_op = 'pack_children' THEN
        IF p_body IS NULL OR jsonb_typeof(p_body -> 'children') <> 'array'
           OR jsonb_array_length(p_body -> 'children') NOT BETWEEN 1 AND 10000 THEN
            RAISE EXCEPTION 'children is an array of 1 to 10000 codes' USING ERRCODE = '22023';
        END IF;
        PERFORM pack_stage_begin();
        INSERT INTO pack_stage (line, child, child_batch, child_key, pallet, parent, parent_ref,
                                parent_key)
        SELECT e.i, (e.c ->> 'serial')::bigint, (e.c ->> 'batch')::bigint,
               (e.c ->> 'key')::smallint, pallet, parent,
               coalesce(CASE WHEN pallet THEN (pallet_run_of(parent)).id
                             ELSE (SELECT b.id FROM batches b
                                    WHERE parent BETWEEN b.serial_first AND b.serial_last) END, 0),
               CASE WHEN NOT pallet THEN (SELECT b.key_id FROM batches b
                                           WHERE parent BETWEEN b.serial_first AND b.serial_last) END
          FROM jsonb_array_elements(p_body -> 'children') WITH ORDINALITY AS e(c, i);
        SELECT * INTO r FROM pack_put(who.actor, p_client, who.brand_ids, 'api', reason);
        RETURN QUERY SELECT 200, jsonb_build_object(
            'parent', CASE WHEN pallet THEN sscc_text(parent / 10) ELSE parent::text END,
            'kind', CASE WHEN pallet THEN 'pallet' ELSE 'case' END,
            'load', r.load_id, 'packed', r.packed, 'repacked', r.repacked);
    ELSIF p_op = 'chain' THEN
        SELECT * INTO r FROM pack_chain(aid, who.brand_ids);
        IF r.serial IS NULL THEN
            RETURN QUERY SELECT 404, jsonb_build_object('error', 'unknown_code',
                                                        'message', 'no code of this identity''s brands');
            RETURN;
        END IF;
        RETURN QUERY SELECT 200, jsonb_build_object(
            'serial', r.serial, 'batch', r.batch_id,
            'case', CASE WHEN r.case_serial IS NOT NULL
                         THEN jsonb_build_object('serial', r.case_serial, 'batch', r.case_batch,
                                                 'key', r.case_key) END,
            'pallet', CASE WHEN r.pallet IS NOT NULL THEN jsonb_build_object('sscc', r.pallet) END,
            'shipment', CASE WHEN r.shipment_id IS NOT NULL
                             THEN jsonb_build_object('id', r.shipment_id,
                                                     'shipped_at', webhook_time(r.shipped_at),
                                                     'reference', r.reference,
                                                     'distributor', jsonb_build_object(
                                                         'id', r.distributor_id, 'name', r.distributor,
                                                         'territory', to_jsonb(r.territory))) END);
    ELSE
        RAISE EXCEPTION 'unknown operation %', p_op USING ERRCODE = '22023';
    END IF;
END $$;
