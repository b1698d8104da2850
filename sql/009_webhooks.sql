-- 009_webhooks.sql: webhooks from a transactional outbox (docs/webhooks.md).
-- An event is written by the transaction that made the change it tells of
-- (claim_many, batch_set_status, product_add, redefined below with their
-- behaviour unchanged), together with one pending delivery per live
-- subscription to its type: a change commits with its deliveries or neither
-- does, so no event is lost and none is told of a change that rolled back.
-- Servers send the deliveries (engine/webhooks.c), at least once each.
-- When no subscription wants a type, emitting it costs one probe of the
-- small webhooks table and writes nothing.

-- The event types a subscription may name: one row each. A new type is a
-- row here and an emitter (a function that calls webhook_emit). subject
-- names what orders its events: the events of one subject go out to a
-- subscription one at a time, in the order they happened.
CREATE TABLE webhook_event_types (
    name        text PRIMARY KEY
                CHECK (name ~ '^[a-z][a-z_]*(\.[a-z][a-z_]*)+$' AND length(name) <= 64),
    subject     text NOT NULL CHECK (subject ~ '^[a-z]+$'),
    description text NOT NULL
);
INSERT INTO webhook_event_types (name, subject, description) VALUES
    ('claim.awarded', 'member', 'a code was claimed and its points awarded to a member'),
    ('batch.activated', 'batch', 'a print run was minted whole: its codes are valid'),
    ('batch.voided', 'batch', 'a print run was voided: its codes are not valid'),
    ('batch.recalled', 'batch', 'a print run was recalled: its codes no longer claim'),
    ('batch.unrecalled', 'batch', 'a recalled print run was returned to service'),
    ('product.created', 'product', 'a product was added');

-- Subscriptions. The secret signs every delivery (HMAC-SHA256): it must be
-- kept to sign, so it is stored as it is, and shown only when created.
-- Deleted subscriptions stay (their deliveries are history) with deleted_at.
-- brand_ids: the brands of the identity that made it (008_staff.sql; NULL:
-- every brand): it receives only the events of those brands, and only
-- identities of those brands (or of every brand) see and change it.
CREATE TABLE webhooks (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url         text NOT NULL
                CHECK (url ~ '^https?://[^/?#@[:space:][:cntrl:]]+([/?#][^[:space:][:cntrl:]]*)?$'
                       AND length(url) <= 2048),
    events      text[] NOT NULL CHECK (cardinality(events) BETWEEN 1 AND 32),
    secret      text NOT NULL CHECK (secret ~ '^[!-~]{16,128}$'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  text NOT NULL CHECK (length(created_by) <= 100),
    brand_ids   bigint[],
    deleted_at  timestamptz
);

-- The outbox: what happened, once, whoever it goes to. data is the event's
-- own part of the payload (docs/webhooks.md); subject orders it; brand is
-- the brand of the product it concerns ('' for none), which decides which
-- subscriptions get it.
-- No foreign keys on the outbox: webhook_emit is its only writer, and a
-- claim transaction should not pay a check per award.
CREATE TABLE webhook_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    type        text NOT NULL CHECK (length(type) <= 64),
    subject     text NOT NULL CHECK (length(subject) <= 200),
    brand       text NOT NULL CHECK (length(brand) <= 200),
    data        jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- One event to one subscription. attempts counts every attempt ever (they
-- number webhook_attempts); tries those since it was last queued (a replay
-- queues it again), which the retry policy counts. A pending delivery is
-- due at next_at; leased_until, while a server sends it.
CREATE TABLE webhook_deliveries (
    webhook_id   bigint NOT NULL,
    event_id     bigint NOT NULL,
    subject      text NOT NULL,
    status       text NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'delivered', 'failed', 'cancelled')),
    attempts     integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    tries        integer NOT NULL DEFAULT 0 CHECK (tries >= 0),
    next_at      timestamptz NOT NULL DEFAULT now(),
    leased_until timestamptz,
    done_at      timestamptz,
    PRIMARY KEY (webhook_id, event_id)
);
-- what is due, and the head of each (subscription, subject) queue
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_queue ON webhook_deliveries (webhook_id, subject, event_id)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_failed ON webhook_deliveries (webhook_id, event_id)
    WHERE status = 'failed';

-- Each attempt: how it ended, the HTTP status if one came, how long it took.
CREATE TABLE webhook_attempts (
    webhook_id  bigint NOT NULL,
    event_id    bigint NOT NULL,
    attempt     integer NOT NULL CHECK (attempt >= 1),
    at          timestamptz NOT NULL,
    outcome     text NOT NULL
                CHECK (outcome IN ('delivered', 'http_error', 'timeout', 'connect_error', 'error')),
    http_status integer,
    duration_ms integer NOT NULL CHECK (duration_ms >= 0),
    error       text CHECK (length(error) <= 300),
    PRIMARY KEY (webhook_id, event_id, attempt)
);

