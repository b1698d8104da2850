-- 034_pack_runs.sql: packing links stored as runs (docs/supply-chain.md,
-- "Packing", "What a load costs"): a row per run of consecutive children
-- in one parent, not a row per child.
--
--   pack_runs   parent -> children child_first..child_last (serials, or a
--       pallet's cases' serials), all loaded by load_id. The packing line
--       applies labels in print order, so a case's 24 items are one run
--       and a pallet's 40 cases another: a million links are ~41,000 rows.
--       Runs never overlap (a child is in at most one parent): every writer
--       takes pack_runs_lock() and checks before it writes (pack_load_close,
--       pack_put), and the primary key holds the first children apart. A
--       GiST exclusion constraint on the ranges would say the same, but
--       costs 1.1 s per 41,000 rows against 0.08 s for the btree.
--   pack_links  the view of the runs as links, a row per child (child,
--       parent, pallet, load_id), for readers that want them so (EPCIS,
--       tests). A child's run is pack_link_of(child): one probe of the
--       primary key, the run with the greatest child_first <= child.
--
-- Moving a child out of a run (repack) cuts the run in up to two pieces
-- (pack_runs_cut); unpacking a parent deletes its runs. pack_changes keeps a
-- row per child moved or unpacked, as before.

CREATE TABLE pack_runs (
    child_first  bigint PRIMARY KEY,
    child_last   bigint NOT NULL,
    parent       bigint NOT NULL,
    pallet       boolean NOT NULL,
    load_id      bigint NOT NULL,
    CHECK (child_last >= child_first)
);
CREATE INDEX pack_runs_parent ON pack_runs (parent, pallet);

INSERT INTO pack_runs (child_first, child_last, parent, pallet, load_id)
SELECT min(x.child), max(x.child), x.parent, x.pallet, x.load_id
  FROM (SELECT l.*, l.child - row_number() OVER (PARTITION BY l.parent, l.pallet, l.load_id
                                                 ORDER BY l.child) AS grp
          FROM pack_links l) x
 GROUP BY x.parent, x.pallet, x.load_id, x.grp;

DROP TABLE pack_links;
CREATE VIEW pack_links AS
    SELECT g.child, r.parent, r.pallet, r.load_id
      FROM pack_runs r CROSS JOIN LATERAL generate_series(r.child_first, r.child_last) AS g(child);

-- Writers of pack_runs one at a time (readers go on): what a writer checked
-- stays true until it commits.
CREATE FUNCTION pack_runs_lock() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE pack_runs IN SHARE ROW EXCLUSIVE MODE;
END $$;

-- The link of child p_child (no row: not packed).
CREATE FUNCTION pack_link_of(p_child bigint)
RETURNS TABLE (child_first bigint, child_last bigint, parent bigint, pallet boolean, load_id bigint)
LANGUAGE sql STABLE AS $$
    SELECT k.child_first, k.child_last, k.parent, k.pallet, k.load_id
      FROM (SELECT r.* FROM pack_runs r WHERE r.child_first <= p_child
             ORDER BY r.child_first DESC LIMIT 1) k
     WHERE k.child_last >= p_child
$$;

