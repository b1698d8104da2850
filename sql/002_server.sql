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
-- pin_wrong | throttled. balance is the member's balance afterwards (awarded,
-- repeat); claimed_at is when the code was claimed (awarded, repeat,
-- claimed); retry_after is in seconds (throttled).
CREATE FUNCTION claim_many(p_serials bigint[], p_batches bigint[], p_members text[],
                           p_pins smallint[])
RETURNS TABLE (ord integer, outcome text, points integer, balance bigint,
               claimed_at timestamptz, retry_after integer)
LANGUAGE plpgsql AS $$
DECLARE
    n integer := coalesce(cardinality(p_serials), 0);
    o_outcome text[] := array_fill(NULL::text, ARRAY[n]);
    o_points integer[] := array_fill(NULL::integer, ARRAY[n]);
    o_balance bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    o_at timestamptz[] := array_fill(NULL::timestamptz, ARRAY[n]);
    o_retry integer[] := array_fill(NULL::integer, ARRAY[n]);
    pol record;
    r record;
    b record;
    f record;
    red record;
    bal bigint;
BEGIN
    IF coalesce(cardinality(p_batches), 0) <> n OR coalesce(cardinality(p_members), 0) <> n
       OR coalesce(cardinality(p_pins), 0) <> n THEN
        RAISE EXCEPTION 'claim_many: arrays of different lengths' USING ERRCODE = '22023';
    END IF;
    SELECT * INTO pol FROM pin_policy();

    -- Phase 1, ascending serial: PIN throttle and the one-time redemption.
    FOR r IN SELECT u.i::integer AS i, u.s, u.b, u.m, u.p
               FROM unnest(p_serials, p_batches, p_members, p_pins) WITH ORDINALITY AS u(s, b, m, p, i)
              ORDER BY u.s, u.i LOOP
        SELECT bt.status, bt.pin_required, pr.points AS pts INTO b
          FROM batches bt JOIN products pr ON pr.sku = bt.product_sku
         WHERE bt.id = r.b AND r.s BETWEEN bt.serial_first AND bt.serial_last;
        IF NOT FOUND THEN
            o_outcome[r.i] := 'not_genuine';
            CONTINUE;
        ELSIF b.status = 'recalled' THEN
            o_outcome[r.i] := 'recalled';
            CONTINUE;
        ELSIF b.status <> 'active' THEN
            o_outcome[r.i] := 'void_batch';
            CONTINUE;
        END IF;

        IF b.pin_required THEN
            IF r.p = 0 THEN
                o_outcome[r.i] := 'pin_required';
                CONTINUE;
            ELSIF r.p = 2 THEN
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
                CONTINUE;
            ELSE
                SELECT pf.locked_until INTO f FROM pin_failures pf WHERE pf.serial = r.s;
                IF FOUND AND f.locked_until > now() THEN
                    o_outcome[r.i] := 'throttled';
                    o_retry[r.i] := ceil(extract(epoch FROM f.locked_until - now()))::integer;
                    CONTINUE;
                END IF;
            END IF;
        END IF;

        INSERT INTO redemptions (serial, batch_id, member, points)
        VALUES (r.s, r.b, r.m, b.pts)
        ON CONFLICT (serial) DO NOTHING;
        IF FOUND THEN
            o_outcome[r.i] := 'awarded';
            o_points[r.i] := b.pts;
            o_at[r.i] := now();
        ELSE
            SELECT rd.member, rd.points, rd.claimed_at INTO red
              FROM redemptions rd WHERE rd.serial = r.s;
            o_outcome[r.i] := CASE WHEN red.member = r.m THEN 'repeat' ELSE 'claimed' END;
            o_at[r.i] := red.claimed_at;
            IF red.member = r.m THEN
                o_points[r.i] := red.points;
            END IF;
        END IF;
    END LOOP;

    -- Phase 2, ascending member: balance and ledger, in the same transaction.
    FOR r IN SELECT u.i::integer AS i, u.m, u.s
               FROM unnest(p_members, p_serials) WITH ORDINALITY AS u(m, s, i)
              WHERE o_outcome[u.i] = 'awarded'
              ORDER BY u.m, u.i LOOP
        INSERT INTO members AS mb (member, balance) VALUES (r.m, o_points[r.i])
        ON CONFLICT (member) DO UPDATE SET balance = mb.balance + excluded.balance
        RETURNING mb.balance INTO bal;
        INSERT INTO ledger (member, delta, balance_after, kind, serial)
        VALUES (r.m, o_points[r.i], bal, 'claim', r.s);
        o_balance[r.i] := bal;
    END LOOP;
    FOR r IN SELECT u.i::integer AS i, u.m
               FROM unnest(p_members) WITH ORDINALITY AS u(m, i)
              WHERE o_outcome[u.i] = 'repeat' LOOP
        SELECT mb.balance INTO bal FROM members mb WHERE mb.member = r.m;
        o_balance[r.i] := bal;
    END LOOP;

    RETURN QUERY
        SELECT u.i::integer, u.oc, u.pt, u.bl, u.at, u.ra
          FROM unnest(o_outcome, o_points, o_balance, o_at, o_retry)
               WITH ORDINALITY AS u(oc, pt, bl, at, ra, i)
         ORDER BY u.i;
