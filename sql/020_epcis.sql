-- 020_epcis.sql: the chain of custody as GS1 EPCIS 2.0 events (docs/epcis.md).
-- Nothing new is recorded: the events are read from what the supply chain
-- already keeps (batches, supply_changes, scans), one kind at a time, each
-- kind one function registered in epcis_event_kinds. Adding a kind (packing,
-- shipping) is one function and one row.
--
-- 1. A brand's location: brands.gln (GS1 GLN), readPoint and bizLocation of
--    the brand's events (omitted without one); brand_set_gln, audited.
-- 2. Identifiers: event ids (urn:uuid, version 8, a SHA-256 of this
--    database's namespace and the source row), EPCs and EPC classes (GS1
--    Digital Link URIs on id.gs1.org; urn:packcode: for products without a
--    GTIN).
-- 3. The kinds and epcis_sql(), the COPY ... TO STDOUT that streams them;
--    packing and shipping read sql/018_packing.sql's and 019's tables.
--
-- The code of a pack is not in the database (its signature needs the
-- keyring), so an event naming a pack carries the marker #{KEY.SERIAL}
-- where the code goes; lib/epcis.c replaces it as the line leaves. No text
-- of an event comes from outside input: GTINs, lots (no '#' or '{' in
-- their character set), skus and numbers only, so a marker is never forged.

-- ---- 1. the brand's location ----------------------------------------------------------------

ALTER TABLE brands ADD COLUMN gln char(13) CHECK (gln ~ '^[0-9]{13}$');