-- The smallest packed child in p_lo..p_hi (NULL: none).
CREATE FUNCTION pack_first_packed(p_lo bigint, p_hi bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN EXISTS (SELECT 1 FROM pack_link_of(p_lo)) THEN p_lo
                ELSE (SELECT min(r.child_first) FROM pack_runs r
                       WHERE r.child_first > p_lo AND r.child_first <= p_hi) END
$$;

-- Pack children p_child[i] into p_parent[i] (p_pallet[i]) by load p_load[i]:
-- consecutive children of one parent and load become one run. The caller
-- holds pack_runs_lock() and knows none is packed, none twice.
CREATE FUNCTION pack_runs_put(p_child bigint[], p_parent bigint[], p_pallet boolean[],
                              p_load bigint[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO pack_runs (child_first, child_last, parent, pallet, load_id)
    SELECT min(x.c), max(x.c), x.p, x.pl, x.l
      FROM (SELECT u.c, u.p, u.pl, u.l,
                   u.c - row_number() OVER (PARTITION BY u.p, u.pl, u.l ORDER BY u.c) AS grp
              FROM unnest(p_child, p_parent, p_pallet, p_load) AS u(c, p, pl, l)) x
     GROUP BY x.p, x.pl, x.l, x.grp
$$;

-- Take children p_children out of their runs (those not packed are left
-- alone): each run holding one is replaced by its pieces without them.
-- Returns the links taken away. The caller holds pack_runs_lock().
CREATE FUNCTION pack_runs_cut(p_children bigint[])
RETURNS TABLE (child bigint, parent bigint, pallet boolean, load_id bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    kc bigint[];
    kp bigint[];
    kpl boolean[];
    kl bigint[];
    gc bigint[];
    gp bigint[];
    gpl boolean[];
    gl bigint[];
BEGIN
    WITH hit AS (
        DELETE FROM pack_runs r
         WHERE r.child_first IN (SELECT k.child_first FROM unnest(p_children) AS u(c)
                                  CROSS JOIN LATERAL pack_link_of(u.c) k)
        RETURNING r.child_first, r.child_last, r.parent, r.pallet, r.load_id),
    kids AS (
        SELECT g.c, h.parent, h.pallet, h.load_id, u.c IS NOT NULL AS gone
          FROM hit h CROSS JOIN LATERAL generate_series(h.child_first, h.child_last) AS g(c)
          LEFT JOIN (SELECT DISTINCT x FROM unnest(p_children) AS x) u(c) ON u.c = g.c)
    SELECT array_agg(k.c ORDER BY k.c) FILTER (WHERE NOT k.gone),
           array_agg(k.parent ORDER BY k.c) FILTER (WHERE NOT k.gone),
           array_agg(k.pallet ORDER BY k.c) FILTER (WHERE NOT k.gone),
           array_agg(k.load_id ORDER BY k.c) FILTER (WHERE NOT k.gone),
           array_agg(k.c ORDER BY k.c) FILTER (WHERE k.gone),
           array_agg(k.parent ORDER BY k.c) FILTER (WHERE k.gone),
           array_agg(k.pallet ORDER BY k.c) FILTER (WHERE k.gone),
           array_agg(k.load_id ORDER BY k.c) FILTER (WHERE k.gone)
      INTO kc, kp, kpl, kl, gc, gp, gpl, gl FROM kids k;
    IF kc IS NOT NULL THEN
        PERFORM pack_runs_put(kc, kp, kpl, kl);
    END IF;
    RETURN QUERY SELECT * FROM unnest(gc, gp, gpl, gl);
END $$;

-- ---- the stage: a row per line, or per run of lines ---------------------------------------

-- As 018's, with child_last: a staged row may stand for a run of lines
-- (`pack load`): line, line + 1, ... hold children child, child + 1, ...
-- up to child_last, all of one batch and key, into one parent. NULL: the
-- one line's child.
CREATE OR REPLACE FUNCTION pack_stage_begin() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    CREATE TEMP TABLE IF NOT EXISTS pack_stage (
        line        bigint NOT NULL,
        child       bigint NOT NULL,
        child_last  bigint CHECK (child_last >= child),
        child_batch bigint NOT NULL,
        child_key   smallint NOT NULL,
        pallet      boolean NOT NULL,
        parent      bigint NOT NULL,
        parent_ref  bigint NOT NULL,
        parent_key  smallint
    ) ON COMMIT DROP;
    TRUNCATE pack_stage;
END $$;

-- As 018's, on rows that may be runs: each check of the batch, key, brand
-- and parent holds for a run iff for its first and last child; a run with a
-- packed child is named by the line of the first (p_packed: one probe of
-- pack_runs' primary key a row).
CREATE OR REPLACE FUNCTION pack_stage_problem(p_brand_ids bigint[], p_moving boolean,
                                              p_packed boolean DEFAULT true)
RETURNS TABLE (line bigint, problem text)
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY
    WITH b AS MATERIALIZED (
        SELECT bt.id, bt.serial_first AS f, bt.serial_last AS l, bt.key_id AS k,
               bt.status = 'void' AS void, br.id AS brand, p.packaging = 'case' AS is_case,
               brand_allowed(p_brand_ids, p.brand) AS allowed
          FROM batches bt JOIN products p ON p.sku = bt.product_sku
          JOIN brands br ON br.name = p.brand),
    r AS MATERIALIZED (SELECT pr.id, pr.body_first AS f, pr.body_last AS l, pr.brand_id AS brand
                         FROM pallet_runs pr),
    x AS (
        SELECT s.line, s.child, coalesce(s.child_last, s.child) AS child_last, s.child_key,
               s.pallet, s.parent, s.parent_key,
               c.id AS cid, c.f AS cf, c.l AS cl, c.k AS ck, c.void, c.allowed,
               c.is_case AS c_case, c.brand AS cbrand,
               p.id AS pid, p.f AS pf, p.l AS pl_, p.k AS pk, p.is_case AS p_case,
               p.brand AS pbrand, r.id AS rid, r.f AS rf, r.l AS rl, r.brand AS rbrand,
               k.parent AS packed_parent, k.pallet AS packed_pallet
          FROM pack_stage s
          LEFT JOIN b c ON c.id = s.child_batch
          LEFT JOIN b p ON NOT s.pallet AND p.id = s.parent_ref
          LEFT JOIN r ON s.pallet AND r.id = s.parent_ref
          LEFT JOIN LATERAL (
              SELECT q.parent, q.pallet
                FROM (SELECT pr.parent, pr.pallet, pr.child_last FROM pack_runs pr
                       WHERE p_packed AND pr.child_first <= coalesce(s.child_last, s.child)
                       ORDER BY pr.child_first DESC LIMIT 1) q
               WHERE q.child_last >= s.child) k ON true),
    y AS (
        SELECT x.line, x.child, x.child_last,
               CASE
               WHEN x.cid IS NULL OR x.child NOT BETWEEN x.cf AND x.cl
                    OR x.child_last NOT BETWEEN x.cf AND x.cl OR x.ck <> x.child_key
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
               WHEN NOT p_moving AND x.packed_parent IS NOT NULL THEN 'the child is packed already (unpack it, or repack it)'
               WHEN x.packed_parent = x.parent AND x.packed_pallet = x.pallet
                    THEN 'the child is in that parent already'
               END AS why,
               x.cid IS NOT NULL AND x.child BETWEEN x.cf AND x.cl
               AND x.child_last BETWEEN x.cf AND x.cl AND x.ck = x.child_key
               AND NOT x.void AND x.allowed
               AND CASE WHEN x.pallet
                        THEN x.rid IS NOT NULL AND x.parent / 10 BETWEEN x.rf AND x.rl
                             AND x.rbrand = x.cbrand
                        ELSE x.pid IS NOT NULL AND x.parent BETWEEN x.pf AND x.pl_
                             AND x.pk = x.parent_key AND x.p_case AND NOT x.c_case
                             AND x.pbrand = x.cbrand END AS catalog_ok
          FROM x
         WHERE NOT coalesce(x.cid IS NOT NULL AND x.child BETWEEN x.cf AND x.cl
                            AND x.child_last BETWEEN x.cf AND x.cl AND x.ck = x.child_key
                            AND NOT x.void AND x.allowed
                            AND CASE WHEN x.pallet
                                     THEN x.rid IS NOT NULL AND x.parent / 10 BETWEEN x.rf AND x.rl
                                          AND x.rbrand = x.cbrand
                                     ELSE x.pid IS NOT NULL AND x.parent BETWEEN x.pf AND x.pl_
                                          AND x.pk = x.parent_key AND x.p_case AND NOT x.c_case
                                          AND x.pbrand = x.cbrand END
                            AND (x.packed_parent IS NULL
                                 OR (p_moving AND NOT (x.packed_parent = x.parent
                                                       AND x.packed_pallet = x.pallet))), false))
    SELECT CASE WHEN coalesce(y.catalog_ok, false) AND y.child_last > y.child
                THEN y.line + (pack_first_packed(y.child, y.child_last) - y.child)
                ELSE y.line END AS line, y.why
      FROM y
     ORDER BY 1 LIMIT 1;
END $$;

-- The first line whose child is already in the stage on an earlier line
-- (rows may be runs: a sort of the runs finds whether any two overlap; only
-- then are they spread to their lines).
CREATE OR REPLACE FUNCTION pack_stage_repeat() RETURNS TABLE (line bigint, first_line bigint)
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM (
            SELECT s.child, max(coalesce(s.child_last, s.child))
                       OVER (ORDER BY s.child, s.line ROWS BETWEEN UNBOUNDED PRECEDING
                                                          AND 1 PRECEDING) AS reach
              FROM pack_stage s) o
         WHERE o.reach >= o.child) THEN
        RETURN;
    END IF;
    RETURN QUERY
        SELECT x.line, x.first FROM (
            SELECT e.line, min(e.line) OVER (PARTITION BY e.child) AS first
              FROM (SELECT s.line + (g.c - s.child) AS line, g.c AS child
                      FROM pack_stage s
                     CROSS JOIN LATERAL generate_series(s.child, coalesce(s.child_last, s.child))
                           AS g(c)) e) x
         WHERE x.line <> x.first ORDER BY x.line LIMIT 1;
END $$;

-- `pack load`: the client COPYs its runs of lines into pack_stage (each a
-- run of consecutive children into one parent, on consecutive lines), then
-- calls this. All checked before anything is written: the catalog, a child
-- packed already, a child twice in the file; the first bad line named
-- ("line N: why", 22023, the transaction rolled back). Then the runs are
-- the load's rows of pack_runs. p_links: the client's count of links, which
-- must be the stage's.
CREATE OR REPLACE FUNCTION pack_load_close(p_actor text, p_client inet, p_brand_ids bigint[],
                                           p_load bigint, p_links bigint)
RETURNS TABLE (outcome text, load_id bigint, links bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    bad record;
    rep record;
    l pack_loads;
    n bigint;
BEGIN
    PERFORM pack_runs_lock();
    SELECT * INTO bad FROM pack_stage_problem(p_brand_ids, false, true);
    SELECT * INTO rep FROM pack_stage_repeat();
    IF rep.line IS NOT NULL AND (bad.line IS NULL OR rep.line < bad.line) THEN
        RAISE EXCEPTION 'line %: the child is on line % already', rep.line, rep.first_line
            USING ERRCODE = '22023';
    END IF;
    IF bad.line IS NOT NULL THEN
        RAISE EXCEPTION 'line %: %', bad.line, bad.problem USING ERRCODE = '22023';
    END IF;
    SELECT coalesce(sum(coalesce(s.child_last, s.child) - s.child + 1), 0) INTO n
      FROM pack_stage s;
    IF n <> p_links THEN
        RAISE EXCEPTION 'the stage holds % links, not %', n, p_links USING ERRCODE = '22023';
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
    -- in the primary key's order: a file not in print order (a run a line)
    -- would otherwise insert at random places of the index (4.5 s for
    -- 200,000 lines against 0.3 s sorted)
    INSERT INTO pack_runs (child_first, child_last, parent, pallet, load_id)
    SELECT s.child, coalesce(s.child_last, s.child), s.parent, s.pallet, p_load
      FROM pack_stage s ORDER BY s.child;
    IF p_links >= 10000 THEN
        ANALYZE pack_runs;
    END IF;
    PERFORM audit_append(p_actor, p_client, 'pack.load', p_load::text,
                         jsonb_build_object('links', p_links, 'source', l.source));
    RETURN QUERY SELECT 'loaded'::text, p_load, p_links;
END $$;

-- As 018's (the API, `pack move`: a row per line), on runs: a child packed
-- elsewhere is cut out of its run and put in its new parent with the load
-- it came in; new children become runs of a new load.
CREATE OR REPLACE FUNCTION pack_put(p_actor text, p_client inet, p_brand_ids bigint[],
                                    p_source text, p_reason text)
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
    mc bigint[];
    mp bigint[];
    mpl boolean[];
    ml bigint[];
BEGIN
    PERFORM pack_runs_lock();
    SELECT * INTO bad FROM pack_stage_problem(p_brand_ids, true);
    IF bad.line IS NOT NULL THEN
        RAISE EXCEPTION 'line %: %', bad.line, bad.problem USING ERRCODE = '22023';
    END IF;
    SELECT * INTO bad FROM pack_stage_repeat();
    IF bad.line IS NOT NULL THEN
        RAISE EXCEPTION 'line %: the child is on line % already', bad.line, bad.first_line
            USING ERRCODE = '22023';
    END IF;
    WITH cut AS (
        SELECT * FROM pack_runs_cut(ARRAY(SELECT s.child FROM pack_stage s
                                           WHERE EXISTS (SELECT 1 FROM pack_link_of(s.child))))),
    mv AS (
        INSERT INTO pack_changes (actor, kind, child, parent_before, pallet_before, parent_after,
                                  pallet_after, load_before, reason)
        SELECT p_actor, 'repack', s.child, c.parent, c.pallet, s.parent, s.pallet, c.load_id,
               p_reason
          FROM pack_stage s JOIN cut c ON c.child = s.child
         ORDER BY s.line
        RETURNING pack_changes.id, pack_changes.child, pack_changes.parent_before,
                  pack_changes.parent_after, pack_changes.pallet_after, pack_changes.load_before)
    SELECT count(*), max(mv.id),
           jsonb_agg(jsonb_build_object('change', mv.id, 'child', mv.child,
                                        'from', mv.parent_before, 'to', mv.parent_after)),
           array_agg(mv.child), array_agg(mv.parent_after), array_agg(mv.pallet_after),
           array_agg(mv.load_before)
      INTO nr, cid, moved, mc, mp, mpl, ml FROM mv;
    IF nr > 0 THEN
        PERFORM pack_runs_put(mc, mp, mpl, ml);
        PERFORM audit_append(p_actor, p_client, 'pack.repack', cid::text,
                             jsonb_build_object('moved', moved, 'reason', p_reason));
    END IF;
    SELECT array_agg(s.child), array_agg(s.parent), array_agg(s.pallet)
      INTO mc, mp, mpl
      FROM pack_stage s WHERE NOT EXISTS (SELECT 1 FROM pack_link_of(s.child));
    IF mc IS NOT NULL THEN
        INSERT INTO pack_loads (actor, brand_id, source)
        SELECT p_actor, br.id, p_source
          FROM pack_stage s JOIN batches b ON b.id = s.child_batch
          JOIN products p ON p.sku = b.product_sku JOIN brands br ON br.name = p.brand
         LIMIT 1
        RETURNING pack_loads.id INTO lid;
        np := cardinality(mc);
        PERFORM pack_runs_put(mc, mp, mpl, array_fill(lid, ARRAY[np::integer]));
        UPDATE pack_loads l SET links = np WHERE l.id = lid;
        PERFORM audit_append(p_actor, p_client, 'pack.load', lid::text,
                             jsonb_build_object('links', np, 'source', p_source,
                                                'reason', p_reason));
    END IF;
    RETURN QUERY SELECT lid, np, nr, cid;
END $$;

-- As 018's: a parent's runs deleted, a pack_changes row per child.
CREATE OR REPLACE FUNCTION pack_unpack(p_actor text, p_client inet, p_brand_ids bigint[],
                                       p_pallet boolean, p_parent bigint, p_reason text)
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
    PERFORM pack_runs_lock();
    WITH gone AS (
        DELETE FROM pack_runs l WHERE l.parent = p_parent AND l.pallet = p_pallet
        RETURNING l.child_first, l.child_last, l.load_id),
    ins AS (
        INSERT INTO pack_changes (actor, kind, child, parent_before, pallet_before, load_before,
                                  reason)
        SELECT p_actor, 'unpack', g.c, p_parent, p_pallet, d.load_id, p_reason
          FROM gone d CROSS JOIN LATERAL generate_series(d.child_first, d.child_last) AS g(c)
         ORDER BY g.c
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

-- As 018's, through the runs.
CREATE OR REPLACE FUNCTION pack_descendants(p_pallet boolean, p_parent bigint)
RETURNS TABLE (serial bigint) LANGUAGE sql STABLE AS $$
    WITH RECURSIVE t(serial) AS (
        SELECT g.c FROM pack_runs l
         CROSS JOIN LATERAL generate_series(l.child_first, l.child_last) AS g(c)
         WHERE l.parent = p_parent AND l.pallet = p_pallet
        UNION ALL
        SELECT g.c FROM t JOIN pack_runs l ON l.parent = t.serial AND NOT l.pallet
         CROSS JOIN LATERAL generate_series(l.child_first, l.child_last) AS g(c))
    SELECT t.serial FROM t
    UNION ALL
    SELECT p_parent WHERE NOT p_pallet
$$;

-- As 018's, through the runs.
CREATE OR REPLACE FUNCTION pack_parents(p_serial bigint, OUT case_serial bigint, OUT pallet text)
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN NOT c.pallet THEN c.parent END,
           sscc_text(CASE WHEN c.pallet THEN c.parent ELSE p.parent END / 10)
      FROM (SELECT 1) one
      LEFT JOIN LATERAL pack_link_of(p_serial) c ON true
      LEFT JOIN LATERAL pack_link_of(c.parent) p ON NOT c.pallet AND p.pallet
$$;

-- As 019's, through the runs.
CREATE OR REPLACE FUNCTION shipment_of(p_serials bigint[])
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
              LEFT JOIN LATERAL pack_link_of(u.s) c ON true
              LEFT JOIN LATERAL pack_link_of(c.parent) pp ON NOT c.pallet AND pp.pallet) p
$$;

-- generate_series over a run is estimated at 1,000 rows, so the recursive
-- walk of a pallet was costed at 97 million and JIT-compiled (75 ms a
-- pallet, in pack_activate and the receiving checks of sql/026): planned
-- on its own (not inlined), without JIT. A pallet is walked in ~1 ms.
ALTER FUNCTION pack_descendants(boolean, bigint) SET jit = off;