-- New deliveries (and replays) wake the servers' dispatchers at once; a
-- timer of theirs catches what a lost notification missed. Once per
-- statement: a claim transaction of many awards notifies once.
CREATE TRIGGER webhook_deliveries_changed AFTER INSERT ON webhook_deliveries
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_changed();

-- Timestamps in payloads and admin replies: "2026-11-23T14:46:17Z".
CREATE FUNCTION webhook_time(p_at timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT to_char(p_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
$$;

-- Whether a live subscription wants events of p_type: emitters ask first,
-- so that they build no payload nobody will receive.
CREATE FUNCTION webhook_wanted(p_type text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM webhooks w WHERE w.deleted_at IS NULL AND p_type = ANY (w.events))
$$;

-- The outbox's one writer: events of p_type, one per (p_subjects[i],
-- p_brands[i], p_data[i]) in array order (their ids follow it), each with a
-- pending delivery to every live subscription to p_type whose brands allow
-- the event's; one statement. Returns the deliveries made (0, and no event,
-- when nobody subscribes).
CREATE FUNCTION webhook_emit(p_type text, p_subjects text[], p_brands text[], p_data jsonb[])
RETURNS integer
LANGUAGE sql AS $$
    WITH hooks AS MATERIALIZED (
        SELECT w.id, w.brand_ids FROM webhooks w
         WHERE w.deleted_at IS NULL AND p_type = ANY (w.events)),
    ev AS (
        INSERT INTO webhook_events (type, subject, brand, data)
        SELECT p_type, u.s, coalesce(u.b, ''), u.d
          FROM unnest(p_subjects, p_brands, p_data) WITH ORDINALITY AS u(s, b, d, i)
         WHERE EXISTS (SELECT 1 FROM hooks)
         ORDER BY u.i
        RETURNING id, subject, brand),
    dl AS (
        INSERT INTO webhook_deliveries (webhook_id, event_id, subject)
        SELECT hooks.id, ev.id, ev.subject
          FROM ev JOIN hooks ON hooks.brand_ids IS NULL OR brand_allowed(hooks.brand_ids, ev.brand)
        RETURNING 1)
    SELECT count(*)::integer FROM dl
$$;

-- ---- the emitters: claim_many (007_consumer), claim (002), product_add
-- (008_staff) and batch_set_status (006), each as it was plus its outbox
-- insert (marked "outbox") ----

