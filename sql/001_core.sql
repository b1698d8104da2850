-- 001_core.sql: the core data model (docs/architecture.md, "The database").
-- Constraints carry the invariants: a serial is redeemed once (redemptions
-- primary key), batches never overlap (exclusion constraint), the ledger is
-- append-only (trigger), a balance never goes negative (check). Nothing here
-- that Citus cannot distribute: see docs/scaling.md.

CREATE TABLE products (
    sku         text PRIMARY KEY CHECK (sku ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
    gtin        char(14) UNIQUE CHECK (gtin ~ '^[0-9]{14}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    brand       text NOT NULL DEFAULT '' CHECK (length(brand) <= 200),
    points      integer NOT NULL CHECK (points BETWEEN 0 AND 1000000),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- The next unallocated serial, one row: minting takes a range under its row lock.
CREATE TABLE serial_allocator (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    next_serial bigint NOT NULL CHECK (next_serial BETWEEN 1 AND 1099511627776)
);
INSERT INTO serial_allocator (next_serial) VALUES (1);

CREATE TABLE batches (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key_id        smallint NOT NULL CHECK (key_id BETWEEN 1 AND 127),
    serial_first  bigint NOT NULL CHECK (serial_first >= 1),
    serial_last   bigint NOT NULL CHECK (serial_last >= serial_first AND serial_last < 1099511627776),
    product_sku   text NOT NULL REFERENCES products (sku),
    factory       text NOT NULL DEFAULT '' CHECK (length(factory) <= 200),
    line          text NOT NULL DEFAULT '' CHECK (length(line) <= 200),
    region        text CHECK (length(region) <= 200),
    pin_required  boolean NOT NULL DEFAULT false,
    -- minting: files being written; active: printed and valid; recalled; void: never completed
    status        text NOT NULL DEFAULT 'minting'
                  CHECK (status IN ('minting', 'active', 'recalled', 'void')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    printed_at    timestamptz,
    status_changed_at timestamptz NOT NULL DEFAULT now(),
    status_reason text,
    EXCLUDE USING gist (int8range(serial_first, serial_last, '[]') WITH &&)
);
CREATE INDEX batches_product ON batches (product_sku);

-- Take count serials and register a batch for them, in the caller's transaction.
-- Call it as SELECT * FROM allocate_batch(...): (allocate_batch(...)).* would run it once per column.
CREATE FUNCTION allocate_batch(p_sku text, p_count bigint, p_key_id smallint,
                               p_factory text, p_line text, p_region text, p_pin boolean)
RETURNS batches LANGUAGE plpgsql AS $$
DECLARE
    first bigint;
    b batches;
BEGIN
    IF p_count < 1 THEN
        RAISE EXCEPTION 'count must be at least 1' USING ERRCODE = '22023';
    END IF;
    UPDATE serial_allocator SET next_serial = next_serial + p_count
     WHERE next_serial + p_count <= 1099511627776
    RETURNING next_serial - p_count INTO first;
    IF first IS NULL THEN
        RAISE EXCEPTION 'serial space exhausted: % serials requested, % left', p_count,
            (SELECT 1099511627776 - next_serial FROM serial_allocator) USING ERRCODE = '54000';
    END IF;
    INSERT INTO batches (key_id, serial_first, serial_last, product_sku, factory, line, region, pin_required)
    VALUES (p_key_id, first, first + p_count - 1, p_sku, coalesce(p_factory, ''), coalesce(p_line, ''),
            p_region, p_pin)
    RETURNING * INTO b;
    RETURN b;
END $$;

-- One row per consumer: an E.164 phone number or an external member id.
CREATE TABLE members (
    member      text PRIMARY KEY CHECK (length(member) BETWEEN 1 AND 64),
    balance     bigint NOT NULL DEFAULT 0 CHECK (balance >= 0),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per claimed code: the primary key is what makes a code one-time.
CREATE TABLE redemptions (
    serial      bigint PRIMARY KEY,
    batch_id    bigint NOT NULL,
    member      text NOT NULL,
    points      integer NOT NULL CHECK (points >= 0),
    claimed_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX redemptions_batch ON redemptions (batch_id);

-- Points movements. A member's balance is the sum of their rows, always.
CREATE TABLE ledger (
    member        text NOT NULL REFERENCES members (member),
    id            bigint GENERATED ALWAYS AS IDENTITY,
    delta         bigint NOT NULL,
    balance_after bigint NOT NULL CHECK (balance_after >= 0),
    kind          text NOT NULL CHECK (kind IN ('claim', 'spend', 'adjust')),
    serial        bigint,
    reference     text CHECK (length(reference) <= 200),
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (member, id)
);

CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % refused', TG_OP USING ERRCODE = '42501';
END $$;
CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();

-- Every scan (landing page, lookup, claim), append-only, partitioned by month.
-- serial is 0 for a code that did not authenticate.
CREATE TABLE scans (
    at          timestamptz NOT NULL DEFAULT now(),
    serial      bigint NOT NULL DEFAULT 0,
    code        text NOT NULL CHECK (length(code) <= 64),
    kind        text NOT NULL CHECK (kind IN ('landing', 'lookup', 'claim')),
    outcome     text NOT NULL CHECK (length(outcome) <= 32),
    client      inet,
    user_agent  text CHECK (length(user_agent) <= 256),
    member      text CHECK (length(member) <= 64)
) PARTITION BY RANGE (at);
CREATE TABLE scans_default PARTITION OF scans DEFAULT;
CREATE INDEX scans_serial_at ON scans (serial, at);

-- Create the monthly partitions of scans from this month to months ahead.
CREATE FUNCTION scans_ensure_partitions(months integer DEFAULT 3) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    m date := date_trunc('month', now())::date;
    made integer := 0;
    name text;
BEGIN
    FOR i IN 0 .. months LOOP
        name := format('scans_%s', to_char(m, 'YYYYMM'));
        IF to_regclass(name) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF scans FOR VALUES FROM (%L) TO (%L)',
                           name, m, (m + interval '1 month')::date);
            made := made + 1;
        END IF;
        m := (m + interval '1 month')::date;
    END LOOP;
    RETURN made;
END $$;
SELECT scans_ensure_partitions();

-- Per-code scan summary for the landing page: kept by the scan writer.
CREATE TABLE code_stats (
    serial      bigint PRIMARY KEY,
    scan_count  bigint NOT NULL DEFAULT 0,
    first_scan  timestamptz NOT NULL,
    last_scan   timestamptz NOT NULL
);

-- Servers cache products and batches; tell them when either changes.
CREATE FUNCTION catalog_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('packcode_catalog', TG_TABLE_NAME);
    RETURN NULL;
END $$;
CREATE TRIGGER products_changed AFTER INSERT OR UPDATE OR DELETE ON products
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_changed();
CREATE TRIGGER batches_changed AFTER INSERT OR UPDATE OR DELETE ON batches
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_changed();
