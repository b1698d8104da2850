-- 026_receiving.sql: a distributor's warehouse receives a shipment
-- (docs/supply-chain.md, "Receiving"): by scanning one parent code (a
-- pallet's SSCC or a case's code) or by naming the shipment.
--
--   shipment_receipts  one row per shipment and unit received: kind
--       'pallet' (parent: the SSCC as a number, as shipment_items and
--       pack_links hold it), 'case' (parent: the case's serial) or
--       'shipment' (the whole shipment; parent 0), when and by whom. A
--       unit is received once: receiving it again, or a unit inside one
--       already received (a case on a received pallet, anything of a
--       shipment received whole), answers the first receipt and writes
--       nothing. EPCIS: a receiving event (bizStep receiving).
--
-- An item's received_at (pack_chain) is the first receipt of its last
-- shipment that holds it: the shipment, its pallet or its case. Like
-- shipments, receipts stay on the coordinator under Citus (not in
-- packcode_distribute()).

CREATE TABLE shipment_receipts (
    shipment_id  bigint NOT NULL REFERENCES shipments (id),
    kind         text NOT NULL CHECK (kind IN ('shipment', 'pallet', 'case')),
    parent       bigint NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    actor        text NOT NULL CHECK (length(actor) <= 200),
    PRIMARY KEY (shipment_id, kind, parent),
    CHECK ((kind = 'shipment') = (parent = 0))
);

-- The first receipt of shipment p_shipment that covers unit p_kind
-- p_parent (a pallet; a case, p_pallet the pallet it is on; 'shipment'):
-- the unit's own, its pallet's (for a case), or the whole shipment's.
CREATE FUNCTION receipt_covering(p_shipment bigint, p_kind text, p_parent bigint,
                                 p_pallet bigint)
RETURNS SETOF shipment_receipts
LANGUAGE sql STABLE AS $$
    SELECT * FROM shipment_receipts r
     WHERE r.shipment_id = p_shipment
       AND (r.kind = 'shipment'
            OR (r.kind = p_kind AND r.parent = p_parent)
            OR (r.kind = 'pallet' AND r.parent = p_pallet))
     ORDER BY r.received_at, r.kind
     LIMIT 1
$$;

-- Receive a unit: a pallet (p_pallet, p_parent the SSCC as a number), a
-- case (p_parent its serial), or with p_shipment (p_parent NULL) a whole
-- shipment. The unit's shipment is the last that holds it (shipment_of of
-- sql/019_distributors.sql: named itself, through its pallet, in a range
-- or batch). outcome: received | already_received (the first receipt is
-- answered, nothing written) | not_shipped (no shipment holds it) |
-- unknown_parent | unknown_shipment | forbidden_brand. Audited as
-- shipment.receive.
CREATE FUNCTION shipment_receive(p_actor text, p_client inet, p_brand_ids bigint[],
                                 p_pallet boolean, p_parent bigint, p_shipment bigint)
