-- 013_supply.sql: the code's life between the factory and the consumer
-- (docs/supply-chain.md): activation on release, pack states, lot and expiry.
-- Stateless where the state is uniform: a batch minted inactive is one flag,
-- activating a million of its codes is one row of batch_activations (a
-- serial range, loaded into every server's catalog); a code gets a row of
-- code_states only when its state differs from its batch's. Every change is
-- a row of supply_changes (undoable within supply_undo_window(), 10 days by
-- default as EU FMD allows) and an audit row, in one transaction with its
-- webhook event. claim_many and claim are redefined with both paths of
-- 010_citus.sql: a code that is inactive, void, stolen, destroyed, a sample
-- or expired is never awarded, whatever the server checked before.

-- ---- the tables -------------------------------------------------------------------------

-- A product whose print runs are minted inactive unless mint says otherwise.
ALTER TABLE products ADD COLUMN inactive_by_default boolean NOT NULL DEFAULT false;

-- inactive: minted inactive, so a code is valid only where a row of
-- batch_activations covers it. lot and expiry: GS1 AI 10 and AI 17 (the
-- date itself; a YYMMDD with day 00 is the month's last day). 'expired':
-- taken out of sale as expired before (or whatever) its date.
ALTER TABLE batches
    ADD COLUMN inactive boolean NOT NULL DEFAULT false,
    ADD COLUMN lot text CHECK (lot ~ '^[!"%-?A-Z_a-z]{1,20}$' AND lot NOT IN ('.', '..')),
    ADD COLUMN expiry date;
ALTER TABLE batches DROP CONSTRAINT batches_status_check;
ALTER TABLE batches ADD CONSTRAINT batches_status_check
    CHECK (status IN ('minting', 'active', 'recalled', 'void', 'expired'));

-- Which codes of an inactive batch are released: serial ranges, one row per
-- activation (they may overlap: undoing one leaves the others). Small, the
-- coordinator's own on Citus, cached by the servers (NOTIFY).
CREATE TABLE batch_activations (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    batch_id      bigint NOT NULL REFERENCES batches (id),
    serial_first  bigint NOT NULL,
    serial_last   bigint NOT NULL CHECK (serial_last >= serial_first),
    activated_at  timestamptz NOT NULL DEFAULT now(),
    change_id     bigint NOT NULL UNIQUE
);
CREATE INDEX batch_activations_batch ON batch_activations (batch_id, serial_first);
CREATE TRIGGER batch_activations_changed AFTER INSERT OR UPDATE OR DELETE ON batch_activations
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_changed();

-- A code whose state differs from its batch's; no row: the batch's state.
-- Distributed by serial on Citus, co-located with redemptions.
CREATE TABLE code_states (
    serial      bigint PRIMARY KEY,
    batch_id    bigint NOT NULL,
    state       text NOT NULL CHECK (state IN ('void', 'stolen', 'destroyed', 'sample')),
    changed_at  timestamptz NOT NULL,
    change_id   bigint NOT NULL
);

-- Every supply-chain change, for its undo: kind code_state (serial, previous
-- and next state, NULL meaning the batch's), activation (the range; its row
-- of batch_activations has change_id = id), batch_status (previous and next
-- status). The coordinator's own on Citus, like audit's readers.
CREATE TABLE supply_changes (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at            timestamptz NOT NULL DEFAULT now(),
    actor         text NOT NULL CHECK (length(actor) <= 200),
    kind          text NOT NULL CHECK (kind IN ('code_state', 'activation', 'batch_status')),
    batch_id      bigint NOT NULL,
    serial        bigint,
    serial_first  bigint,
    serial_last   bigint,
    previous      text,
    next          text,
    reason        text CHECK (length(reason) <= 500),
    undone_at     timestamptz,
    undone_by     text
);
CREATE INDEX supply_changes_serial ON supply_changes (serial, id) WHERE serial IS NOT NULL;
CREATE INDEX supply_changes_batch ON supply_changes (batch_id, id);

INSERT INTO webhook_event_types (name, subject, description) VALUES
    ('codes.activated', 'batch', 'codes of a batch minted inactive were released for sale'),
    ('code.state_changed', 'code', 'a code was marked void, stolen, destroyed or a sample, or cleared'),
    ('code.inactive_scanned', 'code', 'a consumer scanned a code that was never released for sale'),
    ('batch.expired', 'batch', 'a print run was taken out of sale as expired'),
    ('supply.undone', 'batch', 'a supply-chain change (activation, code state, expiry) was undone');
-- code_inactive_scanned looks for the code's last alert
CREATE INDEX webhook_events_inactive_scanned ON webhook_events (subject, created_at)
    WHERE type = 'code.inactive_scanned';

-- ---- policy and helpers --------------------------------------------------------------------

-- How long a supply-chain change can be undone: the setting packcode.undo_window
-- (ALTER DATABASE ... SET packcode.undo_window = '10 days'), 10 days without it.
CREATE FUNCTION supply_undo_window() RETURNS interval LANGUAGE plpgsql STABLE AS $$
DECLARE
    v text := current_setting('packcode.undo_window', true);
BEGIN
    RETURN coalesce(nullif(v, '')::interval, interval '10 days');
END $$;

-- A GS1 AI 17 date YYMMDD as a date: the century by GS1's sliding window
-- (General Specifications 7.12: up to 49 years back, 50 ahead), day 00 the
-- month's last day. NULL for NULL; 22023 for anything else.
CREATE FUNCTION gs1_date(p_yymmdd text) RETURNS date LANGUAGE plpgsql STABLE AS $$
DECLARE
    cur integer := extract(year FROM now() AT TIME ZONE 'UTC')::integer;
    yy integer;
    y integer;
    m integer;
    d integer;
    diff integer;
BEGIN
    IF p_yymmdd IS NULL THEN
        RETURN NULL;
    END IF;
    IF p_yymmdd !~ '^[0-9]{6}$' THEN
        RAISE EXCEPTION 'an expiry is YYMMDD, not %', p_yymmdd USING ERRCODE = '22023';
    END IF;
    yy := substr(p_yymmdd, 1, 2)::integer;
    m := substr(p_yymmdd, 3, 2)::integer;
    d := substr(p_yymmdd, 5, 2)::integer;
    diff := yy - cur % 100;
    y := cur - cur % 100 + yy;
    IF diff >= 51 THEN
        y := y - 100;
    ELSIF diff <= -50 THEN
        y := y + 100;
    END IF;
    IF m NOT BETWEEN 1 AND 12 THEN
        RAISE EXCEPTION 'expiry %: no month %', p_yymmdd, m USING ERRCODE = '22023';
    END IF;
    IF d = 0 THEN
        RETURN (make_date(y, m, 1) + interval '1 month - 1 day')::date;
    END IF;
    RETURN make_date(y, m, d);
EXCEPTION WHEN datetime_field_overflow THEN
    RAISE EXCEPTION 'expiry %: no such day', p_yymmdd USING ERRCODE = '22023';
END $$;

-- ---- print runs: inactive, lot, expiry -------------------------------------------------------

-- batch_create of 006_write_path.sql with what the supply chain needs:
-- p_inactive (NULL: the product's inactive_by_default), p_lot (AI 10),
-- p_expiry (AI 17, YYMMDD). A lot or an expiry needs a product with a GTIN
-- (they qualify a GTIN: 22023 otherwise). Audited as batch.create with them.
DROP FUNCTION batch_create(text, inet, text, bigint, smallint, text, text, text, boolean);
CREATE FUNCTION batch_create(p_actor text, p_client inet, p_sku text, p_count bigint,
                             p_key_id smallint, p_factory text, p_line text, p_region text,
                             p_pin boolean, p_inactive boolean DEFAULT NULL,
                             p_lot text DEFAULT NULL, p_expiry text DEFAULT NULL)
RETURNS batches LANGUAGE plpgsql AS $$
DECLARE
    b batches;
    pr record;
    exp date := gs1_date(p_expiry);
BEGIN
    SELECT p.gtin, p.inactive_by_default INTO pr FROM products p WHERE p.sku = p_sku;
    IF FOUND AND pr.gtin IS NULL AND (p_lot IS NOT NULL OR p_expiry IS NOT NULL) THEN
        RAISE EXCEPTION 'product % has no GTIN: a lot (AI 10) or an expiry (AI 17) qualifies a GTIN',
            p_sku USING ERRCODE = '22023';
    END IF;
    SELECT * INTO b FROM allocate_batch(p_sku, p_count, p_key_id, p_factory, p_line, p_region,
                                        p_pin);
    UPDATE batches bt SET inactive = coalesce(p_inactive, pr.inactive_by_default, false),
                          lot = p_lot, expiry = exp
     WHERE bt.id = b.id
    RETURNING * INTO b;
    PERFORM audit_append(p_actor, p_client, 'batch.create', b.id::text,
                         jsonb_build_object('sku', b.product_sku, 'count', p_count,
                                            'key_id', b.key_id, 'serial_first', b.serial_first,
                                            'serial_last', b.serial_last, 'factory', b.factory,
                                            'line', b.line, 'region', b.region,
                                            'pin_required', b.pin_required,
                                            'inactive', b.inactive, 'lot', b.lot,
                                            'expiry', b.expiry));
    RETURN b;
END $$;

-- Whether a product's print runs are minted inactive by default. outcome:
-- done | unchanged | unknown_product. Audited as product.inactive_by_default.
CREATE FUNCTION product_set_inactive_default(p_actor text, p_client inet, p_sku text,
                                             p_inactive boolean)
RETURNS TABLE (outcome text)
LANGUAGE plpgsql AS $$
DECLARE
    cur boolean;
BEGIN
    SELECT p.inactive_by_default INTO cur FROM products p WHERE p.sku = p_sku FOR UPDATE;
    IF cur IS NULL THEN
        RETURN QUERY SELECT 'unknown_product'::text;
        RETURN;
    END IF;
    IF cur = p_inactive THEN
        RETURN QUERY SELECT 'unchanged'::text;
        RETURN;
    END IF;
    UPDATE products p SET inactive_by_default = p_inactive WHERE p.sku = p_sku;
    PERFORM audit_append(p_actor, p_client, 'product.inactive_by_default', p_sku,
                         jsonb_build_object('inactive_by_default', p_inactive));
    RETURN QUERY SELECT 'done'::text;
END $$;

-- ---- activation --------------------------------------------------------------------------

-- Release codes p_seq_first..p_seq_last of batch p_batch (numbered 1..count
-- in print order, codes.csv's seq; both NULL: the whole batch) for sale:
-- one row, whatever the count. outcome: activated | already_active (the
-- batch was not minted inactive, or the range is released already) |
-- unknown_batch | wrong_status (a void batch) | bad_range (nothing changed).
-- Audited as codes.activate, target the batch; event codes.activated.
CREATE FUNCTION batch_activate(p_actor text, p_client inet, p_batch bigint, p_seq_first bigint,
                               p_seq_last bigint, p_reason text)
RETURNS TABLE (outcome text, change_id bigint, serial_first bigint, serial_last bigint,
               activated_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    t timestamptz := now();
    b record;
    lo bigint;
    hi bigint;
    cid bigint;
    n bigint;
BEGIN
    SELECT bt.id, bt.status, bt.inactive, bt.serial_first AS f, bt.serial_last AS l,
           bt.product_sku, p.brand
      INTO b
      FROM batches bt JOIN products p ON p.sku = bt.product_sku
     WHERE bt.id = p_batch FOR UPDATE OF bt;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unknown_batch'::text, NULL::bigint, NULL::bigint, NULL::bigint,
                            NULL::timestamptz;
        RETURN;
    END IF;
    n := b.l - b.f + 1;
    IF (p_seq_first IS NULL) <> (p_seq_last IS NULL) OR p_seq_first < 1 OR p_seq_last > n
       OR p_seq_first > p_seq_last THEN
        RETURN QUERY SELECT 'bad_range'::text, NULL::bigint, NULL::bigint, NULL::bigint,
                            NULL::timestamptz;
        RETURN;
    END IF;
    IF b.status = 'void' THEN
        RETURN QUERY SELECT 'wrong_status'::text, NULL::bigint, NULL::bigint, NULL::bigint,
                            NULL::timestamptz;
        RETURN;
    END IF;
    lo := b.f + coalesce(p_seq_first, 1) - 1;
    hi := b.f + coalesce(p_seq_last, n) - 1;
    IF NOT b.inactive OR EXISTS (SELECT 1 FROM batch_activations a
                                  WHERE a.batch_id = p_batch AND a.serial_first <= lo
                                    AND a.serial_last >= hi) THEN
        RETURN QUERY SELECT 'already_active'::text, NULL::bigint, lo, hi, NULL::timestamptz;
        RETURN;
    END IF;
    INSERT INTO supply_changes (at, actor, kind, batch_id, serial_first, serial_last, reason)
    VALUES (t, p_actor, 'activation', p_batch, lo, hi, p_reason)
    RETURNING id INTO cid;
    INSERT INTO batch_activations (batch_id, serial_first, serial_last, activated_at, change_id)
    VALUES (p_batch, lo, hi, t, cid);
    PERFORM audit_append(p_actor, p_client, 'codes.activate', p_batch::text,
                         jsonb_build_object('change', cid, 'serial_first', lo, 'serial_last', hi,
                                            'seq_first', lo - b.f + 1, 'seq_last', hi - b.f + 1,
                                            'count', hi - lo + 1, 'reason', p_reason));
    IF webhook_wanted('codes.activated') THEN
        PERFORM webhook_emit('codes.activated', ARRAY['batch:' || p_batch], ARRAY[b.brand],
                             ARRAY[jsonb_build_object('batch', p_batch, 'sku', b.product_sku,
                                                      'change', cid, 'serial_first', lo,
                                                      'serial_last', hi,
                                                      'seq_first', lo - b.f + 1,
                                                      'seq_last', hi - b.f + 1,
                                                      'count', hi - lo + 1,
                                                      'activated_at', webhook_time(t))]);
    END IF;
    RETURN QUERY SELECT 'activated'::text, cid, lo, hi, t;
END $$;

-- ---- pack states -------------------------------------------------------------------------

-- Mark code p_serial (of batch p_batch) void, stolen, destroyed or a sample,
-- or 'none': its batch's state again. The code's row lock orders its
-- changes. outcome: done | unchanged | unknown_batch (the serial is not in
-- that batch). Audited as code.state, target the serial; event
-- code.state_changed. One shard on Citus (code_states by serial).
CREATE FUNCTION code_state_set(p_actor text, p_client inet, p_serial bigint, p_batch bigint,
                               p_state text, p_reason text)
RETURNS TABLE (outcome text, change_id bigint, previous text, state text,
               changed_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    t timestamptz := now();
    b record;
    cur text;
    nxt text := nullif(p_state, 'none');
    cid bigint;
BEGIN
    IF p_state IS NULL OR p_state NOT IN ('void', 'stolen', 'destroyed', 'sample', 'none') THEN
        RAISE EXCEPTION 'a code cannot be set to %', p_state USING ERRCODE = '22023';
    END IF;
    SELECT bt.id, bt.product_sku, p.brand INTO b
      FROM batches bt JOIN products p ON p.sku = bt.product_sku
     WHERE bt.id = p_batch AND p_serial BETWEEN bt.serial_first AND bt.serial_last;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unknown_batch'::text, NULL::bigint, NULL::text, NULL::text,
                            NULL::timestamptz;
        RETURN;
    END IF;
    SELECT cs.state INTO cur FROM code_states cs WHERE cs.serial = p_serial FOR UPDATE;
    IF cur IS NOT DISTINCT FROM nxt THEN
        RETURN QUERY SELECT 'unchanged'::text, NULL::bigint, cur, cur, NULL::timestamptz;
        RETURN;
    END IF;
    INSERT INTO supply_changes (at, actor, kind, batch_id, serial, previous, next, reason)
    VALUES (t, p_actor, 'code_state', p_batch, p_serial, cur, nxt, p_reason)
    RETURNING id INTO cid;
    IF nxt IS NULL THEN
        DELETE FROM code_states cs WHERE cs.serial = p_serial;
    ELSE
        INSERT INTO code_states AS cs (serial, batch_id, state, changed_at, change_id)
        VALUES (p_serial, p_batch, nxt, t, cid)
        ON CONFLICT (serial) DO UPDATE SET state = excluded.state,
                                           changed_at = excluded.changed_at,
                                           change_id = excluded.change_id;
    END IF;
    PERFORM audit_append(p_actor, p_client, 'code.state', p_serial::text,
                         jsonb_build_object('change', cid, 'batch', p_batch, 'from', cur,
                                            'to', nxt, 'reason', p_reason));
    IF webhook_wanted('code.state_changed') THEN
        PERFORM webhook_emit('code.state_changed', ARRAY['code:' || p_serial], ARRAY[b.brand],
                             ARRAY[jsonb_build_object('serial', p_serial, 'batch', p_batch,
                                                      'sku', b.product_sku, 'change', cid,
                                                      'state', coalesce(nxt, 'none'),
                                                      'previous', coalesce(cur, 'none'),
                                                      'reason', p_reason,
                                                      'changed_at', webhook_time(t))]);
    END IF;
    RETURN QUERY SELECT 'done'::text, cid, coalesce(cur, 'none'), coalesce(nxt, 'none'), t;
END $$;

-- Take an active batch out of sale as expired (before its AI 17 date, or
-- one that has none). outcome: done | unknown_batch | wrong_status.
-- Audited as batch.expire; event batch.expired. Undone by supply_undo.
CREATE FUNCTION batch_expire(p_actor text, p_client inet, p_batch bigint, p_reason text)
RETURNS TABLE (outcome text, change_id bigint, changed_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    t timestamptz := now();
    b record;
    cid bigint;
BEGIN
    SELECT bt.status, bt.product_sku, p.brand INTO b
      FROM batches bt JOIN products p ON p.sku = bt.product_sku
     WHERE bt.id = p_batch FOR UPDATE OF bt;
    IF NOT FOUND OR b.status <> 'active' THEN
        RETURN QUERY SELECT CASE WHEN NOT FOUND THEN 'unknown_batch' ELSE 'wrong_status' END,
                            NULL::bigint, NULL::timestamptz;
        RETURN;
    END IF;
    INSERT INTO supply_changes (at, actor, kind, batch_id, previous, next, reason)
    VALUES (t, p_actor, 'batch_status', p_batch, 'active', 'expired', p_reason)
    RETURNING id INTO cid;
    UPDATE batches bt SET status = 'expired', status_changed_at = t, status_reason = p_reason
     WHERE bt.id = p_batch;
    PERFORM audit_append(p_actor, p_client, 'batch.expire', p_batch::text,
                         jsonb_build_object('change', cid, 'reason', p_reason, 'from', 'active',
                                            'to', 'expired'));
    IF webhook_wanted('batch.expired') THEN
        PERFORM webhook_emit('batch.expired', ARRAY['batch:' || p_batch], ARRAY[b.brand],
                             ARRAY[jsonb_build_object('batch', p_batch, 'sku', b.product_sku,
                                                      'status', 'expired', 'previous', 'active',
                                                      'reason', p_reason, 'change', cid,
                                                      'changed_at', webhook_time(t))]);
    END IF;
    RETURN QUERY SELECT 'done'::text, cid, t;
END $$;

-- ---- undo ------------------------------------------------------------------------------

-- Undo change p_change within supply_undo_window(): a code's previous state
-- comes back (if no later change of that code stands), an activation's
-- range is withdrawn (other activations stay), an expired batch is active
-- again. outcome: undone | unknown_change | already_undone | too_late |
-- superseded (a later change of the same code or batch stands: undo that
-- first). Audited as supply.undo, target the change; event supply.undone.
CREATE FUNCTION supply_undo(p_actor text, p_client inet, p_change bigint, p_reason text)
RETURNS TABLE (outcome text, kind text, batch_id bigint, restored text, undone_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    t timestamptz := now();
    c supply_changes;
    cur text;
    brand text;
    sku text;
BEGIN
    SELECT * INTO c FROM supply_changes sc WHERE sc.id = p_change;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unknown_change'::text, NULL::text, NULL::bigint, NULL::text,
                            NULL::timestamptz;
        RETURN;
    END IF;
    -- the subject's lock first (the batch row), then the change's own
    SELECT bt.status, bt.product_sku, p.brand INTO cur, sku, brand
      FROM batches bt JOIN products p ON p.sku = bt.product_sku
     WHERE bt.id = c.batch_id FOR UPDATE OF bt;
    SELECT * INTO c FROM supply_changes sc WHERE sc.id = p_change FOR UPDATE;
    IF c.undone_at IS NOT NULL THEN
        RETURN QUERY SELECT 'already_undone'::text, c.kind, c.batch_id, NULL::text, c.undone_at;
        RETURN;
    END IF;
    IF c.at < t - supply_undo_window() THEN
        RETURN QUERY SELECT 'too_late'::text, c.kind, c.batch_id, NULL::text, NULL::timestamptz;
        RETURN;
    END IF;
    IF c.kind = 'code_state' THEN
        IF EXISTS (SELECT 1 FROM supply_changes sc
                    WHERE sc.serial = c.serial AND sc.id > c.id AND sc.undone_at IS NULL) THEN
            RETURN QUERY SELECT 'superseded'::text, c.kind, c.batch_id, NULL::text,
                                NULL::timestamptz;
            RETURN;
        END IF;
        PERFORM 1 FROM code_states cs WHERE cs.serial = c.serial FOR UPDATE;
        IF c.previous IS NULL THEN
            DELETE FROM code_states cs WHERE cs.serial = c.serial;
        ELSE
            INSERT INTO code_states AS cs (serial, batch_id, state, changed_at, change_id)
            VALUES (c.serial, c.batch_id, c.previous, t, c.id)
            ON CONFLICT (serial) DO UPDATE SET state = excluded.state,
                                               changed_at = excluded.changed_at,
                                               change_id = excluded.change_id;
        END IF;
    ELSIF c.kind = 'activation' THEN
        DELETE FROM batch_activations a WHERE a.change_id = c.id;
    ELSE
        IF cur IS DISTINCT FROM c.next THEN
            RETURN QUERY SELECT 'superseded'::text, c.kind, c.batch_id, NULL::text,
                                NULL::timestamptz;
            RETURN;
        END IF;
        UPDATE batches bt SET status = c.previous, status_changed_at = t,
                              status_reason = 'undo of change ' || c.id
         WHERE bt.id = c.batch_id;
    END IF;
    UPDATE supply_changes sc SET undone_at = t, undone_by = p_actor WHERE sc.id = c.id;
    PERFORM audit_append(p_actor, p_client, 'supply.undo', c.id::text,
                         jsonb_build_object('kind', c.kind, 'batch', c.batch_id,
                                            'serial', c.serial, 'serial_first', c.serial_first,
                                            'serial_last', c.serial_last,
                                            'restored', coalesce(c.previous, 'none'),
                                            'reason', p_reason));
    IF webhook_wanted('supply.undone') THEN
        PERFORM webhook_emit('supply.undone', ARRAY['batch:' || c.batch_id], ARRAY[brand],
                             ARRAY[jsonb_build_object('change', c.id, 'kind', c.kind,
                                                      'batch', c.batch_id, 'sku', sku,
                                                      'serial', c.serial,
                                                      'serial_first', c.serial_first,
                                                      'serial_last', c.serial_last,
                                                      'restored', coalesce(c.previous, 'none'),
                                                      'undone_at', webhook_time(t))]);
    END IF;
    RETURN QUERY SELECT 'undone'::text, c.kind, c.batch_id,
                        CASE WHEN c.kind = 'activation' THEN 'inactive'
                             ELSE coalesce(c.previous, 'none') END, t;
END $$;

-- A consumer scanned a code of an inactive batch that no activation covers:
-- the alert, as an event of the outbox (code.inactive_scanned). At most one
-- per code an hour. The seam for the alert list (another issue): whatever
-- files alerts reads this event type. p_client is not sent (an address is
-- personal data); it is for the region of the scan once geolocation lands
-- (issue 11 item 4). Returns the events written (0 or 1).
CREATE FUNCTION code_inactive_scanned(p_serial bigint, p_batch bigint, p_code text,
                                      p_client inet)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    b record;
BEGIN
    IF NOT webhook_wanted('code.inactive_scanned') THEN
        RETURN 0;
    END IF;
    SELECT bt.product_sku, p.brand INTO b
      FROM batches bt JOIN products p ON p.sku = bt.product_sku
     WHERE bt.id = p_batch AND p_serial BETWEEN bt.serial_first AND bt.serial_last;
    IF NOT FOUND OR EXISTS (SELECT 1 FROM webhook_events e
                             WHERE e.type = 'code.inactive_scanned'
                               AND e.subject = 'code:' || p_serial
                               AND e.created_at > now() - interval '1 hour') THEN
        RETURN 0;
    END IF;
    PERFORM webhook_emit('code.inactive_scanned', ARRAY['code:' || p_serial], ARRAY[b.brand],
                         ARRAY[jsonb_build_object('serial', p_serial, 'batch', p_batch,
                                                  'sku', b.product_sku, 'code', p_code,
                                                  'scanned_at', webhook_time(now()))]);
    RETURN 1;
END $$;

-- ---- the admin API's wrappers: the identity's actor and brands ----------------------------

-- The brand of batch p_batch may be changed by identity p_token: its actor,
-- or NULL when the identity is limited to other brands (or no such batch:
-- then the function called says unknown_batch).
CREATE FUNCTION admin_batch_actor(p_token bigint, p_batch bigint, OUT actor text,
                                  OUT allowed boolean)
LANGUAGE plpgsql AS $$
DECLARE
    who record;
    brand text;
BEGIN
    SELECT * INTO who FROM admin_identity(p_token);
    actor := who.actor;
    SELECT p.brand INTO brand FROM batches b JOIN products p ON p.sku = b.product_sku
     WHERE b.id = p_batch;
    allowed := NOT FOUND OR brand_allowed(who.brand_ids, brand);
END $$;

CREATE FUNCTION admin_batch_activate(p_token bigint, p_client inet, p_batch bigint,
                                     p_seq_first bigint, p_seq_last bigint, p_reason text)
RETURNS TABLE (outcome text, change_id bigint, serial_first bigint, serial_last bigint,
               activated_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    w record;
BEGIN
    SELECT * INTO w FROM admin_batch_actor(p_token, p_batch);
    IF NOT w.allowed THEN
        RETURN QUERY SELECT 'forbidden'::text, NULL::bigint, NULL::bigint, NULL::bigint,
                            NULL::timestamptz;
        RETURN;
    END IF;
    RETURN QUERY SELECT * FROM batch_activate(w.actor, p_client, p_batch, p_seq_first,
                                              p_seq_last, p_reason);
END $$;

CREATE FUNCTION admin_batch_expire(p_token bigint, p_client inet, p_batch bigint, p_reason text)
RETURNS TABLE (outcome text, change_id bigint, changed_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    w record;
BEGIN
    SELECT * INTO w FROM admin_batch_actor(p_token, p_batch);
    IF NOT w.allowed THEN
        RETURN QUERY SELECT 'forbidden'::text, NULL::bigint, NULL::timestamptz;
        RETURN;
    END IF;
    RETURN QUERY SELECT * FROM batch_expire(w.actor, p_client, p_batch, p_reason);
END $$;

CREATE FUNCTION admin_code_state(p_token bigint, p_client inet, p_serial bigint, p_batch bigint,
                                 p_state text, p_reason text)
RETURNS TABLE (outcome text, change_id bigint, previous text, state text,
               changed_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    w record;
BEGIN
    SELECT * INTO w FROM admin_batch_actor(p_token, p_batch);
    IF NOT w.allowed THEN
        RETURN QUERY SELECT 'forbidden'::text, NULL::bigint, NULL::text, NULL::text,
                            NULL::timestamptz;
        RETURN;
    END IF;
    RETURN QUERY SELECT * FROM code_state_set(w.actor, p_client, p_serial, p_batch, p_state,
                                              p_reason);
END $$;

CREATE FUNCTION admin_supply_undo(p_token bigint, p_client inet, p_change bigint, p_reason text)
RETURNS TABLE (outcome text, kind text, batch_id bigint, restored text, undone_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    w record;
BEGIN
    SELECT * INTO w FROM admin_batch_actor(p_token,
                                           (SELECT sc.batch_id FROM supply_changes sc
                                             WHERE sc.id = p_change));
    IF NOT w.allowed THEN
        RETURN QUERY SELECT 'forbidden'::text, NULL::text, NULL::bigint, NULL::text,
                            NULL::timestamptz;
        RETURN;
    END IF;
    RETURN QUERY SELECT * FROM supply_undo(w.actor, p_client, p_change, p_reason);
END $$;

-- ---- what the servers read ----------------------------------------------------------------

-- code_facts of 010_citus.sql plus state: the code's own state (void,
-- stolen, destroyed, sample) or NULL (its batch's). code_states is
-- co-located with redemptions: one more probe on the same shard.
DROP FUNCTION code_facts(bigint[], bigint[]);
CREATE FUNCTION code_facts(p_serials bigint[], p_scanners bigint[])
RETURNS TABLE (ord integer, serial bigint, claimed_at timestamptz, scan_count bigint,
               first_scan timestamptz, scanners bigint, known boolean, claimed_here boolean,
               state text)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    since timestamptz := now() - (SELECT window_len FROM scanner_policy());
BEGIN
    RETURN QUERY
        SELECT u.i::integer, u.s, f.claimed_at, coalesce(f.scan_count, 0), f.first_scan,
               coalesce(f.scanners, 0), coalesce(x.last_seen >= since, false),
               coalesce(x.claimed, false), st.state
          FROM unnest(p_serials, p_scanners) WITH ORDINALITY AS u(s, sc, i)
          LEFT JOIN (SELECT coalesce(r.serial, c.serial) AS serial, r.claimed_at, c.scan_count,
                            c.first_scan, c.scanners
                       FROM (SELECT y.serial, y.claimed_at FROM redemptions y
                              WHERE y.serial = ANY (p_serials)) r
                       FULL JOIN (SELECT z.serial, z.scan_count, z.first_scan, z.scanners
                                    FROM code_stats z
                                   WHERE z.serial = ANY (p_serials)) c ON c.serial = r.serial) f
            ON f.serial = u.s
          LEFT JOIN (SELECT w.serial, w.scanner, w.last_seen, w.claimed FROM code_scanners w
                      WHERE w.serial = ANY (p_serials) AND w.scanner = ANY (p_scanners)) x
            ON x.serial = u.s AND x.scanner = u.sc
          LEFT JOIN (SELECT v.serial, v.state FROM code_states v
                      WHERE v.serial = ANY (p_serials)) st
            ON st.serial = u.s
         ORDER BY u.i;
END $$;

-- ---- claims -----------------------------------------------------------------------------

-- The supply-chain refusal of each claim (NULL: none), in input order, for
-- claim_many and claim: the code's own state (void, stolen, destroyed,
-- sample), then inactive (an inactive batch no activation covers), then
-- expired (status expired, or its expiry date before today, UTC). The code
-- states are read in one statement naming their serials (one shard per
-- serial on Citus; batches and batch_activations are the coordinator's).
-- A new statement of the claim's transaction: a state committed before it
-- is seen, and refuses the claim.
CREATE FUNCTION claim_supply_refusals(p_serials bigint[], p_batches bigint[])
RETURNS text[] LANGUAGE plpgsql STABLE AS $$
DECLARE
    today date := (now() AT TIME ZONE 'UTC')::date;
    st_serials bigint[];
    st_states text[];
    out text[];
BEGIN
    SELECT array_agg(x.serial), array_agg(x.state) INTO st_serials, st_states
      FROM code_states x WHERE x.serial = ANY (p_serials);
    SELECT array_agg(
               CASE WHEN st_serials IS NOT NULL AND u.s = ANY (st_serials)
                        THEN st_states[array_position(st_serials, u.s)]
                    WHEN bt.inactive AND NOT EXISTS (
                            SELECT 1 FROM batch_activations a
                             WHERE a.batch_id = bt.id AND u.s BETWEEN a.serial_first
                                                              AND a.serial_last)
                        THEN 'inactive'
                    WHEN bt.status = 'expired' OR bt.expiry < today THEN 'expired' END
               ORDER BY u.i)
      INTO out
      FROM unnest(p_serials, p_batches) WITH ORDINALITY AS u(s, b, i)
      LEFT JOIN batches bt ON bt.id = u.b;
    RETURN out;
END $$;

-- claim_many of 010_citus.sql (both paths: packcode_distributed() false and
-- true), with the supply chain's refusals in step 1: a claim of a code that
-- is inactive, void, stolen, destroyed, a sample or expired gets that as its
-- outcome and nothing is written for it. Everything else as it was: locks
-- and their order, group commit, the outbox.
CREATE OR REPLACE FUNCTION claim_many(p_serials bigint[], p_batches bigint[], p_members text[],
                                      p_pins smallint[], p_clients inet[] DEFAULT NULL)
RETURNS TABLE (ord integer, outcome text, points integer, balance bigint,
               claimed_at timestamptz, retry_after integer)
LANGUAGE plpgsql AS $$
DECLARE
    n integer := coalesce(cardinality(p_serials), 0);
    t timestamptz := now();
    o_outcome text[];
    o_points integer[];
    o_balance bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    o_at timestamptz[] := array_fill(NULL::timestamptz, ARRAY[n]);
    o_retry integer[] := array_fill(NULL::integer, ARRAY[n]);
    clients inet[] := coalesce(p_clients, array_fill(NULL::inet, ARRAY[n]));
    dist boolean := packcode_distributed();
    supply text[];
    won bigint[];
    prev bigint;
    bal bigint;
    k integer;
    own record;
    pol record;
    forgotten timestamptz;
    m_until timestamptz;
    a_until timestamptz;
    a_last timestamptz;
    fc integer;
    fm integer;
    fa integer;
    wait interval;
    r record;
    f record;
BEGIN
    IF coalesce(cardinality(p_batches), 0) <> n OR coalesce(cardinality(p_members), 0) <> n
       OR coalesce(cardinality(p_pins), 0) <> n OR coalesce(cardinality(clients), 0) <> n THEN
        RAISE EXCEPTION 'claim_many: arrays of different lengths' USING ERRCODE = '22023';
    END IF;
    IF n = 0 THEN
        RETURN;
    END IF;
    -- 1. Each claim against its batch (batches and products are the
    -- coordinator's own tables) and the supply chain's state of its code;
    -- NULL means "go on", 'pin' "check the throttle".
    supply := claim_supply_refusals(p_serials, p_batches);
    SELECT array_agg(CASE WHEN (j.bt).id IS NULL THEN 'not_genuine'
                          WHEN (j.bt).status = 'recalled' THEN 'recalled'
                          WHEN (j.bt).status NOT IN ('active', 'expired') THEN 'void_batch'
                          WHEN supply[j.i] IS NOT NULL THEN supply[j.i]
                          WHEN (j.bt).pin_required AND j.p = 0 THEN 'pin_required'
                          WHEN (j.bt).pin_required THEN 'pin' END ORDER BY j.i),
           array_agg((SELECT pr.points FROM products pr WHERE pr.sku = (j.bt).product_sku)
                     ORDER BY j.i)
      INTO o_outcome, o_points
      FROM (SELECT u.i, u.p,
                   (SELECT bt FROM batches bt
                     WHERE bt.id = u.b AND u.s BETWEEN bt.serial_first AND bt.serial_last) AS bt
              FROM unnest(p_serials, p_batches, p_pins) WITH ORDINALITY AS u(s, b, p, i)) j;

    -- 2. PINs, with backoff per code, address and member (007_consumer.sql),
    -- as in 010_citus.sql.
    IF 'pin' = ANY (o_outcome) THEN
        SELECT * INTO pol FROM pin_backoff_policy();
        forgotten := t - pol.forget;
        FOR r IN
            SELECT u.i::integer AS i, u.p, 'member:' || u.m AS ms, pin_backoff_addr(u.c) AS ads
              FROM unnest(p_pins, p_members, clients) WITH ORDINALITY AS u(p, m, c, i)
             WHERE o_outcome[u.i] = 'pin' LOOP
            SELECT b.blocked_until INTO m_until FROM pin_backoff b WHERE b.subject = r.ms;
            a_until := NULL;
            a_last := NULL;
            IF r.ads IS NOT NULL THEN
                SELECT b.blocked_until, b.last_failure INTO a_until, a_last
                  FROM pin_backoff b WHERE b.subject = r.ads;
            END IF;
            IF a_until > t THEN
                o_outcome[r.i] := 'throttled';
                o_retry[r.i] := ceil(extract(epoch FROM a_until - t))::integer;
            ELSIF m_until > t AND a_last > forgotten THEN
                o_outcome[r.i] := 'throttled';
                o_retry[r.i] := ceil(extract(epoch FROM m_until - t))::integer;
            ELSIF r.p = 2 THEN
                o_outcome[r.i] := 'pin_wrong';
            ELSE
                o_outcome[r.i] := NULL;
            END IF;
        END LOOP;

        IF 'pin_wrong' = ANY (o_outcome) THEN
            IF dist THEN
                FOR f IN
                    SELECT x.subject, count(*) AS n
                      FROM (SELECT 'code:' || u.s AS subject
                              FROM unnest(p_serials) WITH ORDINALITY AS u(s, i)
                             WHERE o_outcome[u.i] = 'pin_wrong'
                            UNION ALL
                            SELECT 'member:' || u.m FROM unnest(p_members) WITH ORDINALITY AS u(m, i)
                             WHERE o_outcome[u.i] = 'pin_wrong'
                            UNION ALL
                            SELECT pin_backoff_addr(u.c) FROM unnest(clients) WITH ORDINALITY AS u(c, i)
                             WHERE o_outcome[u.i] = 'pin_wrong' AND u.c IS NOT NULL) x
                     GROUP BY x.subject
                     ORDER BY x.subject LOOP
                    INSERT INTO pin_backoff AS b (subject, failures, last_failure, blocked_until)
                    VALUES (f.subject, f.n, t, t)
                    ON CONFLICT (subject) DO UPDATE SET
                        failures = CASE WHEN b.last_failure < forgotten THEN excluded.failures
                                        ELSE b.failures + excluded.failures END,
                        last_failure = t;
                END LOOP;
            ELSE
                INSERT INTO pin_backoff AS b (subject, failures, last_failure, blocked_until)
                SELECT x.subject, count(*), now(), now()
                  FROM (SELECT 'code:' || u.s AS subject
                          FROM unnest(p_serials) WITH ORDINALITY AS u(s, i)
                         WHERE o_outcome[u.i] = 'pin_wrong'
                        UNION ALL
                        SELECT 'member:' || u.m FROM unnest(p_members) WITH ORDINALITY AS u(m, i)
                         WHERE o_outcome[u.i] = 'pin_wrong'
                        UNION ALL
                        SELECT pin_backoff_addr(u.c) FROM unnest(clients) WITH ORDINALITY AS u(c, i)
                         WHERE o_outcome[u.i] = 'pin_wrong' AND u.c IS NOT NULL) x
                 GROUP BY x.subject
                 ORDER BY x.subject
                ON CONFLICT (subject) DO UPDATE SET
                    failures = CASE WHEN b.last_failure < now() - pol.forget THEN excluded.failures
                                    ELSE b.failures + excluded.failures END,
                    last_failure = now();
            END IF;
            FOR r IN
                SELECT u.i::integer AS i, 'code:' || u.s AS cs, 'member:' || u.m AS ms,
                       pin_backoff_addr(u.c) AS ads
                  FROM unnest(p_serials, p_members, clients) WITH ORDINALITY AS u(s, m, c, i)
                 WHERE o_outcome[u.i] = 'pin_wrong' LOOP
                SELECT b.failures INTO fc FROM pin_backoff b WHERE b.subject = r.cs;
                SELECT b.failures INTO fm FROM pin_backoff b WHERE b.subject = r.ms;
                fa := 0;
                IF r.ads IS NOT NULL THEN
                    SELECT b.failures INTO fa FROM pin_backoff b WHERE b.subject = r.ads;
                END IF;
                wait := pin_backoff_wait(greatest(fc, fm, coalesce(fa, 0)));
                IF wait > interval '0' THEN
                    m_until := t + wait;
                    UPDATE pin_backoff b SET blocked_until = greatest(b.blocked_until, m_until)
                     WHERE b.subject = r.ms;
                    IF r.ads IS NOT NULL THEN
                        UPDATE pin_backoff b SET blocked_until = greatest(b.blocked_until, m_until)
                         WHERE b.subject = r.ads;
                    END IF;
                    o_retry[r.i] := ceil(extract(epoch FROM wait))::integer;
                END IF;
            END LOOP;
        END IF;
    END IF;

    IF NOT dist THEN
        -- A single PostgreSQL: steps 3 and 4 as in 002_server.sql.
        WITH ins AS (
            INSERT INTO redemptions AS rd (serial, batch_id, member, points)
            SELECT DISTINCT ON (u.s) u.s, u.b, u.m, o_points[u.i]
              FROM unnest(p_serials, p_batches, p_members) WITH ORDINALITY AS u(s, b, m, i)
             WHERE o_outcome[u.i] IS NULL
             ORDER BY u.s, u.i
            ON CONFLICT (serial) DO NOTHING
            RETURNING rd.serial)
        SELECT array_agg(ins.serial) INTO won FROM ins;
        FOR r IN SELECT u.i::integer AS i, u.s
                   FROM unnest(p_serials) WITH ORDINALITY AS u(s, i)
                  WHERE o_outcome[u.i] IS NULL
                  ORDER BY u.s, u.i LOOP
            IF r.s IS DISTINCT FROM prev AND r.s = ANY (won) THEN
                o_outcome[r.i] := 'awarded';
                o_at[r.i] := now();
            END IF;
            prev := r.s;
        END LOOP;
        FOR r IN SELECT u.i::integer AS i, u.m,
                        (SELECT rd FROM redemptions rd WHERE rd.serial = u.s) AS rd
                   FROM unnest(p_serials, p_members) WITH ORDINALITY AS u(s, m, i)
                  WHERE o_outcome[u.i] IS NULL LOOP
            o_outcome[r.i] := CASE WHEN (r.rd).member = r.m THEN 'repeat' ELSE 'claimed' END;
            o_points[r.i] := CASE WHEN (r.rd).member = r.m THEN (r.rd).points END;
            o_at[r.i] := (r.rd).claimed_at;
        END LOOP;

        FOR r IN
            WITH a AS (
                SELECT u.i::integer AS i, u.m, u.s, o_points[u.i] AS pts
                  FROM unnest(p_members, p_serials) WITH ORDINALITY AS u(m, s, i)
                 WHERE o_outcome[u.i] = 'awarded'),
            up AS (
                INSERT INTO members AS mb (member, balance)
                SELECT a.m, sum(a.pts) FROM a GROUP BY a.m ORDER BY a.m
                ON CONFLICT (member) DO UPDATE SET balance = mb.balance + excluded.balance
                RETURNING mb.member, mb.balance),
            rows AS (
                SELECT a.i, a.m, a.s, a.pts,
                       up.balance - coalesce(sum(a.pts) OVER (PARTITION BY a.m ORDER BY a.i
                                       ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING), 0) AS after
                  FROM a JOIN up ON up.member = a.m),
            lg AS (
                INSERT INTO ledger (member, delta, balance_after, kind, serial)
                SELECT rows.m, rows.pts, rows.after, 'claim', rows.s FROM rows ORDER BY rows.m, rows.i)
            SELECT rows.i, rows.after FROM rows LOOP
            o_balance[r.i] := r.after;
        END LOOP;
        FOR r IN SELECT u.i::integer AS i,
                        (SELECT mb.balance FROM members mb WHERE mb.member = u.m) AS balance
                   FROM unnest(p_members) WITH ORDINALITY AS u(m, i)
                  WHERE o_outcome[u.i] = 'repeat' LOOP
            o_balance[r.i] := r.balance;
        END LOOP;
    ELSE
        -- Citus: one statement per row, as in 010_citus.sql.
        FOR r IN SELECT u.i::integer AS i, u.s, u.b, u.m
                   FROM unnest(p_serials, p_batches, p_members) WITH ORDINALITY AS u(s, b, m, i)
                  WHERE o_outcome[u.i] IS NULL
                  ORDER BY u.s, u.i LOOP
            IF r.s IS DISTINCT FROM prev THEN
                prev := r.s;
                INSERT INTO redemptions (serial, batch_id, member, points, claimed_at)
                VALUES (r.s, r.b, r.m, o_points[r.i], t)
                ON CONFLICT (serial) DO NOTHING;
                IF FOUND THEN
                    o_outcome[r.i] := 'awarded';
                    o_at[r.i] := t;
                    CONTINUE;
                END IF;
            END IF;
            SELECT x.member, x.points, x.claimed_at INTO own FROM redemptions x WHERE x.serial = r.s;
            o_outcome[r.i] := CASE WHEN own.member = r.m THEN 'repeat' ELSE 'claimed' END;
            o_points[r.i] := CASE WHEN own.member = r.m THEN own.points END;
            o_at[r.i] := own.claimed_at;
        END LOOP;

        FOR r IN SELECT u.m, sum(o_points[u.i]) AS pts, array_agg(u.i::integer ORDER BY u.i) AS idx
                   FROM unnest(p_members) WITH ORDINALITY AS u(m, i)
                  WHERE o_outcome[u.i] = 'awarded'
                  GROUP BY u.m ORDER BY u.m LOOP
            INSERT INTO members AS mb (member, balance) VALUES (r.m, r.pts)
            ON CONFLICT (member) DO UPDATE SET balance = mb.balance + excluded.balance
            RETURNING mb.balance INTO bal;
            bal := bal - r.pts;
            FOREACH k IN ARRAY r.idx LOOP
                bal := bal + o_points[k];
                o_balance[k] := bal;
                INSERT INTO ledger (member, delta, balance_after, kind, serial, created_at)
                VALUES (r.m, o_points[k], bal, 'claim', p_serials[k], t);
            END LOOP;
        END LOOP;
        FOR r IN SELECT u.i::integer AS i, u.m
                   FROM unnest(p_members) WITH ORDINALITY AS u(m, i)
                  WHERE o_outcome[u.i] = 'repeat' LOOP
            SELECT x.balance INTO bal FROM members x WHERE x.member = r.m;
            o_balance[r.i] := bal;
        END LOOP;
    END IF;

    -- 5. The outbox (009_webhooks.sql), as in 010_citus.sql.
    IF 'awarded' = ANY (o_outcome) AND webhook_wanted('claim.awarded') THEN
        PERFORM webhook_emit('claim.awarded', e.subjects, e.brands, e.data)
           FROM (SELECT array_agg('member:' || u.m ORDER BY u.m, u.i) AS subjects,
                        array_agg(x.brand ORDER BY u.m, u.i) AS brands,
                        array_agg(jsonb_build_object(
                                      'member', u.m, 'serial', u.s, 'batch', u.b,
                                      'sku', x.sku, 'points', o_points[u.i],
                                      'balance', o_balance[u.i],
                                      'claimed_at', webhook_time(o_at[u.i]))
                                  ORDER BY u.m, u.i) AS data
                   FROM unnest(p_serials, p_batches, p_members) WITH ORDINALITY AS u(s, b, m, i)
                   CROSS JOIN LATERAL (SELECT bt.product_sku AS sku, pr.brand
                                         FROM batches bt JOIN products pr ON pr.sku = bt.product_sku
                                        WHERE bt.id = u.b) x
                  WHERE o_outcome[u.i] = 'awarded') e;
    END IF;

    RETURN QUERY
        SELECT u.i::integer, u.oc,
               CASE WHEN u.oc IN ('awarded', 'repeat') THEN u.pt END, u.bl, u.at, u.ra
          FROM unnest(o_outcome, o_points, o_balance, o_at, o_retry)
               WITH ORDINALITY AS u(oc, pt, bl, at, ra, i)
         ORDER BY u.i;
END $$;

-- claim of 010_citus.sql: a code the supply chain refuses takes claim_many's
-- path, which says why; the rest as it was.
CREATE OR REPLACE FUNCTION claim(p_serial bigint, p_batch bigint, p_member text,
                                 p_pin smallint DEFAULT 0)
RETURNS TABLE (ord integer, outcome text, points integer, balance bigint,
               claimed_at timestamptz, retry_after integer)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    t timestamptz := now();
    b record;
    rd record;
    bal bigint;
BEGIN
    SELECT bt.status, bt.pin_required, bt.product_sku, pr.brand, pr.points AS pts INTO b
      FROM batches bt JOIN products pr ON pr.sku = bt.product_sku
     WHERE bt.id = p_batch AND p_serial BETWEEN bt.serial_first AND bt.serial_last;
    IF NOT FOUND OR b.status <> 'active' OR b.pin_required
       OR (claim_supply_refusals(ARRAY[p_serial], ARRAY[p_batch]))[1] IS NOT NULL THEN
        RETURN QUERY SELECT * FROM claim_many(ARRAY[p_serial], ARRAY[p_batch], ARRAY[p_member],
                                              ARRAY[p_pin]);
        RETURN;
    END IF;
    INSERT INTO redemptions (serial, batch_id, member, points, claimed_at)
    VALUES (p_serial, p_batch, p_member, b.pts, t)
    ON CONFLICT (serial) DO NOTHING;
    IF FOUND THEN
        INSERT INTO members AS mb (member, balance) VALUES (p_member, b.pts)
        ON CONFLICT (member) DO UPDATE SET balance = mb.balance + excluded.balance
        RETURNING mb.balance INTO bal;
        INSERT INTO ledger (member, delta, balance_after, kind, serial, created_at)
        VALUES (p_member, b.pts, bal, 'claim', p_serial, t);
        IF webhook_wanted('claim.awarded') THEN
            PERFORM webhook_emit('claim.awarded', ARRAY['member:' || p_member], ARRAY[b.brand],
                                 ARRAY[jsonb_build_object(
                                     'member', p_member, 'serial', p_serial, 'batch', p_batch,
                                     'sku', b.product_sku, 'points', b.pts, 'balance', bal,
                                     'claimed_at', webhook_time(t))]);
        END IF;
        RETURN QUERY SELECT 1, 'awarded'::text, b.pts, bal, t, NULL::integer;
        RETURN;
    END IF;
    SELECT r.member, r.points, r.claimed_at INTO rd FROM redemptions r WHERE r.serial = p_serial;
    IF rd.member = p_member THEN
        SELECT m.balance INTO bal FROM members m WHERE m.member = p_member;
        RETURN QUERY SELECT 1, 'repeat'::text, rd.points, bal, rd.claimed_at, NULL::integer;
    ELSE
        RETURN QUERY SELECT 1, 'claimed'::text, NULL::integer, NULL::bigint, rd.claimed_at,
                            NULL::integer;
    END IF;
END $$;
