-- 018_packing.sql: cases and pallets (docs/supply-chain.md, "Packing").
--
-- The tables, for whoever reads them (the EPCIS events of a later migration
-- among them):
--
--   products.packaging  'item' (a consumer pack, the default) or 'case' (a
--       packaging level: a case's codes are ordinary codes of our batches,
--       minted by mint for the case product's GTIN, /01/CASE-GTIN/21/CODE).
--   brands.gs1_prefix   the brand's GS1 Company Prefix (4-12 digits), from
--       which its pallets' SSCCs are made.
--   pallet_runs  one row per `pallet mint`: a range of SSCCs of one brand
--       (GS1 AI 00: extension digit, company prefix, serial reference
--       ref_first..ref_last, check digit). body_first..body_last are the
--       same SSCCs without their check digit, as numbers (17 digits): an
--       SSCC S (a number of 18 digits) is a pallet of ours iff S / 10 lies
--       in one run's body range and its check digit is right. No row per
--       pallet. EPCIS: the SSCCs' commissioning (created_at).
--   pack_loads   one row per packing operation (a file loaded from the
--       packing line, or an API call): who, when, how many links, brand.
--       EPCIS: the time of an aggregation event ("ADD").
--   pack_links   parent -> child as it stands now: child is the serial of
--       an item or a case code; parent is a case's serial (pallet false)
--       or a pallet's SSCC as a number (pallet true). A child is in at most
--       one parent. load_id: the pack_loads row that packed it. EPCIS:
--       the children (childEPCs) of the aggregation event of that load.
--   pack_changes one row per link taken away or moved (unpack, repack),
--       with the parent before and after: the history that pack_links no
--       longer holds. EPCIS: aggregation "DELETE" (unpack) and "DELETE" +
--       "ADD" (repack).
--
-- Packing is one row per link (the packing line scans each pack into its
-- case); everything else stays a row per range. Activating a pallet is one
-- batch_activations row (sql/013_supply.sql) per run of consecutive serials
-- of one batch among its descendants: a pallet of cases of consecutive
-- codes is a handful of rows, and a lookup costs what it did before.

ALTER TABLE products ADD COLUMN packaging text NOT NULL DEFAULT 'item'
    CHECK (packaging IN ('item', 'case'));
ALTER TABLE brands ADD COLUMN gs1_prefix text CHECK (gs1_prefix ~ '^[0-9]{4,12}$');

CREATE TABLE pallet_runs (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    brand_id        bigint NOT NULL REFERENCES brands (id),
    extension       smallint NOT NULL CHECK (extension BETWEEN 0 AND 9),
    company_prefix  text NOT NULL CHECK (company_prefix ~ '^[0-9]{4,12}$'),
    ref_first       bigint NOT NULL CHECK (ref_first >= 0),
    ref_last        bigint NOT NULL CHECK (ref_last >= ref_first),
    body_first      bigint NOT NULL,
    body_last       bigint NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    created_by      text NOT NULL CHECK (length(created_by) <= 200)
);
CREATE INDEX pallet_runs_body ON pallet_runs (body_first);

CREATE TABLE pack_loads (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    actor     text NOT NULL CHECK (length(actor) <= 200),
    brand_id  bigint REFERENCES brands (id),
    source    text NOT NULL CHECK (source IN ('file', 'cli', 'api')),
    links     bigint NOT NULL DEFAULT 0
);

CREATE TABLE pack_links (
    child    bigint PRIMARY KEY,
    parent   bigint NOT NULL,
    pallet   boolean NOT NULL,
    load_id  bigint NOT NULL
);
CREATE INDEX pack_links_parent ON pack_links (parent, pallet);

CREATE TABLE pack_changes (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT now(),
    actor           text NOT NULL CHECK (length(actor) <= 200),
    kind            text NOT NULL CHECK (kind IN ('unpack', 'repack')),
    child           bigint NOT NULL,
    parent_before   bigint NOT NULL,
    pallet_before   boolean NOT NULL,
    parent_after    bigint,
    pallet_after    boolean,
    load_before     bigint,
    reason          text CHECK (length(reason) <= 500)
);
CREATE INDEX pack_changes_child ON pack_changes (child, id);

-- ---- SSCCs ----------------------------------------------------------------------------

-- The SSCC (18 digits) of a body of 17 (extension, prefix, reference): the
-- GS1 mod-10 check digit appended (weights 3, 1, 3, ... from the left).
CREATE FUNCTION sscc_text(p_body bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT x.b || ((10 - sum(substr(x.b, i, 1)::integer * CASE WHEN i % 2 = 1 THEN 3 ELSE 1 END)
                         % 10) % 10)::text
      FROM (SELECT lpad(p_body::text, 17, '0') AS b) x, generate_series(1, 17) i
     GROUP BY x.b
$$;

-- The pallet run of SSCC p_sscc (a number), or NULL: not one of ours (or a
-- wrong check digit).
CREATE FUNCTION pallet_run_of(p_sscc bigint) RETURNS pallet_runs LANGUAGE sql STABLE AS $$
    SELECT r.* FROM pallet_runs r
     WHERE r.body_first <= p_sscc / 10 AND r.body_last >= p_sscc / 10
       AND sscc_text(p_sscc / 10) = lpad(p_sscc::text, 18, '0')
     ORDER BY r.body_first DESC LIMIT 1
$$;

-- Mint p_count pallet codes (SSCCs) for brand p_brand: the next serial
-- references after the brand's last run of the same extension and prefix.
-- p_prefix NULL: the brand's gs1_prefix; given while the brand has none, it
-- becomes the brand's. outcome: minted | unknown_brand | no_prefix |
-- forbidden_brand | full (the references of the prefix are used up).
-- Audited as pallets.mint. Returns the run and its first and last SSCC.
CREATE FUNCTION pallet_mint(p_actor text, p_client inet, p_brand text, p_count bigint,
                            p_extension smallint, p_prefix text, p_brand_ids bigint[])
RETURNS TABLE (outcome text, run_id bigint, sscc_first text, sscc_last text, body_first bigint,
               company_prefix text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    br brands;
    pfx text;
    width integer;
    nxt bigint;
    base bigint;
    rid bigint;
BEGIN
    IF p_count IS NULL OR p_count NOT BETWEEN 1 AND 1000000 THEN
        RAISE EXCEPTION 'a pallet run is 1 to 1000000 SSCCs' USING ERRCODE = '22023';
    END IF;
    SELECT * INTO br FROM brands b WHERE b.name = p_brand FOR UPDATE;
    IF br.id IS NULL THEN
        RETURN QUERY SELECT 'unknown_brand'::text, NULL::bigint, NULL::text, NULL::text,
                            NULL::bigint, NULL::text;
        RETURN;
    END IF;
    IF p_brand_ids IS NOT NULL AND NOT br.id = ANY (p_brand_ids) THEN
        RETURN QUERY SELECT 'forbidden_brand'::text, NULL::bigint, NULL::text, NULL::text,
                            NULL::bigint, NULL::text;
        RETURN;
    END IF;
    pfx := coalesce(p_prefix, br.gs1_prefix);
    IF pfx IS NULL THEN
        RETURN QUERY SELECT 'no_prefix'::text, NULL::bigint, NULL::text, NULL::text,
                            NULL::bigint, NULL::text;
        RETURN;
    END IF;
    IF pfx !~ '^[0-9]{4,12}$' THEN
        RAISE EXCEPTION 'a GS1 Company Prefix is 4 to 12 digits, not %', pfx USING ERRCODE = '22023';
    END IF;
    IF br.gs1_prefix IS NULL THEN
        UPDATE brands b SET gs1_prefix = pfx WHERE b.id = br.id;
    END IF;
    width := 16 - length(pfx);
    SELECT coalesce(max(r.ref_last) + 1, 0) INTO nxt FROM pallet_runs r
     WHERE r.extension = p_extension AND r.company_prefix = pfx;
    IF nxt + p_count > (10::bigint ^ width)::bigint THEN
        RETURN QUERY SELECT 'full'::text, NULL::bigint, NULL::text, NULL::text, NULL::bigint,
                            NULL::text;
        RETURN;
    END IF;
    base := p_extension::bigint * (10::bigint ^ 16)::bigint
            + pfx::bigint * (10::bigint ^ width)::bigint;
    INSERT INTO pallet_runs (brand_id, extension, company_prefix, ref_first, ref_last, body_first,
                             body_last, created_by)
    VALUES (br.id, p_extension, pfx, nxt, nxt + p_count - 1, base + nxt, base + nxt + p_count - 1,
            p_actor)
    RETURNING pallet_runs.id INTO rid;
    PERFORM audit_append(p_actor, p_client, 'pallets.mint', rid::text,
                         jsonb_build_object('brand', br.name, 'count', p_count,
                                            'sscc_first', sscc_text(base + nxt),
                                            'sscc_last', sscc_text(base + nxt + p_count - 1)));
    RETURN QUERY SELECT 'minted'::text, rid, sscc_text(base + nxt),
                        sscc_text(base + nxt + p_count - 1), base + nxt, pfx;
END $$;

-- ---- packing: loads, validated as one set ---------------------------------------------------

-- The staging table of a load, this transaction's own: the client COPYs
-- the lines it read into it (line number, the child's serial, batch and
-- key as its code told them, the parent: a case's serial with its batch
-- and key, or a pallet's SSCC with its pallet run in parent_ref), then
-- calls pack_load_close (`pack load`: a run's lines) or pack_put (every
-- line).
CREATE FUNCTION pack_stage_begin() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    CREATE TEMP TABLE IF NOT EXISTS pack_stage (
        line        bigint NOT NULL,
        child       bigint NOT NULL,
        child_batch bigint NOT NULL,
        child_key   smallint NOT NULL,
        pallet      boolean NOT NULL,
        parent      bigint NOT NULL,
        parent_ref  bigint NOT NULL,
        parent_key  smallint
    ) ON COMMIT DROP;
    TRUNCATE pack_stage;
END $$;

-- The first line of pack_stage that cannot be packed, and why; no row when
-- every line can. p_packed: also refuse a child packed already, unless
-- p_moving (then it is moved: a repack). One pass over the stage, hash
-- joins on integers with the batches and pallet runs (a few rows each,
-- prepared once); the reason is worked out only for a bad line.
CREATE FUNCTION pack_stage_problem(p_brand_ids bigint[], p_moving boolean,
                                   p_packed boolean DEFAULT true)
RETURNS TABLE (line bigint, problem text)
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE format($q$
    WITH b AS MATERIALIZED (
        SELECT bt.id, bt.serial_first AS f, bt.serial_last AS l, bt.key_id AS k,
               bt.status = 'void' AS void, br.id AS brand, p.packaging = 'case' AS is_case,
               brand_allowed($1, p.brand) AS allowed
          FROM batches bt JOIN products p ON p.sku = bt.product_sku
          JOIN brands br ON br.name = p.brand),
    r AS MATERIALIZED (SELECT pr.id, pr.body_first AS f, pr.body_last AS l, pr.brand_id AS brand
                         FROM pallet_runs pr),
    x AS (
        SELECT s.line, s.child, s.child_key, s.pallet, s.parent, s.parent_key,
               c.id AS cid, c.f AS cf, c.l AS cl, c.k AS ck, c.void, c.allowed,
               c.is_case AS c_case, c.brand AS cbrand,
               p.id AS pid, p.f AS pf, p.l AS pl_, p.k AS pk, p.is_case AS p_case,
               p.brand AS pbrand, r.id AS rid, r.f AS rf, r.l AS rl, r.brand AS rbrand,
               %s
          FROM pack_stage s
          LEFT JOIN b c ON c.id = s.child_batch
          LEFT JOIN b p ON NOT s.pallet AND p.id = s.parent_ref
          LEFT JOIN r ON s.pallet AND r.id = s.parent_ref
          %s)
    SELECT x.line,
           CASE
           WHEN x.cid IS NULL OR x.child NOT BETWEEN x.cf AND x.cl OR x.ck <> x.child_key
                THEN 'the child is a code of no batch of ours'
           WHEN x.void THEN 'the child''s batch is void'
           WHEN NOT x.allowed THEN 'the child is of a brand this identity may not pack'
           WHEN NOT x.pallet AND (x.pid IS NULL OR x.parent NOT BETWEEN x.pf AND x.pl_
                                  OR x.pk <> x.parent_key) THEN 'the case is a code of no batch of ours'
           WHEN NOT x.pallet AND NOT x.p_case THEN 'the parent is not a case: its product is not a case product (product set SKU --case)'
           WHEN NOT x.pallet AND x.c_case THEN 'a case goes onto a pallet, not into a case'
           WHEN NOT x.pallet AND x.pbrand <> x.cbrand THEN 'the case is of another brand than the child'
           WHEN x.pallet AND (x.rid IS NULL OR x.parent / 10 NOT BETWEEN x.rf AND x.rl)
                THEN 'the pallet is an SSCC of no pallet run of ours'
           WHEN x.pallet AND x.rbrand <> x.cbrand THEN 'the pallet is of another brand than the child'
           WHEN NOT $2 AND x.packed_parent IS NOT NULL THEN 'the child is packed already (unpack it, or repack it)'
           WHEN x.packed_parent = x.parent AND x.packed_pallet = x.pallet
                THEN 'the child is in that parent already'
           END
      FROM x
     WHERE NOT coalesce(x.cid IS NOT NULL AND x.child BETWEEN x.cf AND x.cl AND x.ck = x.child_key
                        AND NOT x.void AND x.allowed
                        AND CASE WHEN x.pallet
                                 THEN x.rid IS NOT NULL AND x.parent / 10 BETWEEN x.rf AND x.rl
                                      AND x.rbrand = x.cbrand
                                 ELSE x.pid IS NOT NULL AND x.parent BETWEEN x.pf AND x.pl_
                                      AND x.pk = x.parent_key AND x.p_case AND NOT x.c_case
                                      AND x.pbrand = x.cbrand END
                        AND (x.packed_parent IS NULL
                             OR ($2 AND NOT (x.packed_parent = x.parent
                                             AND x.packed_pallet = x.pallet))), false)
     ORDER BY x.line LIMIT 1 $q$,
        CASE WHEN p_packed THEN 'pl.parent AS packed_parent, pl.pallet AS packed_pallet'
             ELSE 'NULL::bigint AS packed_parent, NULL::boolean AS packed_pallet' END,
        CASE WHEN p_packed THEN 'LEFT JOIN pack_links pl ON pl.child = s.child' ELSE '' END)
    USING p_brand_ids, p_moving;
END $$;

-- The first line whose child is already in the stage on an earlier line.
CREATE FUNCTION pack_stage_repeat() RETURNS TABLE (line bigint, first_line bigint)
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY
        SELECT x.line, x.first FROM (
            SELECT s.line, min(s.line) OVER (PARTITION BY s.child) AS first FROM pack_stage s) x
         WHERE x.line <> x.first ORDER BY x.line LIMIT 1;
END $$;

-- A packing line's file, the fast way (`pack load`): pack_load_open makes
-- the load's row, the client COPYs the links straight into pack_links with
-- that load_id (COPY's batched inserts, the child's unique index refusing a
-- child packed already or twice), then stages, for every run of lines with
-- one parent (and one batch and key of child and parent), the run's first
-- line and the lines of its smallest and largest child: each check of
-- pack_stage_problem holds for a whole run iff it holds for those lines
-- (the same batch, key, brand and parent; the children within the batch's
-- range iff the smallest and largest are). pack_load_close checks the
-- stage ("line N: why", 22023: the transaction, links and all, is rolled
-- back), then counts the load (p_links, COPY's count), analyses
-- pack_links after a big load (a pallet's activation walks it by parent)
-- and audits it as pack.load.
CREATE FUNCTION pack_load_open(p_actor text, p_source text) RETURNS bigint
LANGUAGE sql AS $$
    INSERT INTO pack_loads (actor, source) VALUES (p_actor, p_source) RETURNING id
$$;

CREATE FUNCTION pack_load_close(p_actor text, p_client inet, p_brand_ids bigint[], p_load bigint,
                                p_links bigint)
RETURNS TABLE (outcome text, load_id bigint, links bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    bad record;
    l pack_loads;
BEGIN
    SELECT * INTO bad FROM pack_stage_problem(p_brand_ids, false, false);
    IF bad.line IS NOT NULL THEN
        RAISE EXCEPTION 'line %: %', bad.line, bad.problem USING ERRCODE = '22023';
    END IF;
    UPDATE pack_loads pl
       SET links = p_links,
           brand_id = (SELECT br.id FROM pack_stage s JOIN batches b ON b.id = s.child_batch
                         JOIN products p ON p.sku = b.product_sku
                         JOIN brands br ON br.name = p.brand LIMIT 1)
     WHERE pl.id = p_load AND pl.actor = p_actor AND pl.links = 0
    RETURNING * INTO l;
    IF l.id IS NULL THEN
        RAISE EXCEPTION 'load % is not an open load of %', p_load, p_actor USING ERRCODE = '22023';
    END IF;
    IF p_links >= 10000 THEN
        ANALYZE pack_links;
    END IF;
    PERFORM audit_append(p_actor, p_client, 'pack.load', p_load::text,
                         jsonb_build_object('links', p_links, 'source', l.source));
    RETURN QUERY SELECT 'loaded'::text, p_load, p_links;
END $$;

-- Pack or repack the links in pack_stage (the API, `pack move`): a child
-- not packed yet is packed (a load, source p_source); one packed elsewhere
-- is moved, its old link kept in pack_changes (repack). All or nothing:
-- refusals raise 22023 "line N: why" as pack_load_close's. Returns the load (NULL
-- when nothing was new), how many were packed and repacked, and the last
-- repack's change. Audited as pack.load and pack.repack.
CREATE FUNCTION pack_put(p_actor text, p_client inet, p_brand_ids bigint[], p_source text,
                         p_reason text)
RETURNS TABLE (load_id bigint, packed bigint, repacked bigint, change_id bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    bad record;
    lid bigint;
    np bigint := 0;
    nr bigint := 0;
    cid bigint;
    moved jsonb;
BEGIN
    SELECT * INTO bad FROM pack_stage_problem(p_brand_ids, true);
    IF bad.line IS NOT NULL THEN
        RAISE EXCEPTION 'line %: %', bad.line, bad.problem USING ERRCODE = '22023';
    END IF;
    SELECT * INTO bad FROM pack_stage_repeat();
    IF bad.line IS NOT NULL THEN
        RAISE EXCEPTION 'line %: the child is on line % already', bad.line, bad.first_line
            USING ERRCODE = '22023';
    END IF;
    WITH mv AS (
        INSERT INTO pack_changes (actor, kind, child, parent_before, pallet_before, parent_after,
                                  pallet_after, load_before, reason)
        SELECT p_actor, 'repack', s.child, l.parent, l.pallet, s.parent, s.pallet, l.load_id,
               p_reason
          FROM pack_stage s JOIN pack_links l ON l.child = s.child
         ORDER BY s.line
        RETURNING pack_changes.id, pack_changes.child, pack_changes.parent_before,
                  pack_changes.parent_after)
    SELECT count(*), max(mv.id),
           jsonb_agg(jsonb_build_object('change', mv.id, 'child', mv.child,
                                        'from', mv.parent_before, 'to', mv.parent_after))
      INTO nr, cid, moved FROM mv;
    IF nr > 0 THEN
        UPDATE pack_links l SET parent = s.parent, pallet = s.pallet
          FROM pack_stage s WHERE l.child = s.child;
        PERFORM audit_append(p_actor, p_client, 'pack.repack', cid::text,
                             jsonb_build_object('moved', moved, 'reason', p_reason));
    END IF;
    IF EXISTS (SELECT 1 FROM pack_stage s
                WHERE NOT EXISTS (SELECT 1 FROM pack_links l WHERE l.child = s.child)) THEN
        INSERT INTO pack_loads (actor, brand_id, source)
        SELECT p_actor, br.id, p_source
          FROM pack_stage s JOIN batches b ON b.id = s.child_batch
          JOIN products p ON p.sku = b.product_sku JOIN brands br ON br.name = p.brand
         LIMIT 1
        RETURNING pack_loads.id INTO lid;
        INSERT INTO pack_links (child, parent, pallet, load_id)
        SELECT s.child, s.parent, s.pallet, lid FROM pack_stage s
         WHERE NOT EXISTS (SELECT 1 FROM pack_links l WHERE l.child = s.child);
        GET DIAGNOSTICS np = ROW_COUNT;
        UPDATE pack_loads l SET links = np WHERE l.id = lid;
        PERFORM audit_append(p_actor, p_client, 'pack.load', lid::text,
                             jsonb_build_object('links', np, 'source', p_source,
                                                'reason', p_reason));
    END IF;
    RETURN QUERY SELECT lid, np, nr, cid;
END $$;

-- The brand of a parent: a pallet's (its run's) or a case's (its product's).
CREATE FUNCTION pack_parent_brand(p_pallet boolean, p_parent bigint) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p_pallet
                THEN (SELECT br.name FROM pallet_run_of(p_parent) r JOIN brands br ON br.id = r.brand_id
                       WHERE r.id IS NOT NULL)
                ELSE (SELECT p.brand FROM batches b JOIN products p ON p.sku = b.product_sku
                       WHERE p_parent BETWEEN b.serial_first AND b.serial_last
                         AND p.packaging = 'case')
           END
$$;

-- Unpack a parent: every direct child leaves it (a case's items, a pallet's
-- cases), each kept in pack_changes. outcome: unpacked | empty (nothing in
-- it) | unknown_parent | forbidden_brand. Audited as pack.unpack.
CREATE FUNCTION pack_unpack(p_actor text, p_client inet, p_brand_ids bigint[], p_pallet boolean,
                            p_parent bigint, p_reason text)
RETURNS TABLE (outcome text, children bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    brand text := pack_parent_brand(p_pallet, p_parent);
    n bigint;
BEGIN
    IF brand IS NULL THEN
        RETURN QUERY SELECT 'unknown_parent'::text, 0::bigint;
        RETURN;
    END IF;
    IF NOT brand_allowed(p_brand_ids, brand) THEN
        RETURN QUERY SELECT 'forbidden_brand'::text, 0::bigint;
        RETURN;
    END IF;
    WITH gone AS (
        DELETE FROM pack_links l WHERE l.parent = p_parent AND l.pallet = p_pallet
        RETURNING l.child, l.load_id),
    ins AS (
        INSERT INTO pack_changes (actor, kind, child, parent_before, pallet_before, load_before,
                                  reason)
        SELECT p_actor, 'unpack', g.child, p_parent, p_pallet, g.load_id, p_reason
          FROM gone g ORDER BY g.child
        RETURNING 1)
    SELECT count(*) INTO n FROM ins;
    IF n = 0 THEN
        RETURN QUERY SELECT 'empty'::text, 0::bigint;
        RETURN;
    END IF;
    PERFORM audit_append(p_actor, p_client, 'pack.unpack',
                         CASE WHEN p_pallet THEN sscc_text(p_parent / 10) ELSE p_parent::text END,
                         jsonb_build_object('pallet', p_pallet, 'children', n, 'reason', p_reason));
    RETURN QUERY SELECT 'unpacked'::text, n;
END $$;

-- Every code in a parent, at any depth (a pallet's cases and their items;
-- a case's items), with the case itself when the parent is a case.
CREATE FUNCTION pack_descendants(p_pallet boolean, p_parent bigint)
RETURNS TABLE (serial bigint) LANGUAGE sql STABLE AS $$
    WITH RECURSIVE t(serial) AS (
        SELECT l.child FROM pack_links l WHERE l.parent = p_parent AND l.pallet = p_pallet
        UNION ALL
        SELECT l.child FROM pack_links l JOIN t ON l.parent = t.serial AND NOT l.pallet)
    SELECT t.serial FROM t
    UNION ALL
    SELECT p_parent WHERE NOT p_pallet
$$;

-- Activate a parent (a warehouse scanning a case or a pallet): every code
-- in it is released for sale, by batch_activate (sql/013_supply.sql) once
-- per run of consecutive serials of one batch, each its own change,
-- audited and undoable. outcome: activated (some range was new) |
-- already_active | empty | unknown_parent | forbidden_brand. Audited as
-- pack.activate besides the ranges' codes.activate.
CREATE FUNCTION pack_activate(p_actor text, p_client inet, p_brand_ids bigint[],
                              p_pallet boolean, p_parent bigint, p_reason text)
RETURNS TABLE (outcome text, codes bigint, ranges integer, changes bigint[])
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    brand text := pack_parent_brand(p_pallet, p_parent);
    r record;
    a record;
    n bigint := 0;
    k integer := 0;
    ch bigint[] := '{}';
BEGIN
    IF brand IS NULL THEN
        RETURN QUERY SELECT 'unknown_parent'::text, 0::bigint, 0, NULL::bigint[];
        RETURN;
    END IF;
    IF NOT brand_allowed(p_brand_ids, brand) THEN
        RETURN QUERY SELECT 'forbidden_brand'::text, 0::bigint, 0, NULL::bigint[];
        RETURN;
    END IF;
    FOR r IN
        SELECT g.batch, g.f, min(g.serial) AS lo, max(g.serial) AS hi
          FROM (SELECT d.serial, b.id AS batch, b.serial_first AS f,
                       d.serial - row_number() OVER (PARTITION BY b.id ORDER BY d.serial) AS grp
                  FROM (SELECT DISTINCT x.serial FROM pack_descendants(p_pallet, p_parent) x) d
                  JOIN batches b ON d.serial BETWEEN b.serial_first AND b.serial_last) g
         GROUP BY g.batch, g.f, g.grp
         ORDER BY g.batch, lo LOOP
        SELECT * INTO a FROM batch_activate(p_actor, p_client, r.batch, r.lo - r.f + 1,
                                            r.hi - r.f + 1, p_reason);
        n := n + (r.hi - r.lo + 1);
        k := k + 1;
        IF a.outcome = 'activated' THEN
            ch := ch || a.change_id;
        END IF;
    END LOOP;
    IF k = 0 THEN
        RETURN QUERY SELECT 'empty'::text, 0::bigint, 0, ch;
        RETURN;
    END IF;
    PERFORM audit_append(p_actor, p_client, 'pack.activate',
                         CASE WHEN p_pallet THEN sscc_text(p_parent / 10) ELSE p_parent::text END,
                         jsonb_build_object('pallet', p_pallet, 'codes', n, 'ranges', k,
                                            'changes', to_jsonb(ch), 'reason', p_reason));
    RETURN QUERY SELECT CASE WHEN cardinality(ch) > 0 THEN 'activated' ELSE 'already_active' END,
                        n, k, ch;
END $$;

-- Where a code is packed: its case (serial, NULL: in none) and its pallet
-- (SSCC text, NULL: on none), directly or through its case.
CREATE FUNCTION pack_parents(p_serial bigint, OUT case_serial bigint, OUT pallet text)
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN NOT c.pallet THEN c.parent END,
           sscc_text(CASE WHEN c.pallet THEN c.parent ELSE p.parent END / 10)
      FROM (SELECT 1) one
      LEFT JOIN pack_links c ON c.child = p_serial
      LEFT JOIN pack_links p ON NOT c.pallet AND p.child = c.parent AND p.pallet
$$;

-- ---- through the admin API: the identity's actor and brands ---------------------------

CREATE FUNCTION admin_pack_activate(p_token bigint, p_client inet, p_pallet boolean,
                                    p_parent bigint, p_reason text)
RETURNS TABLE (outcome text, codes bigint, ranges integer, changes bigint[])
LANGUAGE plpgsql AS $$
DECLARE
    who record;
BEGIN
    SELECT * INTO who FROM admin_identity(p_token);
    RETURN QUERY SELECT * FROM pack_activate(who.actor, p_client, who.brand_ids, p_pallet,
                                             p_parent, p_reason);
END $$;

CREATE FUNCTION admin_pack_unpack(p_token bigint, p_client inet, p_pallet boolean,
                                  p_parent bigint, p_reason text)
RETURNS TABLE (outcome text, children bigint)
LANGUAGE plpgsql AS $$
DECLARE
    who record;
BEGIN
    SELECT * INTO who FROM admin_identity(p_token);
    RETURN QUERY SELECT * FROM pack_unpack(who.actor, p_client, who.brand_ids, p_pallet,
                                           p_parent, p_reason);
END $$;

-- A product's packaging level: 'item' (a consumer pack) or 'case' (its
-- codes are cases, packed with items). A case needs a GTIN (its codes are
-- GTIN + serial). outcome: done | unchanged | unknown_product | no_gtin.
-- Audited as product.packaging.
CREATE FUNCTION product_set_packaging(p_actor text, p_client inet, p_sku text, p_packaging text)
RETURNS TABLE (outcome text)
LANGUAGE plpgsql AS $$
DECLARE
    p products;
BEGIN
    SELECT * INTO p FROM products x WHERE x.sku = p_sku FOR UPDATE;
    IF p.sku IS NULL THEN
        RETURN QUERY SELECT 'unknown_product'::text;
        RETURN;
    END IF;
    IF p.packaging = p_packaging THEN
        RETURN QUERY SELECT 'unchanged'::text;
        RETURN;
    END IF;
    IF p_packaging = 'case' AND p.gtin IS NULL THEN
        RETURN QUERY SELECT 'no_gtin'::text;
        RETURN;
    END IF;
    UPDATE products x SET packaging = p_packaging WHERE x.sku = p_sku;
    PERFORM audit_append(p_actor, p_client, 'product.packaging', p_sku,
                         jsonb_build_object('packaging', p_packaging));
    RETURN QUERY SELECT 'done'::text;
END $$;