RETURNS TABLE (outcome text, shipment_id bigint, distributor_id bigint,
               received_at timestamptz, received_by text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    brand text;
    sid bigint;
    k text;
    unit bigint;
    on_pallet bigint;
    sh shipments;
    rc shipment_receipts;
    t timestamptz := now();
BEGIN
    IF p_shipment IS NOT NULL THEN
        SELECT * INTO sh FROM shipments s
         WHERE s.id = p_shipment AND (p_brand_ids IS NULL OR s.brand_id = ANY (p_brand_ids));
        IF sh.id IS NULL THEN
            RETURN QUERY SELECT 'unknown_shipment'::text, NULL::bigint, NULL::bigint,
                                NULL::timestamptz, NULL::text;
            RETURN;
        END IF;
        sid := sh.id;
        k := 'shipment';
        unit := 0;
    ELSE
        brand := pack_parent_brand(p_pallet, p_parent);
        IF brand IS NULL THEN
            RETURN QUERY SELECT 'unknown_parent'::text, NULL::bigint, NULL::bigint,
                                NULL::timestamptz, NULL::text;
            RETURN;
        END IF;
        IF NOT brand_allowed(p_brand_ids, brand) THEN
            RETURN QUERY SELECT 'forbidden_brand'::text, NULL::bigint, NULL::bigint,
                                NULL::timestamptz, NULL::text;
            RETURN;
        END IF;
        IF p_pallet THEN
            k := 'pallet';
            SELECT max(si.shipment_id) INTO sid FROM shipment_items si
             WHERE si.kind = 'pallet' AND si.parent = p_parent;
        ELSE
            k := 'case';
            SELECT so.shipment_id, so.pallet INTO sid, on_pallet
              FROM shipment_of(ARRAY[p_parent]) so;
        END IF;
        unit := p_parent;
        IF sid IS NULL THEN
            RETURN QUERY SELECT 'not_shipped'::text, NULL::bigint, NULL::bigint,
                                NULL::timestamptz, NULL::text;
            RETURN;
        END IF;
        SELECT * INTO sh FROM shipments s WHERE s.id = sid;
    END IF;
    -- one receipt a unit, even for two warehouses scanning at once
    PERFORM pg_advisory_xact_lock(hashtext('packcode.shipment_receive'), sid::integer);
    SELECT * INTO rc FROM receipt_covering(sid, k, unit, on_pallet);
    IF rc.shipment_id IS NOT NULL THEN
        RETURN QUERY SELECT 'already_received'::text, sid, sh.distributor_id, rc.received_at,
                            rc.actor;
        RETURN;
    END IF;
    INSERT INTO shipment_receipts (shipment_id, kind, parent, received_at, actor)
    VALUES (sid, k, unit, t, p_actor);
    PERFORM audit_append(p_actor, p_client, 'shipment.receive', sid::text,
                         jsonb_build_object('kind', k, 'distributor', sh.distributor_id,
                                            'unit', CASE k WHEN 'pallet' THEN sscc_text(unit / 10)
                                                           WHEN 'case' THEN unit::text END));
    RETURN QUERY SELECT 'received'::text, sid, sh.distributor_id, t, p_actor;
END $$;

-- The item's first receipt: of its last shipment (p_shipment), the
-- shipment's own, its pallet's or its case's (or its own, for a case).
CREATE FUNCTION receipt_of(p_shipment bigint, p_serial bigint, p_case bigint, p_pallet bigint)
RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT min(r.received_at) FROM shipment_receipts r
     WHERE r.shipment_id = p_shipment
       AND (r.kind = 'shipment'
            OR (r.kind = 'pallet' AND r.parent = p_pallet)
            OR (r.kind = 'case' AND r.parent IN (p_serial, p_case)))
$$;

-- pack_chain of 019 with the item's received_at last.
DROP FUNCTION pack_chain(bigint, bigint[]);
CREATE FUNCTION pack_chain(p_serial bigint, p_brand_ids bigint[])
RETURNS TABLE (serial bigint, batch_id bigint, case_serial bigint, case_batch bigint,
               case_key smallint, pallet text, shipment_id bigint, shipped_at timestamptz,
               reference text, distributor_id bigint, distributor text, territory text[],
               received_at timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT s.serial, b.id, s.case_serial, cb.id, cb.key_id, sscc_text(s.pallet / 10),
           sh.id, sh.shipped_at, sh.reference, d.id, d.name,
           (SELECT array_agg(r.code ORDER BY r.code) FROM distributor_regions r
             WHERE r.distributor_id = d.id),
           CASE WHEN sh.id IS NOT NULL
                THEN receipt_of(sh.id, s.serial, s.case_serial, s.pallet) END
      FROM shipment_of(ARRAY[p_serial]) s
      JOIN batches b ON s.serial BETWEEN b.serial_first AND b.serial_last
      JOIN products p ON p.sku = b.product_sku
      LEFT JOIN batches cb ON s.case_serial BETWEEN cb.serial_first AND cb.serial_last
      LEFT JOIN shipments sh ON sh.id = s.shipment_id
      LEFT JOIN distributors d ON d.id = sh.distributor_id
     WHERE brand_allowed(p_brand_ids, p.brand)
$$;

-- ---- the admin API (handlers/packing.c): 019's api_packing, and receiving ----------------

ALTER FUNCTION api_packing(bigint, inet, text, text, jsonb) RENAME TO api_packing_019;

-- api_packing of 019 with op 'receive' (p_arg a parent 'P:SSCC' or
-- 'C:SERIAL'; 'S:ID' a shipment) and the chain's shipment with its
-- received_at.
CREATE FUNCTION api_packing(p_token bigint, p_client inet, p_op text, p_arg text, p_body jsonb)
RETURNS TABLE (status integer, body jsonb)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    who record;
    r record;
    pallet boolean := p_arg LIKE 'P:%';
    parent bigint := CASE WHEN p_arg ~ '^[PCS]:[0-9]{1,18}$' THEN substr(p_arg, 3)::bigint END;
    st integer;
    b jsonb;
BEGIN
    IF p_op = 'receive' THEN
        SELECT * INTO who FROM admin_identity(p_token);
        SELECT * INTO r FROM shipment_receive(who.actor, p_client, who.brand_ids, pallet,
                                              CASE WHEN p_arg NOT LIKE 'S:%' THEN parent END,
                                              CASE WHEN p_arg LIKE 'S:%' THEN parent END);
        IF r.outcome NOT IN ('received', 'already_received') THEN
            RETURN QUERY SELECT CASE r.outcome WHEN 'forbidden_brand' THEN 403
                                               WHEN 'not_shipped' THEN 409 ELSE 404 END,
                                jsonb_build_object('error', r.outcome, 'message',
                                    CASE r.outcome
                                         WHEN 'forbidden_brand'
                                         THEN 'this is of a brand this identity may not change'
                                         WHEN 'not_shipped' THEN 'no shipment holds this unit'
                                         WHEN 'unknown_shipment' THEN 'no such shipment'
                                         ELSE 'no case or pallet of ours' END);
            RETURN;
        END IF;
        RETURN QUERY SELECT 200, jsonb_build_object(
            'parent', CASE WHEN p_arg LIKE 'S:%' THEN NULL
                           WHEN pallet THEN sscc_text(parent / 10) ELSE parent::text END,
            'kind', CASE WHEN p_arg LIKE 'S:%' THEN 'shipment'
                         WHEN pallet THEN 'pallet' ELSE 'case' END,
            'outcome', r.outcome, 'shipment', r.shipment_id, 'distributor', r.distributor_id,
            'received_at', webhook_time(r.received_at), 'received_by', r.received_by);
        RETURN;
    END IF;
    SELECT * INTO st, b FROM api_packing_019(p_token, p_client, p_op, p_arg, p_body);
    IF p_op = 'chain' AND st = 200 AND b ? 'shipment' AND jsonb_typeof(b -> 'shipment') = 'object' THEN
        SELECT * INTO who FROM admin_identity(p_token);
        SELECT * INTO r FROM pack_chain(p_arg::bigint, who.brand_ids);
        b := jsonb_set(b, '{shipment,received_at}', coalesce(to_jsonb(webhook_time(r.received_at)),
                                                             'null'::jsonb));
    END IF;
    RETURN QUERY SELECT st, b;
END $$;

-- ---- EPCIS (sql/020_epcis.sql): receiving ---------------------------------------------------

-- Receiving: one ObjectEvent per receipt (action OBSERVE, bizStep
-- receiving, disposition in_progress: CBV 2.0, goods arrived and being
-- put away at the receiver), at received_at: the unit's EPC (the pallet's
-- SSCC, the case's code) or, for a whole shipment, its pallets and cases
-- with its batches and ranges as quantities; the distributor as the
-- owning party of the destination, as in the shipping event it answers.
CREATE FUNCTION epcis_receiving(p_from timestamptz, p_to timestamptz, p_brand_ids bigint[],
                                p_batch bigint)
RETURNS TABLE (event text)
LANGUAGE sql STABLE AS $$
    SELECT epcis_event('ObjectEvent',
                       'receiving:' || rc.shipment_id || ':' || rc.kind || ':' || rc.parent,
                       rc.received_at,
                       jsonb_build_object(
                           'action', 'OBSERVE', 'bizStep', 'receiving',
                           'disposition', 'in_progress',
                           'epcList', CASE WHEN rc.kind <> 'shipment'
                                           THEN jsonb_build_array(epcis_parent_epc(
                                                    rc.kind = 'pallet', rc.parent))
                                           ELSE coalesce((SELECT jsonb_agg(epcis_parent_epc(
                                                                     i.kind = 'pallet', i.parent)
                                                                   ORDER BY i.ord)
                                                            FROM shipment_items i
                                                           WHERE i.shipment_id = s.id
                                                             AND i.parent IS NOT NULL),
                                                         '[]'::jsonb) END,
                           'quantityList', CASE WHEN rc.kind = 'shipment' THEN (
                                               SELECT jsonb_agg(jsonb_build_object(
                                                          'epcClass', b.epc_class,
                                                          'quantity', i.serial_last - i.serial_first + 1)
                                                      ORDER BY i.ord)
                                                 FROM shipment_items i
                                                 JOIN epcis_batches b ON b.id = i.batch_id
                                                WHERE i.shipment_id = s.id
                                                  AND i.serial_first IS NOT NULL) END,
                           'destinationList', jsonb_build_array(jsonb_build_object(
                               'type', 'owning_party',
                               'destination', 'urn:packcode:distributor:' || s.distributor_id)),
                           'packcode:shipment', s.id,
                           'packcode:distributor', s.distributor_id))
      FROM shipment_receipts rc JOIN shipments s ON s.id = rc.shipment_id
     WHERE rc.received_at >= p_from AND rc.received_at < p_to
       AND (p_brand_ids IS NULL OR s.brand_id = ANY (p_brand_ids))
       AND (p_batch IS NULL
            OR (rc.kind <> 'shipment' AND EXISTS (
                    SELECT 1 FROM pack_descendants(rc.kind = 'pallet', rc.parent) d
                      JOIN batches bt ON bt.id = p_batch
                     WHERE d.serial BETWEEN bt.serial_first AND bt.serial_last))
            OR (rc.kind = 'shipment' AND EXISTS (
                    SELECT 1 FROM shipment_items i
                     WHERE i.shipment_id = s.id
                       AND (i.batch_id = p_batch
                            OR (i.parent IS NOT NULL AND EXISTS (
                                    SELECT 1 FROM pack_descendants(i.kind = 'pallet', i.parent) d
                                      JOIN batches bt ON bt.id = p_batch
                                     WHERE d.serial BETWEEN bt.serial_first
                                                        AND bt.serial_last))))))
$$;

INSERT INTO epcis_event_kinds (kind, fn, position, in_default, description) VALUES
    ('receiving', 'epcis_receiving', 70, true, 'a shipment, a pallet or a case received');
