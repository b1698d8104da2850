-- 002_server.sql: what packcode-server runs: claims (many per transaction for
-- group commit), wrong-PIN throttling, code lookups and the scan writer.
-- claim_many takes its row locks in one global order (pin_failures and
-- redemptions by ascending serial, then members by ascending member), so
-- concurrent calls cannot deadlock; it returns one outcome row per input.

-- Wrong inner PINs per code. PIN_MAX_FAILURES wrong PINs lock the code's
-- claims for PIN_LOCK; failures older than PIN_WINDOW are forgotten.
CREATE TABLE pin_failures (
    serial       bigint PRIMARY KEY,
    failures     integer NOT NULL CHECK (failures >= 0),
    last_failure timestamptz NOT NULL,
    locked_until timestamptz
);

CREATE FUNCTION pin_policy(OUT max_failures integer, OUT window_len interval, OUT lock_len interval)
LANGUAGE sql IMMUTABLE AS $$ SELECT 5, interval '1 hour', interval '15 minutes' $$;

-- Claim codes: p_serials[i] of batch p_batches[i] for member p_members[i].
-- p_pins[i]: 0 no PIN given, 1 the right PIN, 2 a wrong PIN (the server checks
-- PINs, which derive from the key; the database counts the wrong ones).
-- outcome: awarded | repeat (this member had it already) | claimed (another
-- member has it) | not_genuine | recalled | void_batch | pin_required |
-- pin_wrong | throttled. balance is the member's balance after the claim
-- (awarded) or now (repeat); claimed_at is when the code was claimed
-- (awarded, repeat, claimed); retry_after is in seconds (throttled).
-- Set-based, so that a call of many claims costs little more than one: the
-- few statements below run once per call, not once per claim.
CREATE FUNCTION claim_many(p_serials bigint[], p_batches bigint[], p_members text[],
                           p_pins smallint[])
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
    won bigint[];
    prev bigint;
    pol record;
    r record;
    f record;
BEGIN
    IF coalesce(cardinality(p_batches), 0) <> n OR coalesce(cardinality(p_members), 0) <> n
       OR coalesce(cardinality(p_pins), 0) <> n THEN
        RAISE EXCEPTION 'claim_many: arrays of different lengths' USING ERRCODE = '22023';
    END IF;
    IF n = 0 THEN
        RETURN;
    END IF;

    -- 1. Each claim against its batch; NULL means "go on", 'pin' "check the throttle".
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

    -- 2. PINs, ascending serial: wrong ones are counted; a locked code refuses even the right one.
    IF 'pin' = ANY (o_outcome) THEN
        SELECT * INTO pol FROM pin_policy();
        FOR r IN SELECT u.i::integer AS i, u.s, u.p
                   FROM unnest(p_serials, p_pins) WITH ORDINALITY AS u(s, p, i)
                  WHERE o_outcome[u.i] = 'pin'
                  ORDER BY u.s, u.i LOOP
            o_outcome[r.i] := NULL;
            IF r.p = 2 THEN
                INSERT INTO pin_failures AS pf (serial, failures, last_failure)
                VALUES (r.s, 1, now())
                ON CONFLICT (serial) DO UPDATE SET
                    failures = CASE
                        WHEN pf.locked_until > now() THEN pf.failures
                        WHEN pf.last_failure < now() - pol.window_len THEN 1
                        ELSE pf.failures + 1 END,
                    last_failure = now()
                RETURNING pf.failures, pf.locked_until INTO f;
                IF f.locked_until > now() THEN
                    o_outcome[r.i] := 'throttled';
                    o_retry[r.i] := ceil(extract(epoch FROM f.locked_until - now()))::integer;
                ELSIF f.failures >= pol.max_failures THEN
                    UPDATE pin_failures SET failures = 0, locked_until = now() + pol.lock_len
                     WHERE serial = r.s;
                    o_outcome[r.i] := 'throttled';
                    o_retry[r.i] := ceil(extract(epoch FROM pol.lock_len))::integer;
                ELSE
                    o_outcome[r.i] := 'pin_wrong';
                END IF;
            ELSE
                SELECT pf.locked_until INTO f FROM pin_failures pf WHERE pf.serial = r.s;
                IF FOUND AND f.locked_until > now() THEN
                    o_outcome[r.i] := 'throttled';
                    o_retry[r.i] := ceil(extract(epoch FROM f.locked_until - now()))::integer;
                END IF;
            END IF;
        END LOOP;
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
    -- The others lost to an earlier claim: theirs (repeat) or someone else's.
    -- A new statement: it sees claims committed by others while we waited.
    -- (Index probes by scalar subquery: a cached plan must never scan the table.)
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

    RETURN QUERY
        SELECT u.i::integer, u.oc,
               CASE WHEN u.oc IN ('awarded', 'repeat') THEN u.pt END, u.bl, u.at, u.ra
          FROM unnest(o_outcome, o_points, o_balance, o_at, o_retry)
               WITH ORDINALITY AS u(oc, pt, bl, at, ra, i)
         ORDER BY u.i;
END $$;

-- One claim in its own transaction, the same rules and outcomes as
-- claim_many but with the fewest statements: the statement the pgbench
-- reference runs, one transaction per claim. PIN batches take claim_many's
-- path (throttle bookkeeping).
CREATE FUNCTION claim(p_serial bigint, p_batch bigint, p_member text, p_pin smallint DEFAULT 0)
RETURNS TABLE (ord integer, outcome text, points integer, balance bigint,
               claimed_at timestamptz, retry_after integer)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    b record;
    rd record;
    bal bigint;
BEGIN
    SELECT bt.status, bt.pin_required, pr.points AS pts INTO b
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

-- What the database knows about codes: claimed when, scanned how often and
-- since when. One row per input serial, in input order. A scalar subquery
-- and a LATERAL ... LIMIT 1 (which the planner cannot flatten into a join):
-- index probes whatever plan a prepared statement keeps (a hash join in a
-- cached plan would scan whole tables).
CREATE FUNCTION lookup_codes(p_serials bigint[])
RETURNS TABLE (ord integer, serial bigint, claimed_at timestamptz, scan_count bigint,
               first_scan timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT u.i::integer, u.s,
           (SELECT r.claimed_at FROM redemptions r WHERE r.serial = u.s),
           coalesce(cs.scan_count, 0), cs.first_scan
      FROM unnest(p_serials) WITH ORDINALITY AS u(s, i)
      LEFT JOIN LATERAL (SELECT c.scan_count, c.first_scan FROM code_stats c
                          WHERE c.serial = u.s LIMIT 1) cs ON true
     ORDER BY u.i
$$;

-- The per-code scan summary, from the scan writer: one row per serial (the
-- server aggregates a batch of scans, which it writes into scans with COPY).
-- Ascending serial, so concurrent writers cannot deadlock.
CREATE FUNCTION scan_stats(p_serials bigint[], p_counts bigint[], p_first timestamptz[],
                           p_last timestamptz[])
RETURNS void LANGUAGE sql AS $$
    INSERT INTO code_stats AS cs (serial, scan_count, first_scan, last_scan)
    SELECT u.s, u.n, u.f, u.l
      FROM unnest(p_serials, p_counts, p_first, p_last) AS u(s, n, f, l)
     ORDER BY u.s
    ON CONFLICT (serial) DO UPDATE SET
        scan_count = cs.scan_count + excluded.scan_count,
        first_scan = least(cs.first_scan, excluded.first_scan),
        last_scan = greatest(cs.last_scan, excluded.last_scan)
$$;