-- claim_many of 007_consumer.sql (PIN backoff, the clients' addresses),
-- unchanged but for step 5.
CREATE OR REPLACE FUNCTION claim_many(p_serials bigint[], p_batches bigint[], p_members text[],
                                      p_pins smallint[], p_clients inet[] DEFAULT NULL)
RETURNS TABLE (ord integer, outcome text, points integer, balance bigint,
               claimed_at timestamptz, retry_after integer)
LANGUAGE plpgsql AS $$
DECLARE
    n integer := coalesce(cardinality(p_serials), 0);
    o_outcome text[];
    o_points integer[];
    o_balance bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    o_at timestamptz[] := array_fill(NULL::timestamptz, ARRAY[n]);
    o_retry integer[] := array_fill(NULL::integer, ARRAY[n]);
    clients inet[] := coalesce(p_clients, array_fill(NULL::inet, ARRAY[n]));
    won bigint[];
    prev bigint;
    pol record;
    r record;
BEGIN
    IF coalesce(cardinality(p_batches), 0) <> n OR coalesce(cardinality(p_members), 0) <> n
       OR coalesce(cardinality(p_pins), 0) <> n OR coalesce(cardinality(clients), 0) <> n THEN
        RAISE EXCEPTION 'claim_many: arrays of different lengths' USING ERRCODE = '22023';
    END IF;
    IF n = 0 THEN
        RETURN;
    END IF;

    -- 1. Each claim against its batch; NULL means "go on", 'pin' "check the backoff".
    SELECT array_agg(CASE WHEN (j.bt).id IS NULL THEN 'not_genuine'
                          WHEN (j.bt).status = 'recalled' THEN 'recalled'
                          WHEN (j.bt).status <> 'active' THEN 'void_batch'
                          WHEN (j.bt).pin_required AND j.p = 0 THEN 'pin_required'
                          WHEN (j.bt).pin_required THEN 'pin' END ORDER BY j.i),
           array_agg((SELECT pr.points FROM products pr WHERE pr.sku = (j.bt).product_sku)
                     ORDER BY j.i)
      INTO o_outcome, o_points
      FROM (SELECT u.i, u.p,
                   (SELECT bt FROM batches bt
                     WHERE bt.id = u.b AND u.s BETWEEN bt.serial_first AND bt.serial_last) AS bt
              FROM unnest(p_serials, p_batches, p_pins) WITH ORDINALITY AS u(s, b, p, i)) j;

    -- 2. PINs. An address that must wait is refused unjudged; so is a member
    -- that must wait, from an address with failures of its own (a right PIN
    -- from a clean address is never refused for a member others failed
    -- under). The rest: a right PIN goes on, a wrong one is counted.
    IF 'pin' = ANY (o_outcome) THEN
        SELECT * INTO pol FROM pin_backoff_policy();
        FOR r IN
            SELECT u.i::integer AS i, u.p,
                   (SELECT b.blocked_until FROM pin_backoff b
                     WHERE b.subject = 'member:' || u.m) AS m_until,
                   (SELECT b.blocked_until FROM pin_backoff b
                     WHERE b.subject = pin_backoff_addr(u.c)) AS a_until,
                   (SELECT b.last_failure FROM pin_backoff b
                     WHERE b.subject = pin_backoff_addr(u.c)) AS a_last
              FROM unnest(p_pins, p_members, clients) WITH ORDINALITY AS u(p, m, c, i)
             WHERE o_outcome[u.i] = 'pin' LOOP
            IF r.a_until > now() THEN
                o_outcome[r.i] := 'throttled';
                o_retry[r.i] := ceil(extract(epoch FROM r.a_until - now()))::integer;
            ELSIF r.m_until > now() AND r.a_last > now() - pol.forget THEN
                o_outcome[r.i] := 'throttled';
                o_retry[r.i] := ceil(extract(epoch FROM r.m_until - now()))::integer;
            ELSIF r.p = 2 THEN
                o_outcome[r.i] := 'pin_wrong';
            ELSE
                o_outcome[r.i] := NULL;
            END IF;
        END LOOP;

        IF 'pin_wrong' = ANY (o_outcome) THEN
            -- Count the failures: every subject once, in ascending order (no deadlock).
            INSERT INTO pin_backoff AS b (subject, failures, last_failure, blocked_until)
            SELECT f.subject, count(*), now(), now()
              FROM (SELECT 'code:' || u.s AS subject
                      FROM unnest(p_serials) WITH ORDINALITY AS u(s, i)
                     WHERE o_outcome[u.i] = 'pin_wrong'
                    UNION ALL
                    SELECT 'member:' || u.m FROM unnest(p_members) WITH ORDINALITY AS u(m, i)
                     WHERE o_outcome[u.i] = 'pin_wrong'
                    UNION ALL
                    SELECT pin_backoff_addr(u.c) FROM unnest(clients) WITH ORDINALITY AS u(c, i)
                     WHERE o_outcome[u.i] = 'pin_wrong' AND u.c IS NOT NULL) f
             GROUP BY f.subject
             ORDER BY f.subject
            ON CONFLICT (subject) DO UPDATE SET
                failures = CASE WHEN b.last_failure < now() - pol.forget THEN excluded.failures
                                ELSE b.failures + excluded.failures END,
                last_failure = now();
            -- The wait of each failing claim: from the most failures of its
            -- code, address and member; the address and the member wait it.
            FOR r IN
                SELECT u.i::integer AS i,
                       pin_backoff_wait(greatest(
                           (SELECT b.failures FROM pin_backoff b WHERE b.subject = 'code:' || u.s),
                           (SELECT b.failures FROM pin_backoff b WHERE b.subject = 'member:' || u.m),
                           coalesce((SELECT b.failures FROM pin_backoff b
                                      WHERE b.subject = pin_backoff_addr(u.c)), 0))) AS wait,
                       'member:' || u.m AS ms, pin_backoff_addr(u.c) AS ads
                  FROM unnest(p_serials, p_members, clients) WITH ORDINALITY AS u(s, m, c, i)
                 WHERE o_outcome[u.i] = 'pin_wrong' LOOP
                IF r.wait > interval '0' THEN
                    UPDATE pin_backoff b SET blocked_until = greatest(b.blocked_until, now() + r.wait)
                     WHERE b.subject IN (r.ms, r.ads);
                    o_retry[r.i] := ceil(extract(epoch FROM r.wait))::integer;
                END IF;
            END LOOP;
        END IF;
    END IF;

    -- 3. The one-time redemption, ascending serial: the first claim of a serial wins it.
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

    -- 4. Balances (ascending member) and ledger rows, in the same transaction.
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

    -- 5. The outbox: one claim.awarded event per award, in the order of the
    -- member's ledger rows (its row lock, taken in 4, orders them across
    -- transactions too); one statement for all of them, and none at all
    -- when no subscription wants them.
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