END $$;

-- One claim in its own transaction: the statement the pgbench reference runs.
CREATE FUNCTION claim(p_serial bigint, p_batch bigint, p_member text, p_pin smallint DEFAULT 0)
RETURNS TABLE (ord integer, outcome text, points integer, balance bigint,
               claimed_at timestamptz, retry_after integer)
LANGUAGE sql AS $$
    SELECT * FROM claim_many(ARRAY[p_serial], ARRAY[p_batch], ARRAY[p_member], ARRAY[p_pin])
$$;

-- What the database knows about codes: claimed when, scanned how often and
-- since when. One row per input serial, in input order.
CREATE FUNCTION lookup_codes(p_serials bigint[])
RETURNS TABLE (ord integer, serial bigint, claimed_at timestamptz, scan_count bigint,
               first_scan timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT u.i::integer, u.s, r.claimed_at, coalesce(cs.scan_count, 0), cs.first_scan
      FROM unnest(p_serials) WITH ORDINALITY AS u(s, i)
      LEFT JOIN redemptions r ON r.serial = u.s
      LEFT JOIN code_stats cs ON cs.serial = u.s
     ORDER BY u.i
$$;

-- The scan writer: many scan rows in one statement, and the per-code summary.
-- Scan records are statistics, not money: their commit does not wait for the
-- disk (a crash may lose the last fraction of a second of them). code_stats
-- rows are updated in ascending serial so concurrent writers cannot deadlock.
CREATE FUNCTION scan_log(p_at timestamptz[], p_serial bigint[], p_code text[], p_kind text[],
                         p_outcome text[], p_client inet[], p_user_agent text[],
                         p_member text[])
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    INSERT INTO scans (at, serial, code, kind, outcome, client, user_agent, member)
    SELECT * FROM unnest(p_at, p_serial, p_code, p_kind, p_outcome, p_client, p_user_agent,
                         p_member);
    GET DIAGNOSTICS n = ROW_COUNT;
    INSERT INTO code_stats AS cs (serial, scan_count, first_scan, last_scan)
    SELECT u.s, count(*), min(u.at), max(u.at)
      FROM unnest(p_serial, p_at) AS u(s, at)
     WHERE u.s > 0
     GROUP BY u.s
     ORDER BY u.s
    ON CONFLICT (serial) DO UPDATE SET
        scan_count = cs.scan_count + excluded.scan_count,
        first_scan = least(cs.first_scan, excluded.first_scan),
        last_scan = greatest(cs.last_scan, excluded.last_scan);
    RETURN n;
END $$;