-- true if the last digit of the digits p_key is their GS1 check digit.
CREATE FUNCTION gs1_check_digit_ok(p_key text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT p_key ~ '^[0-9]{2,}$' AND
           (10 - (SELECT sum(substr(reverse(p_key), i + 2, 1)::integer
                             * CASE WHEN i % 2 = 0 THEN 3 ELSE 1 END)
                    FROM generate_series(0, length(p_key) - 2) i) % 10) % 10
           = right(p_key, 1)::integer
$$;

-- Set (or, with NULL, clear) brand p_brand's GLN. outcome: done | unchanged
-- | unknown_brand; a malformed GLN or a wrong check digit is 22023.
-- Audited as brand.gln.
CREATE FUNCTION brand_set_gln(p_actor text, p_client inet, p_brand text, p_gln text)
RETURNS TABLE (outcome text)
LANGUAGE plpgsql AS $$
DECLARE
    cur text;
BEGIN
    IF p_gln IS NOT NULL AND (p_gln !~ '^[0-9]{13}$' OR NOT gs1_check_digit_ok(p_gln)) THEN
        RAISE EXCEPTION 'a GLN is 13 digits with its check digit, not %', p_gln
            USING ERRCODE = '22023';
    END IF;
    SELECT b.gln INTO cur FROM brands b WHERE b.name = p_brand FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unknown_brand'::text;
        RETURN;
    END IF;
    IF cur IS NOT DISTINCT FROM p_gln THEN
        RETURN QUERY SELECT 'unchanged'::text;
        RETURN;
    END IF;
    UPDATE brands b SET gln = p_gln WHERE b.name = p_brand;
    PERFORM audit_append(p_actor, p_client, 'brand.gln', p_brand,
                         jsonb_build_object('from', cur, 'to', p_gln));
    RETURN QUERY SELECT 'done'::text;
END $$;

-- ---- 2. identifiers -------------------------------------------------------------------------

-- This database's namespace for event ids, drawn once: two databases never
-- name different events alike, and one database names an event alike in
-- every document.
CREATE TABLE epcis_namespace (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    namespace uuid NOT NULL DEFAULT gen_random_uuid()
);
INSERT INTO epcis_namespace DEFAULT VALUES;

-- The event id of source p_name ("activation:42"): urn:uuid: and a UUID
-- version 8 (RFC 9562) from the SHA-256 of the namespace and the name.
CREATE FUNCTION epcis_event_id(p_name text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT 'urn:uuid:' || substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-8' || substr(h, 14, 3)
           || '-' || substr('89ab', (('x' || substr(h, 17, 1))::bit(4)::integer & 3) + 1, 1)
           || substr(h, 18, 3) || '-' || substr(h, 21, 12)
      FROM (SELECT encode(sha256(convert_to(n.namespace::text || ':' || p_name, 'UTF8')), 'hex')
                   AS h
              FROM epcis_namespace n) x
$$;

-- An EPCIS time and its offset: UTC, milliseconds.
CREATE FUNCTION epcis_time(p_at timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT to_char(p_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

-- A value percent-encoded for a Digital Link path segment (all but
-- unreserved characters).
CREATE FUNCTION epcis_pct(p text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT string_agg(CASE WHEN c ~ '^[A-Za-z0-9._~-]$' THEN c
                           ELSE '%' || upper(encode(convert_to(c, 'UTF8'), 'hex')) END, ''
                      ORDER BY i)
      FROM regexp_split_to_table(p, '') WITH ORDINALITY AS t(c, i)
$$;

-- Each batch as its events name it: the brand, its GLN as a location
-- (Digital Link, AI 414), the EPC class of its packs (the GTIN, with the
-- lot when there is one: an LGTIN) and the start of a pack's EPC (the
-- marker #{key.serial} ends it).
CREATE VIEW epcis_batches AS
SELECT b.id, b.key_id, b.serial_first, b.serial_last, b.created_at, b.status, b.inactive,
       b.lot, b.expiry, p.sku, p.gtin, br.id AS brand_id,
       CASE WHEN br.gln IS NOT NULL THEN 'https://id.gs1.org/414/' || br.gln END AS location,
       CASE WHEN p.gtin IS NOT NULL
            THEN 'https://id.gs1.org/01/' || p.gtin || coalesce('/10/' || epcis_pct(b.lot), '')
            ELSE 'urn:packcode:sku:' || p.sku END AS epc_class,
       CASE WHEN p.gtin IS NOT NULL THEN 'https://id.gs1.org/01/' || p.gtin || '/21/'
            ELSE 'urn:packcode:code:' END AS epc_prefix
  FROM batches b JOIN products p ON p.sku = b.product_sku JOIN brands br ON br.name = p.brand;

-- The EPC of serial p_serial of batch b: a marker lib/epcis.c fills in.
CREATE FUNCTION epcis_epc(p_prefix text, p_key smallint, p_serial bigint) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT p_prefix || '#{' || p_key || '.' || p_serial || '}'
$$;

-- The fields every event of a batch shares: where (the brand's GLN) and
-- which print run (packcode:batch).
CREATE FUNCTION epcis_where(p_location text) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_location IS NULL THEN '{}'::jsonb
                ELSE jsonb_build_object('readPoint', jsonb_build_object('id', p_location),
                                        'bizLocation', jsonb_build_object('id', p_location)) END
$$;

-- An event as it leaves: its id and times first, NULL fields dropped. With
-- p_undone (a change undone at that time) the event is its error
-- declaration (EPCIS 2.0, 7.4.1.5): the same event, declared incorrect.
CREATE FUNCTION epcis_event(p_type text, p_source text, p_at timestamptz, p_body jsonb,
                            p_undone timestamptz DEFAULT NULL) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT jsonb_strip_nulls(
               jsonb_build_object('type', p_type, 'eventID', epcis_event_id(p_source),
                                  'eventTime', epcis_time(p_at),
                                  'eventTimeZoneOffset', '+00:00')
               || p_body
               || CASE WHEN p_undone IS NULL THEN '{}'::jsonb
                       ELSE jsonb_build_object('errorDeclaration',
                                               jsonb_build_object('declarationTime',
                                                                  epcis_time(p_undone),
                                                                  'reason', 'incorrect_data'))
                  END)::text
$$;

-- ---- 3. the kinds ---------------------------------------------------------------------------

-- Every kind has one function (p_from, p_to, p_brand_ids, p_batch) returning
-- one event a row, as text: the events of [p_from, p_to) of the batches of
-- brands p_brand_ids (NULL: every brand), of batch p_batch (NULL: every
-- batch). An undone change gives its event (at its time) and its error
-- declaration (at the undo's). in_default: part of a request naming no kind.
CREATE TABLE epcis_event_kinds (
    kind        text PRIMARY KEY CHECK (kind ~ '^[a-z_]{1,32}$'),
    fn          regproc NOT NULL,
    position    integer NOT NULL UNIQUE,
    in_default  boolean NOT NULL,
    description text NOT NULL
);

-- Commissioning: a print run, minted. One event per batch, its packs as a
-- quantity of their EPC class (a million codes are one line), the serial
-- range as packcode: fields; lot and expiry as instance master data.
-- Disposition inactive for a batch minted inactive (released later by
-- activation events), active otherwise. Batches being minted (files not
-- yet written) or void (never completed) have none.
CREATE FUNCTION epcis_commissioning(p_from timestamptz, p_to timestamptz, p_brand_ids bigint[],
                                    p_batch bigint)
RETURNS TABLE (event text)
LANGUAGE sql STABLE AS $$
    SELECT epcis_event('ObjectEvent', 'commissioning:' || b.id, b.created_at,
                       jsonb_build_object(
                           'action', 'ADD', 'bizStep', 'commissioning',
                           'disposition', CASE WHEN b.inactive THEN 'inactive' ELSE 'active' END,
                           'epcList', '[]'::jsonb,
                           'quantityList',
                           jsonb_build_array(jsonb_build_object(
                               'epcClass', b.epc_class,
                               'quantity', b.serial_last - b.serial_first + 1)),
                           'ilmd', CASE WHEN b.lot IS NOT NULL OR b.expiry IS NOT NULL
                                        THEN jsonb_strip_nulls(jsonb_build_object(
                                                 'cbvmda:lotNumber', b.lot,
                                                 'cbvmda:itemExpirationDate',
                                                 to_char(b.expiry, 'YYYY-MM-DD'))) END,
                           'packcode:batch', b.id, 'packcode:serialFirst', b.serial_first,
                           'packcode:serialLast', b.serial_last)
                       || epcis_where(b.location))
      FROM epcis_batches b
     WHERE b.created_at >= p_from AND b.created_at < p_to
       AND b.status NOT IN ('minting', 'void')
       AND (p_brand_ids IS NULL OR b.brand_id = ANY (p_brand_ids))
       AND (p_batch IS NULL OR b.id = p_batch)
$$;

-- The supply chain's changes of one kind in range, with each undone one
-- twice (the change at its time, its declaration at the undo's).
CREATE FUNCTION epcis_changes(p_kind text, p_from timestamptz, p_to timestamptz,
                              p_brand_ids bigint[], p_batch bigint)
RETURNS TABLE (id bigint, at timestamptz, undone timestamptz, serial bigint,
               serial_first bigint, serial_last bigint, next text, b epcis_batches)
LANGUAGE sql STABLE AS $$
    SELECT c.id, c.at, d.undone, c.serial, c.serial_first, c.serial_last, c.next, b
      FROM supply_changes c
      JOIN epcis_batches b ON b.id = c.batch_id
     CROSS JOIN LATERAL (SELECT NULL::timestamptz AS undone WHERE c.at >= p_from AND c.at < p_to
                         UNION ALL
                         SELECT c.undone_at WHERE c.undone_at >= p_from AND c.undone_at < p_to) d
     WHERE c.kind = p_kind
       AND (c.at >= p_from AND c.at < p_to OR c.undone_at >= p_from AND c.undone_at < p_to)
       AND (p_brand_ids IS NULL OR b.brand_id = ANY (p_brand_ids))
       AND (p_batch IS NULL OR c.batch_id = p_batch)
$$;

-- Activation: codes of a batch minted inactive released for sale, a serial
-- range (supply_changes, kind activation). No CBV step says "released", so
-- packcode's own; the disposition (active) is the standard's.
CREATE FUNCTION epcis_activation(p_from timestamptz, p_to timestamptz, p_brand_ids bigint[],
                                 p_batch bigint)
RETURNS TABLE (event text)
LANGUAGE sql STABLE AS $$
    SELECT epcis_event('ObjectEvent', 'activation:' || c.id, c.at,
                       jsonb_build_object(
                           'action', 'OBSERVE', 'bizStep', 'urn:packcode:bizstep:activating',
                           'disposition', 'active', 'epcList', '[]'::jsonb,
                           'quantityList',
                           jsonb_build_array(jsonb_build_object(
                               'epcClass', (c.b).epc_class,
                               'quantity', c.serial_last - c.serial_first + 1)),
                           'packcode:batch', (c.b).id, 'packcode:serialFirst', c.serial_first,
                           'packcode:serialLast', c.serial_last)
                       || epcis_where((c.b).location), c.undone)
      FROM epcis_changes('activation', p_from, p_to, p_brand_ids, p_batch) c
$$;

-- A pack's state (supply_changes, kind code_state): void, stolen,
-- destroyed, sample, or back to its batch's (none). One event per change,
-- the pack's EPC in epcList. The mapping is docs/epcis.md's table.
CREATE FUNCTION epcis_state(p_from timestamptz, p_to timestamptz, p_brand_ids bigint[],
                            p_batch bigint)
RETURNS TABLE (event text)
LANGUAGE sql STABLE AS $$
    SELECT epcis_event('ObjectEvent', 'state:' || c.id, c.at,
                       jsonb_build_object(
                           'action', CASE c.next WHEN 'destroyed' THEN 'DELETE' ELSE 'OBSERVE' END,
                           'bizStep', CASE c.next WHEN 'void' THEN 'decommissioning'
                                                  WHEN 'destroyed' THEN 'destroying'
                                                  WHEN 'sample' THEN 'sampling'
                                                  WHEN 'stolen' THEN 'urn:packcode:bizstep:reporting_theft'
                                                  ELSE 'urn:packcode:bizstep:reinstating' END,
                           'disposition', CASE c.next WHEN 'void' THEN 'inactive'
                                                      WHEN 'destroyed' THEN 'destroyed'
                                                      WHEN 'sample' THEN 'non_sellable_other'
                                                      WHEN 'stolen' THEN 'stolen'
                                                      ELSE CASE
                                                          WHEN (c.b).status = 'recalled'
                                                          THEN 'recalled'
                                                          WHEN (c.b).status = 'expired'
                                                          THEN 'expired'
                                                          WHEN (c.b).inactive AND NOT EXISTS (
                                                              SELECT 1 FROM batch_activations a
                                                               WHERE a.batch_id = (c.b).id
                                                                 AND c.serial BETWEEN a.serial_first
                                                                                  AND a.serial_last)
                                                          THEN 'inactive'
                                                          ELSE 'active' END END,
                           'epcList', jsonb_build_array(epcis_epc((c.b).epc_prefix, (c.b).key_id,
                                                                  c.serial)),
                           'packcode:batch', (c.b).id, 'packcode:state',
                           coalesce(c.next, 'none'))
                       || epcis_where((c.b).location), c.undone)
      FROM epcis_changes('code_state', p_from, p_to, p_brand_ids, p_batch) c
$$;

-- A batch taken out of sale as expired (supply_changes, kind batch_status).
CREATE FUNCTION epcis_expiry(p_from timestamptz, p_to timestamptz, p_brand_ids bigint[],
                             p_batch bigint)
RETURNS TABLE (event text)
LANGUAGE sql STABLE AS $$
    SELECT epcis_event('ObjectEvent', 'expiry:' || c.id, c.at,
                       jsonb_build_object(
                           'action', 'OBSERVE', 'bizStep', 'urn:packcode:bizstep:expiring',
                           'disposition', 'expired', 'epcList', '[]'::jsonb,
                           'quantityList',
                           jsonb_build_array(jsonb_build_object(
                               'epcClass', (c.b).epc_class,
                               'quantity', (c.b).serial_last - (c.b).serial_first + 1)),
                           'packcode:batch', (c.b).id, 'packcode:serialFirst', (c.b).serial_first,
                           'packcode:serialLast', (c.b).serial_last)
                       || epcis_where((c.b).location), c.undone)
      FROM epcis_changes('batch_status', p_from, p_to, p_brand_ids, p_batch) c
     WHERE c.next = 'expired'
$$;

-- Consumer scans of a pack: where only as a region (ISO 3166-2, else the
-- country), never an address, a member or a User-Agent; the verdict the
-- consumer saw. Scans have no id: the event's source is the scan's time,
-- serial, kind and scanner hash. In PL/pgSQL, the brands' batches picked
-- first: on Citus scans are distributed and the batches the coordinator's,
-- so the scans are read alone (by batch_id = ANY) and the events built on
-- the coordinator (the event id reads epcis_namespace, which the workers
-- lack).
CREATE FUNCTION epcis_scan(p_from timestamptz, p_to timestamptz, p_brand_ids bigint[],
                           p_batch bigint)
RETURNS TABLE (event text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    ids bigint[];
    keys smallint[];
    prefixes text[];
BEGIN
    SELECT coalesce(array_agg(b.id ORDER BY b.id), '{}'),
           coalesce(array_agg(b.key_id ORDER BY b.id), '{}'),
           coalesce(array_agg(b.epc_prefix ORDER BY b.id), '{}')
      INTO ids, keys, prefixes
      FROM epcis_batches b
     WHERE (p_brand_ids IS NULL OR b.brand_id = ANY (p_brand_ids))
       AND (p_batch IS NULL OR b.id = p_batch);
    RETURN QUERY
    WITH s AS MATERIALIZED (
        SELECT sc.at, sc.serial, sc.kind, sc.outcome, sc.scanner, sc.batch_id,
               coalesce(sc.subdivision, sc.country) AS region
          FROM scans sc
         WHERE sc.at >= p_from AND sc.at < p_to AND sc.serial > 0 AND sc.batch_id = ANY (ids))
    SELECT epcis_event('ObjectEvent',
                       'scan:' || s.serial || ':' || epcis_time(s.at) || ':'
                       || extract(microseconds FROM s.at)::bigint % 1000 || ':' || s.kind
                       || ':' || coalesce(s.scanner, 0),
                       s.at,
                       jsonb_build_object(
                           'action', 'OBSERVE',
                           'bizStep', 'urn:packcode:bizstep:consumer_scanning',
                           'epcList', jsonb_build_array(epcis_epc(prefixes[x.i], keys[x.i],
                                                                  s.serial)),
                           'packcode:batch', s.batch_id, 'packcode:verdict', s.outcome,
                           'packcode:region', s.region))
      FROM s CROSS JOIN LATERAL (SELECT array_position(ids, s.batch_id) AS i) x;
END $$;

-- ---- packing and shipping (sql/018_packing.sql, sql/019_distributors.sql) ------------------

-- The EPC of a parent: a pallet's SSCC (pack_links.parent, 18 digits) as a
-- Digital Link (AI 00), or a case's code (a serial of a case product's batch).
CREATE FUNCTION epcis_parent_epc(p_pallet boolean, p_parent bigint) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p_pallet THEN 'https://id.gs1.org/00/' || lpad(p_parent::text, 18, '0')
                ELSE (SELECT epcis_epc(b.epc_prefix, b.key_id, p_parent) FROM epcis_batches b
                       WHERE int8range(b.serial_first, b.serial_last, '[]') @> p_parent) END
$$;

-- Packing as AggregationEvents. ADD (bizStep packing): one event per load
-- (pack_loads, at its time) and parent, its children as they were loaded:
-- the links as they stand, and those since taken away or moved (each with
-- the parent it was loaded into: its first pack_changes row of that load).
-- DELETE (bizStep unpacking): one per unpack (pack_changes kind unpack: a
-- parent's children at once). A repack (kind repack) is a DELETE from the
-- old parent and an ADD to the new one, at its time. Children are listed
-- (childEPCs): a parent holds a case or a pallet of them, never a run.
-- A child's batch is found through batches' exclusion index (the range
-- containing its serial), one probe a child.
CREATE FUNCTION epcis_packing(p_from timestamptz, p_to timestamptz, p_brand_ids bigint[],
                              p_batch bigint)
RETURNS TABLE (event text)
LANGUAGE sql STABLE AS $$
    WITH loads AS (
        SELECT ld.id, ld.at FROM pack_loads ld WHERE ld.at >= p_from AND ld.at < p_to),
    packed AS (
        SELECT l.load_id, l.child, coalesce(c.parent_before, l.parent) AS parent,
               coalesce(c.pallet_before, l.pallet) AS pallet
          FROM pack_links l
          LEFT JOIN LATERAL (SELECT pc.parent_before, pc.pallet_before FROM pack_changes pc
                              WHERE pc.child = l.child AND pc.load_before = l.load_id
                              ORDER BY pc.id LIMIT 1) c ON true
         WHERE l.load_id IN (SELECT id FROM loads)
        UNION
        (SELECT DISTINCT ON (pc.load_before, pc.child) pc.load_before, pc.child, pc.parent_before,
                pc.pallet_before
           FROM pack_changes pc
          WHERE pc.load_before IN (SELECT id FROM loads)
          ORDER BY pc.load_before, pc.child, pc.id)),
    moves AS (
        -- unpacks (a parent's children at once) and each repack's two halves
        SELECT 'unpack:' || min(pc.id) AS source, pc.at, 'DELETE' AS action,
               'unpacking' AS step, pc.parent_before AS parent, pc.pallet_before AS pallet,
               array_agg(pc.child ORDER BY pc.child) AS children, min(pc.id) AS change
          FROM pack_changes pc
         WHERE pc.kind = 'unpack' AND pc.at >= p_from AND pc.at < p_to
         GROUP BY pc.at, pc.parent_before, pc.pallet_before
        UNION ALL
        SELECT 'repack-out:' || pc.id, pc.at, 'DELETE', 'unpacking', pc.parent_before,
               pc.pallet_before, ARRAY[pc.child], pc.id
          FROM pack_changes pc
         WHERE pc.kind = 'repack' AND pc.at >= p_from AND pc.at < p_to
        UNION ALL
        SELECT 'repack-in:' || pc.id, pc.at, 'ADD', 'packing', pc.parent_after, pc.pallet_after,
               ARRAY[pc.child], pc.id
          FROM pack_changes pc
         WHERE pc.kind = 'repack' AND pc.at >= p_from AND pc.at < p_to),
    events AS (
        SELECT 'packing:' || p.load_id || ':' || p.parent || ':' || p.pallet::integer AS source,
               ld.at, 'ADD' AS action, 'packing' AS step, p.parent, p.pallet, p.load_id,
               NULL::bigint AS change, array_agg(p.child ORDER BY p.child) AS children
          FROM packed p JOIN loads ld ON ld.id = p.load_id
         GROUP BY p.load_id, ld.at, p.parent, p.pallet
        UNION ALL
        SELECT m.source, m.at, m.action, m.step, m.parent, m.pallet, NULL, m.change, m.children
          FROM moves m)
    SELECT epcis_event('AggregationEvent', e.source, e.at,
                       jsonb_build_object(
                           'action', e.action, 'bizStep', e.step,
                           'parentID', epcis_parent_epc(e.pallet, e.parent),
                           'childEPCs', k.epcs, 'packcode:load', e.load_id,
                           'packcode:change', e.change)
                       || epcis_where(k.location))
      FROM events e
     CROSS JOIN LATERAL (
         SELECT jsonb_agg(epcis_epc(b.epc_prefix, b.key_id, c.serial) ORDER BY c.i) AS epcs,
                min(b.location) AS location, bool_or(b.id = p_batch) AS in_batch,
                bool_or(p_brand_ids IS NULL OR b.brand_id = ANY (p_brand_ids)) AS allowed
           FROM unnest(e.children) WITH ORDINALITY AS c(serial, i)
           JOIN epcis_batches b
             ON int8range(b.serial_first, b.serial_last, '[]') @> c.serial) k
     WHERE k.allowed AND (p_batch IS NULL OR k.in_batch)
$$;

-- Shipping: one ObjectEvent per shipment (bizStep shipping, disposition
-- in_transit, at shipped_at): its pallets (SSCCs) and cases in epcList, its
-- batches and serial ranges as quantities, the distributor as the
-- destination (urn:packcode:distributor:ID: distributors have no GLN; the
-- name is outside input and stays out of events). Receiving is not
-- recorded (no table says a shipment arrived), so it has no event.
CREATE FUNCTION epcis_shipping(p_from timestamptz, p_to timestamptz, p_brand_ids bigint[],
                               p_batch bigint)
RETURNS TABLE (event text)
LANGUAGE sql STABLE AS $$
    SELECT epcis_event('ObjectEvent', 'shipping:' || s.id, s.shipped_at,
                       jsonb_build_object(
                           'action', 'OBSERVE', 'bizStep', 'shipping', 'disposition', 'in_transit',
                           'epcList', coalesce((SELECT jsonb_agg(epcis_parent_epc(i.kind = 'pallet',
                                                                                  i.parent)
                                                                 ORDER BY i.ord)
                                                  FROM shipment_items i
                                                 WHERE i.shipment_id = s.id
                                                   AND i.parent IS NOT NULL), '[]'::jsonb),
                           'quantityList', (SELECT jsonb_agg(jsonb_build_object(
                                                       'epcClass', b.epc_class,
                                                       'quantity', i.serial_last - i.serial_first + 1)
                                                   ORDER BY i.ord)
                                              FROM shipment_items i
                                              JOIN epcis_batches b ON b.id = i.batch_id
                                             WHERE i.shipment_id = s.id
                                               AND i.serial_first IS NOT NULL),
                           'destinationList', jsonb_build_array(jsonb_build_object(
                               'type', 'owning_party',
                               'destination', 'urn:packcode:distributor:' || s.distributor_id)),
                           'packcode:shipment', s.id,
                           'packcode:distributor', s.distributor_id)
                       || epcis_where(CASE WHEN br.gln IS NOT NULL
                                           THEN 'https://id.gs1.org/414/' || br.gln END))
      FROM shipments s JOIN brands br ON br.id = s.brand_id
     WHERE s.shipped_at >= p_from AND s.shipped_at < p_to
       AND (p_brand_ids IS NULL OR s.brand_id = ANY (p_brand_ids))
       AND (p_batch IS NULL OR EXISTS (
               SELECT 1 FROM shipment_items i
                WHERE i.shipment_id = s.id
                  AND (i.batch_id = p_batch
                       OR (i.parent IS NOT NULL AND EXISTS (
                               SELECT 1 FROM pack_descendants(i.kind = 'pallet', i.parent) d
                                 JOIN batches bt ON bt.id = p_batch
                                WHERE d.serial BETWEEN bt.serial_first AND bt.serial_last)))))
$$;

INSERT INTO epcis_event_kinds (kind, fn, position, in_default, description) VALUES
    ('commissioning', 'epcis_commissioning', 10, true, 'a print run minted'),
    ('activation', 'epcis_activation', 20, true, 'codes released for sale'),
    ('state', 'epcis_state', 30, true, 'a pack voided, stolen, destroyed, a sample, or back'),
    ('expiry', 'epcis_expiry', 40, true, 'a batch expired'),
    ('packing', 'epcis_packing', 50, true, 'packs into cases, cases onto pallets, and back'),
    ('shipping', 'epcis_shipping', 60, true, 'a shipment to a distributor'),
    ('scan', 'epcis_scan', 90, false, 'consumer scans (region only)');

-- The COPY ... TO STDOUT of the events of kinds p_kinds (NULL: the default
-- ones; 'all': every one), one event a line as the kinds' functions write
-- them (CSV mode with a quote and delimiter JSON text never holds raw, as
-- export_sql's JSON Lines). The values are literals (COPY takes no
-- parameters). An unknown kind is 22023 naming the kinds there are.
CREATE FUNCTION epcis_sql(p_from timestamptz, p_to timestamptz, p_brand_ids bigint[],
                          p_batch bigint, p_kinds text[]) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    bad text;
    args text;
    sel text;
BEGIN
    IF p_to <= p_from THEN
        RAISE EXCEPTION 'from must be before to' USING ERRCODE = '23514';
    END IF;
    SELECT k INTO bad FROM unnest(p_kinds) k
     WHERE k <> 'all' AND k NOT IN (SELECT kind FROM epcis_event_kinds) LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'unknown event kind "%": the kinds are %, or all', bad,
            (SELECT string_agg(kind, ', ' ORDER BY position) FROM epcis_event_kinds)
            USING ERRCODE = '22023';
    END IF;
    args := format('%L::timestamptz, %L::timestamptz, %L::bigint[], %L::bigint', p_from, p_to,
                   p_brand_ids, p_batch);
    SELECT string_agg(format('SELECT event FROM %s(%s)', k.fn, args), ' UNION ALL '
                      ORDER BY k.position) INTO sel
      FROM epcis_event_kinds k
     WHERE CASE WHEN p_kinds IS NULL THEN k.in_default
                ELSE 'all' = ANY (p_kinds) OR k.kind = ANY (p_kinds) END;
    RETURN format('COPY (%s) TO STDOUT WITH (FORMAT csv, QUOTE E''\x01'', DELIMITER E''\x02'')',
                  sel);
END $$;

-- The events of brands p_brand_ids (NULL: every brand; the operator's
-- CLI), of [p_from, p_to) (NULL: open), of batch p_batch (NULL: all; one
-- of another brand is unknown), of kinds p_kinds: outcome ok with the
-- COPY, or unknown_batch.
CREATE FUNCTION epcis_begin(p_brand_ids bigint[], p_from timestamptz, p_to timestamptz,
                            p_batch bigint, p_kinds text[])
RETURNS TABLE (outcome text, copy_sql text)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF p_batch IS NOT NULL AND NOT EXISTS (
           SELECT 1 FROM epcis_batches b
            WHERE b.id = p_batch AND (p_brand_ids IS NULL OR b.brand_id = ANY (p_brand_ids))) THEN
        RETURN QUERY SELECT 'unknown_batch'::text, NULL::text;
        RETURN;
    END IF;
    RETURN QUERY SELECT 'ok'::text, epcis_sql(coalesce(p_from, '-infinity'),
                                              coalesce(p_to, 'infinity'), p_brand_ids, p_batch,
                                              p_kinds);
END $$;

-- The events for identity p_token (its brands), of batch p_batch (NULL:
-- all; one the identity may not see is unknown): outcome ok with the COPY,
-- or unknown_batch.
CREATE FUNCTION admin_epcis_begin(p_token bigint, p_from timestamptz, p_to timestamptz,
                                  p_batch bigint, p_kinds text[])
RETURNS TABLE (outcome text, copy_sql text)
LANGUAGE plpgsql AS $$
DECLARE
    who record;
BEGIN
    SELECT * INTO who FROM admin_identity(p_token);
    RETURN QUERY SELECT * FROM epcis_begin(who.brand_ids, p_from, p_to, p_batch, p_kinds);
END $$;