-- claim of 002_server.sql (one claim, the pgbench reference's statement),
-- unchanged but for its outbox insert: every award is told, whichever
-- function made it.
CREATE OR REPLACE FUNCTION claim(p_serial bigint, p_batch bigint, p_member text,
                                 p_pin smallint DEFAULT 0)
RETURNS TABLE (ord integer, outcome text, points integer, balance bigint,
               claimed_at timestamptz, retry_after integer)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    b record;
    rd record;
    bal bigint;
BEGIN
    SELECT bt.status, bt.pin_required, bt.product_sku, pr.brand, pr.points AS pts INTO b
      FROM batches bt JOIN products pr ON pr.sku = bt.product_sku
     WHERE bt.id = p_batch AND p_serial BETWEEN bt.serial_first AND bt.serial_last;
    IF NOT FOUND OR b.status <> 'active' OR b.pin_required THEN
        RETURN QUERY SELECT * FROM claim_many(ARRAY[p_serial], ARRAY[p_batch], ARRAY[p_member],
                                              ARRAY[p_pin]);
        RETURN;
    END IF;
    INSERT INTO redemptions (serial, batch_id, member, points)
    VALUES (p_serial, p_batch, p_member, b.pts)
    ON CONFLICT (serial) DO NOTHING;
    IF FOUND THEN
        INSERT INTO members AS mb (member, balance) VALUES (p_member, b.pts)
        ON CONFLICT (member) DO UPDATE SET balance = mb.balance + excluded.balance
        RETURNING mb.balance INTO bal;
        INSERT INTO ledger (member, delta, balance_after, kind, serial)
        VALUES (p_member, b.pts, bal, 'claim', p_serial);
        -- outbox
        IF webhook_wanted('claim.awarded') THEN
            PERFORM webhook_emit('claim.awarded', ARRAY['member:' || p_member], ARRAY[b.brand],
                                 ARRAY[jsonb_build_object(
                                     'member', p_member, 'serial', p_serial, 'batch', p_batch,
                                     'sku', b.product_sku, 'points', b.pts, 'balance', bal,
                                     'claimed_at', webhook_time(now()))]);
        END IF;
        RETURN QUERY SELECT 1, 'awarded'::text, b.pts, bal, now(), NULL::integer;
        RETURN;
    END IF;
    SELECT r.member, r.points, r.claimed_at INTO rd FROM redemptions r WHERE r.serial = p_serial;
    IF rd.member = p_member THEN
        RETURN QUERY SELECT 1, 'repeat'::text, rd.points,
                            (SELECT m.balance FROM members m WHERE m.member = p_member),
                            rd.claimed_at, NULL::integer;
    ELSE
        RETURN QUERY SELECT 1, 'claimed'::text, NULL::integer, NULL::bigint, rd.claimed_at,
                            NULL::integer;
    END IF;
END $$;

-- product_add of 008_staff.sql (which adds the product's brand), unchanged
-- but for its outbox insert.
CREATE OR REPLACE FUNCTION product_add(p_actor text, p_client inet, p_sku text, p_gtin text,
                                       p_name text, p_brand text, p_points integer)
RETURNS TABLE (outcome text, created_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    at timestamptz;
    bid bigint;
BEGIN
    BEGIN
        INSERT INTO brands (name) VALUES (coalesce(p_brand, ''))
        ON CONFLICT (name) DO NOTHING
        RETURNING brands.id INTO bid;
        INSERT INTO products (sku, gtin, name, brand, points)
        VALUES (p_sku, p_gtin, p_name, coalesce(p_brand, ''), p_points)
        RETURNING products.created_at INTO at;
    EXCEPTION WHEN unique_violation THEN
        RETURN QUERY SELECT CASE WHEN EXISTS (SELECT 1 FROM products WHERE sku = p_sku)
                                 THEN 'sku_exists' ELSE 'gtin_exists' END, NULL::timestamptz;
        RETURN;
    END;
    IF bid IS NOT NULL THEN
        PERFORM audit_append(p_actor, p_client, 'brand.add', coalesce(p_brand, ''),
                             jsonb_build_object('brand_id', bid));
    END IF;
    PERFORM audit_append(p_actor, p_client, 'product.add', p_sku,
                         jsonb_build_object('gtin', p_gtin, 'name', p_name,
                                            'brand', coalesce(p_brand, ''), 'points', p_points));
    -- outbox
    IF webhook_wanted('product.created') THEN
        PERFORM webhook_emit('product.created', ARRAY['product:' || p_sku],
                             ARRAY[coalesce(p_brand, '')],
                             ARRAY[jsonb_build_object('sku', p_sku, 'gtin', p_gtin,
                                                      'name', p_name,
                                                      'brand', coalesce(p_brand, ''),
                                                      'points', p_points,
                                                      'created_at', webhook_time(at))]);
    END IF;
    RETURN QUERY SELECT 'added'::text, at;
END $$;

-- batch_set_status of 006_write_path.sql, unchanged but for its outbox
-- insert: batch.activated, batch.voided, batch.recalled, batch.unrecalled,
-- after the batch's row lock, so a batch's events are in the order of its moves.
CREATE OR REPLACE FUNCTION batch_set_status(p_actor text, p_client inet, p_batch bigint,
                                            p_status text, p_reason text, p_from text DEFAULT NULL)
RETURNS TABLE (outcome text, status text, previous text, changed_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    cur text;
    act text;
    at timestamptz;
    b_sku text;
    b_brand text;
    ev text;
BEGIN
    IF p_status IS NULL OR p_status NOT IN ('active', 'recalled', 'void') THEN
        RAISE EXCEPTION 'a batch cannot be set to %', p_status USING ERRCODE = '22023';
    END IF;
    -- the row lock first: the move is checked and made under it
    SELECT b.status INTO cur FROM batches b WHERE b.id = p_batch FOR UPDATE;
    act := CASE WHEN cur = 'minting' AND p_status = 'active' THEN 'batch.activate'
                WHEN cur IN ('minting', 'active') AND p_status = 'void' THEN 'batch.void'
                WHEN cur = 'active' AND p_status = 'recalled' THEN 'batch.recall'
                WHEN cur = 'recalled' AND p_status = 'active' THEN 'batch.unrecall' END;
    IF cur IS NULL OR act IS NULL OR cur <> coalesce(p_from, cur) THEN
        RETURN QUERY SELECT CASE WHEN cur IS NULL THEN 'unknown_batch' ELSE 'wrong_status' END,
                            cur, NULL::text, NULL::timestamptz;
        RETURN;
    END IF;
    UPDATE batches b
       SET status = p_status, status_changed_at = now(), status_reason = p_reason,
           printed_at = CASE WHEN act = 'batch.activate' THEN now()
                             WHEN act = 'batch.void' THEN NULL
                             ELSE b.printed_at END
     WHERE b.id = p_batch
    RETURNING b.status_changed_at, b.product_sku INTO at, b_sku;
    PERFORM audit_append(p_actor, p_client, act, p_batch::text,
                         jsonb_build_object('reason', p_reason, 'from', cur, 'to', p_status));
    -- outbox
    ev := CASE act WHEN 'batch.activate' THEN 'batch.activated'
                   WHEN 'batch.void' THEN 'batch.voided'
                   WHEN 'batch.recall' THEN 'batch.recalled'
                   ELSE 'batch.unrecalled' END;
    IF webhook_wanted(ev) THEN
        SELECT p.brand INTO b_brand FROM products p WHERE p.sku = b_sku;
        PERFORM webhook_emit(ev, ARRAY['batch:' || p_batch], ARRAY[b_brand],
                             ARRAY[jsonb_build_object('batch', p_batch, 'sku', b_sku,
                                                      'status', p_status, 'previous', cur,
                                                      'reason', p_reason,
                                                      'changed_at', webhook_time(at))]);
    END IF;
    RETURN QUERY SELECT 'done'::text, p_status, cur, at;
END $$;

-- ---- subscriptions: the write path (audited) and the admin API's wrappers ----

-- A new subscription, for the events of brands p_brand_ids (NULL: every
-- brand). outcome: added | unknown_event (detail: the type no row of
-- webhook_event_types names) | too_many (100 live subscriptions). Audited
-- as webhook.add, target the id, detail {url, events, brand_ids}: never
-- the secret.
CREATE FUNCTION webhook_add(p_actor text, p_client inet, p_url text, p_events text[],
                            p_secret text, p_brand_ids bigint[])
RETURNS TABLE (outcome text, id bigint, created_at timestamptz, detail text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    unknown text;
    w webhooks;
BEGIN
    SELECT e INTO unknown FROM unnest(p_events) AS e
     WHERE NOT EXISTS (SELECT 1 FROM webhook_event_types t WHERE t.name = e) LIMIT 1;
    IF unknown IS NOT NULL THEN
        RETURN QUERY SELECT 'unknown_event'::text, NULL::bigint, NULL::timestamptz, unknown;
        RETURN;
    END IF;
    IF (SELECT count(*) FROM webhooks x WHERE x.deleted_at IS NULL) >= 100 THEN
        RETURN QUERY SELECT 'too_many'::text, NULL::bigint, NULL::timestamptz, NULL::text;
        RETURN;
    END IF;
    INSERT INTO webhooks (url, events, secret, created_by, brand_ids)
    VALUES (p_url, p_events, p_secret, p_actor, p_brand_ids)
    RETURNING * INTO w;
    PERFORM audit_append(p_actor, p_client, 'webhook.add', w.id::text,
                         jsonb_build_object('url', p_url, 'events', to_jsonb(p_events),
                                            'brand_ids', to_jsonb(p_brand_ids)));
    RETURN QUERY SELECT 'added'::text, w.id, w.created_at, NULL::text;
END $$;

-- Delete a subscription: nothing more is sent to it; its pending deliveries
-- are cancelled (a delivery in flight may still arrive). outcome: deleted |
-- unknown_webhook. Audited as webhook.delete, detail {cancelled}.
CREATE FUNCTION webhook_delete(p_actor text, p_client inet, p_webhook bigint)
RETURNS TABLE (outcome text, cancelled bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    found_id bigint;
    n bigint;
BEGIN
    UPDATE webhooks w SET deleted_at = now()
     WHERE w.id = p_webhook AND w.deleted_at IS NULL
    RETURNING w.id INTO found_id;
    IF found_id IS NULL THEN
        RETURN QUERY SELECT 'unknown_webhook'::text, NULL::bigint;
        RETURN;
    END IF;
    WITH c AS (
        UPDATE webhook_deliveries d SET status = 'cancelled', done_at = now(), leased_until = NULL
         WHERE d.webhook_id = p_webhook AND d.status = 'pending'
        RETURNING 1)
    SELECT count(*) INTO n FROM c;
    PERFORM audit_append(p_actor, p_client, 'webhook.delete', p_webhook::text,
                         jsonb_build_object('cancelled', n));
    RETURN QUERY SELECT 'deleted'::text, n;
END $$;

-- Send event p_event to subscription p_webhook again, whatever became of
-- it (delivered, failed, cancelled, or pending and waiting for a retry):
-- due now, with the retry policy's count started afresh. outcome: queued |
-- unknown_webhook (none, or deleted) | unknown_delivery (the event never
-- went to it) | in_flight (a server is sending it now: try again after).
-- Audited as webhook.replay, target the subscription, detail {event}.
CREATE FUNCTION webhook_replay(p_actor text, p_client inet, p_webhook bigint, p_event bigint)
RETURNS TABLE (outcome text, previous text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    d webhook_deliveries;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM webhooks w WHERE w.id = p_webhook AND w.deleted_at IS NULL) THEN
        RETURN QUERY SELECT 'unknown_webhook'::text, NULL::text;
        RETURN;
    END IF;
    SELECT * INTO d FROM webhook_deliveries x
     WHERE x.webhook_id = p_webhook AND x.event_id = p_event FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unknown_delivery'::text, NULL::text;
        RETURN;
    END IF;
    IF d.status = 'pending' AND d.leased_until > now() THEN
        RETURN QUERY SELECT 'in_flight'::text, d.status;
        RETURN;
    END IF;
    UPDATE webhook_deliveries x
       SET status = 'pending', tries = 0, next_at = now(), leased_until = NULL, done_at = NULL
     WHERE x.webhook_id = p_webhook AND x.event_id = p_event;
    PERFORM audit_append(p_actor, p_client, 'webhook.replay', p_webhook::text,
                         jsonb_build_object('event', p_event, 'from', d.status));
    PERFORM pg_notify('packcode_catalog', 'webhook_deliveries');
    RETURN QUERY SELECT 'queued'::text, d.status;
END $$;

-- Whether an identity limited to brands p_brands (NULL: every brand) may
-- see and change subscription p_webhook: one made for those brands only.
-- A subscription it may not see is, to it, no subscription at all.
CREATE FUNCTION webhook_visible(p_webhook bigint, p_brands bigint[]) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM webhooks w
                    WHERE w.id = p_webhook
                      AND (p_brands IS NULL OR (w.brand_ids IS NOT NULL AND w.brand_ids <@ p_brands)))
$$;

-- The admin API's: the identity (admin_identity of 008_staff.sql) gives
-- the actor and the brands; a subscription is made for the identity's
-- brands, and one of other brands is unknown_webhook.
CREATE FUNCTION admin_webhook_add(p_token bigint, p_client inet, p_url text, p_events text[],
                                  p_secret text)
RETURNS TABLE (outcome text, id bigint, created_at timestamptz, detail text)
LANGUAGE plpgsql AS $$
DECLARE
    who record;
BEGIN
    SELECT * INTO who FROM admin_identity(p_token);
    RETURN QUERY SELECT * FROM webhook_add(who.actor, p_client, p_url, p_events, p_secret,
                                           who.brand_ids);
END $$;

CREATE FUNCTION admin_webhook_delete(p_token bigint, p_client inet, p_webhook bigint)
RETURNS TABLE (outcome text, cancelled bigint)
LANGUAGE plpgsql AS $$
DECLARE
    who record;
BEGIN
    SELECT * INTO who FROM admin_identity(p_token);
    IF NOT webhook_visible(p_webhook, who.brand_ids) THEN
        RETURN QUERY SELECT 'unknown_webhook'::text, NULL::bigint;
        RETURN;
    END IF;
    RETURN QUERY SELECT * FROM webhook_delete(who.actor, p_client, p_webhook);
END $$;

CREATE FUNCTION admin_webhook_replay(p_token bigint, p_client inet, p_webhook bigint,
                                     p_event bigint)
RETURNS TABLE (outcome text, previous text)
LANGUAGE plpgsql AS $$
DECLARE
    who record;
BEGIN
    SELECT * INTO who FROM admin_identity(p_token);
    IF NOT webhook_visible(p_webhook, who.brand_ids) THEN
        RETURN QUERY SELECT 'unknown_webhook'::text, NULL::text;
        RETURN;
    END IF;
    RETURN QUERY SELECT * FROM webhook_replay(who.actor, p_client, p_webhook, p_event);
END $$;

-- ---- reads ----

-- The live subscriptions an identity of brands p_brands may see (never
-- their secrets), with their deliveries pending and failed.
CREATE FUNCTION admin_webhooks(p_brands bigint[])
RETURNS TABLE (id bigint, url text, events text[], created_at timestamptz, created_by text,
               pending bigint, failed bigint)
LANGUAGE sql STABLE AS $$
    SELECT w.id, w.url, w.events, w.created_at, w.created_by,
           (SELECT count(*) FROM webhook_deliveries d
             WHERE d.webhook_id = w.id AND d.status = 'pending'),
           (SELECT count(*) FROM webhook_deliveries d
             WHERE d.webhook_id = w.id AND d.status = 'failed')
      FROM webhooks w
     WHERE w.deleted_at IS NULL
       AND (p_brands IS NULL OR (w.brand_ids IS NOT NULL AND w.brand_ids <@ p_brands))
     ORDER BY w.id
$$;

-- A subscription's deliveries, newest event first (keyset: events below
-- p_before), optionally of one status, each with its attempts as JSON.
-- No row at all: no such subscription (deleted ones included) that an
-- identity of brands p_brands may see; one row with a NULL event: it has
-- none (of that status).
CREATE FUNCTION admin_webhook_deliveries(p_webhook bigint, p_before bigint, p_status text,
                                         p_limit integer, p_brands bigint[])
RETURNS TABLE (event_id bigint, type text, subject text, created_at timestamptz, status text,
               attempts integer, next_at timestamptz, done_at timestamptz, tries jsonb)
LANGUAGE sql STABLE AS $$
    SELECT x.event_id, ev.type, ev.subject, ev.created_at, x.status, x.attempts,
           CASE WHEN x.status = 'pending' THEN x.next_at END, x.done_at,
           (SELECT coalesce(jsonb_agg(jsonb_build_object(
                        'attempt', a.attempt, 'at', webhook_time(a.at), 'outcome', a.outcome,
                        'http_status', a.http_status, 'duration_ms', a.duration_ms,
                        'error', a.error) ORDER BY a.attempt), '[]')
              FROM webhook_attempts a
             WHERE a.webhook_id = x.webhook_id AND a.event_id = x.event_id)
      FROM webhooks w
      LEFT JOIN LATERAL (
          SELECT d.* FROM webhook_deliveries d
           WHERE d.webhook_id = w.id
             AND d.event_id < coalesce(p_before, 9223372036854775807)
             AND (p_status IS NULL OR d.status = p_status)
           ORDER BY d.event_id DESC
           LIMIT p_limit) x ON true
      LEFT JOIN webhook_events ev ON ev.id = x.event_id
     WHERE w.id = p_webhook
       AND (p_brands IS NULL OR (w.brand_ids IS NOT NULL AND w.brand_ids <@ p_brands))
     ORDER BY x.event_id DESC
$$;

-- ---- the dispatcher (server/engine/webhooks.c) ----

-- The next deliveries to send: at most p_limit that are due, each the head
-- of its (subscription, subject) queue with nothing of that queue in
-- flight, leased to the caller for p_lease_s seconds. FOR UPDATE SKIP
-- LOCKED: servers claiming at once share the work, none waits for another;
-- the lease keeps the others off while it is sent. An expired lease (a
-- server died mid-send) makes it due again: at least once. attempt: this
-- attempt's number; tries: this try's since it was last queued; body: the
-- payload, the same on every attempt.
CREATE FUNCTION webhook_claim(p_limit integer, p_lease_s integer)
RETURNS TABLE (webhook_id bigint, event_id bigint, attempt integer, tries integer, url text,
               secret text, type text, body text)
LANGUAGE sql AS $$
    WITH due AS (
        SELECT d.webhook_id, d.event_id
          FROM webhook_deliveries d
          JOIN webhooks w ON w.id = d.webhook_id AND w.deleted_at IS NULL
         WHERE d.status = 'pending' AND d.next_at <= now()
           AND (d.leased_until IS NULL OR d.leased_until <= now())
           AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e
                            WHERE e.webhook_id = d.webhook_id AND e.subject = d.subject
                              AND e.status = 'pending' AND e.event_id <> d.event_id
                              AND (e.event_id < d.event_id OR e.leased_until > now()))
         ORDER BY d.next_at, d.event_id
         LIMIT p_limit
         FOR UPDATE OF d SKIP LOCKED),
    up AS (
        UPDATE webhook_deliveries d
           SET leased_until = now() + make_interval(secs => p_lease_s),
               attempts = d.attempts + 1, tries = d.tries + 1
          FROM due
         WHERE d.webhook_id = due.webhook_id AND d.event_id = due.event_id
        RETURNING d.webhook_id, d.event_id, d.attempts, d.tries)
    SELECT up.webhook_id, up.event_id, up.attempts, up.tries, w.url, w.secret, ev.type,
           jsonb_build_object('id', ev.id, 'type', ev.type, 'subject', ev.subject,
                              'created', webhook_time(ev.created_at), 'data', ev.data)::text
      FROM up
      JOIN webhooks w ON w.id = up.webhook_id
      JOIN webhook_events ev ON ev.id = up.event_id
     ORDER BY up.event_id
$$;

-- The dispatcher's results, many at once: attempt p_attempts[i] of delivery
-- (p_webhooks[i], p_events[i]) ended with p_outcomes[i] after p_ms[i] ms
-- (p_http[i]: the HTTP status, if one came; p_errors[i]: why it failed).
-- Delivered: done. Failed: due again in p_retry_ms[i] ms, or failed for
-- good after p_max tries. A result that is no longer the delivery's latest
-- attempt (its lease expired and another server took it over) is kept as
-- an attempt but moves nothing, unless it delivered. Returns the deliveries
-- this made 'failed'.
CREATE FUNCTION webhook_record(p_webhooks bigint[], p_events bigint[], p_attempts integer[],
                               p_outcomes text[], p_http integer[], p_ms integer[],
                               p_errors text[], p_retry_ms integer[], p_max integer)
RETURNS TABLE (webhook_id bigint, event_id bigint)
LANGUAGE sql AS $$
    WITH r AS (
        SELECT * FROM unnest(p_webhooks, p_events, p_attempts, p_outcomes, p_http, p_ms,
                             p_errors, p_retry_ms) AS u(w, e, n, oc, http, ms, err, retry)),
    att AS (
        INSERT INTO webhook_attempts (webhook_id, event_id, attempt, at, outcome, http_status,
                                      duration_ms, error)
        SELECT r.w, r.e, r.n, now() - make_interval(secs => r.ms / 1000.0), r.oc, r.http,
               greatest(r.ms, 0), left(r.err, 300)
          FROM r
        ON CONFLICT DO NOTHING),
    up AS (
        UPDATE webhook_deliveries d
           SET status = CASE WHEN r.oc = 'delivered' THEN 'delivered'
                             WHEN d.tries >= p_max THEN 'failed'
                             ELSE 'pending' END,
               done_at = CASE WHEN r.oc = 'delivered' OR d.tries >= p_max THEN now() END,
               next_at = CASE WHEN r.oc = 'delivered' OR d.tries >= p_max THEN d.next_at
                              ELSE now() + make_interval(secs => r.retry / 1000.0) END,
               leased_until = NULL
          FROM r
         WHERE d.webhook_id = r.w AND d.event_id = r.e AND d.status = 'pending'
           AND (r.oc = 'delivered' OR d.attempts = r.n)
        RETURNING d.webhook_id, d.event_id, d.status)
    SELECT up.webhook_id, up.event_id FROM up WHERE up.status = 'failed'
$$;
