-- 007_consumer.sql: what the consumer's pages need to tell the truth.
-- 1. Wrong PINs with backoff per code, per client address and per member,
--    instead of 002's lock of the code for everyone: a stranger who read the
--    outer code can slow down only the addresses and members that fail, and
--    the right PIN from anyone else is never refused.
-- 2. Scanners: scans counted by distinct scanners (an address and a
--    User-Agent) instead of by requests.
-- 3. Reports: a consumer tells the brand that a code looks copied.
-- Lock order, as in 002: pin_backoff rows by ascending subject in one
-- statement, code_stats and code_scanners by ascending serial.

-- ---- 1. PIN backoff ------------------------------------------------------------------

-- Wrong PINs per subject: 'code:SERIAL', 'addr:ADDRESS' (IPv4, or the IPv6
-- /64) and 'member:ID'. failures are forgotten once the last is older than
-- the policy's forget interval. blocked_until: an address or a member is
-- refused, right PIN or not, until then (for a code it is unused: a code's
-- failures lengthen the wait of whoever fails on it, they block nobody).
CREATE TABLE pin_backoff (
    subject       text PRIMARY KEY CHECK (length(subject) <= 80),
    failures      integer NOT NULL CHECK (failures >= 0),
    last_failure  timestamptz NOT NULL,
    blocked_until timestamptz NOT NULL
);
-- 002's per-code lock is no longer written (its table stays for existing data).
COMMENT ON TABLE pin_failures IS 'unused since 007_consumer.sql: see pin_backoff';

-- free: wrong PINs without a wait; then the wait doubles from base, up to cap.
CREATE FUNCTION pin_backoff_policy(OUT free integer, OUT base interval, OUT cap interval,
                                   OUT forget interval)
LANGUAGE sql IMMUTABLE AS $$
    SELECT 3, interval '10 seconds', interval '1 hour', interval '24 hours'
$$;

-- The wait after n failures (the most of the failing address's, member's and code's).
CREATE FUNCTION pin_backoff_wait(n integer) RETURNS interval
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN n <= p.free THEN interval '0'
                ELSE least(p.cap, p.base * power(2, least(n - p.free - 1, 20))) END
      FROM pin_backoff_policy() p
$$;

-- The address subject of a client: IPv6 by /64 (one subscriber), IPv4 as is.
CREATE FUNCTION pin_backoff_addr(a inet) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT 'addr:' || CASE WHEN family(a) = 6 THEN text(network(set_masklen(a, 64)))
                           ELSE host(a) END
$$;

-- claim_many of 002, with the clients' addresses (p_clients, NULL when
-- unknown) and PIN backoff instead of the code lock. Same outcomes; a
-- wrong PIN ('pin_wrong') now has retry_after when it started a wait, and
-- 'throttled' means: this address (or this member, from an address that
-- failed too) must wait, whatever its PIN.
DROP FUNCTION claim_many(bigint[], bigint[], text[], smallint[]);
CREATE FUNCTION claim_many(p_serials bigint[], p_batches bigint[], p_members text[],
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

    RETURN QUERY
        SELECT u.i::integer, u.oc,
               CASE WHEN u.oc IN ('awarded', 'repeat') THEN u.pt END, u.bl, u.at, u.ra
          FROM unnest(o_outcome, o_points, o_balance, o_at, o_retry)
               WITH ORDINALITY AS u(oc, pt, bl, at, ra, i)
         ORDER BY u.i;
END $$;

-- ---- 2. Scanners ------------------------------------------------------------------------

-- A scanner is an address and a User-Agent (the server hashes the two into
-- scanner; there are no sessions yet): one person on one phone, as far as
-- the server can tell. It is counted once per code, and again only after
-- it has not scanned that code for the policy's window. code_stats.scanners
-- is that count: what the landing page shows, instead of the requests.
ALTER TABLE code_stats ADD COLUMN scanners bigint NOT NULL DEFAULT 0;

CREATE TABLE code_scanners (
    serial      bigint NOT NULL,
    scanner     bigint NOT NULL,
    counted_at  timestamptz NOT NULL,
    last_seen   timestamptz NOT NULL,
    claimed     boolean NOT NULL DEFAULT false, -- this scanner's claim of the code was awarded
    PRIMARY KEY (serial, scanner)
);

CREATE FUNCTION scanner_policy(OUT window_len interval)
LANGUAGE sql IMMUTABLE AS $$ SELECT interval '30 days' $$;

-- The scan writer's summary of a batch of scans: scan_stats (002) per
-- serial, then the scanners (p_s_serials[i], p_scanners[i], p_claimed[i],
-- each pair once).
CREATE FUNCTION scan_summary(p_serials bigint[], p_counts bigint[], p_first timestamptz[],
                             p_last timestamptz[], p_s_serials bigint[], p_scanners bigint[],
                             p_claimed boolean[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM scan_stats(p_serials, p_counts, p_first, p_last);
    WITH up AS (
        INSERT INTO code_scanners AS cs (serial, scanner, counted_at, last_seen, claimed)
        SELECT u.s, u.sc, now(), now(), bool_or(u.c)
          FROM unnest(p_s_serials, p_scanners, p_claimed) AS u(s, sc, c)
         GROUP BY u.s, u.sc
         ORDER BY u.s, u.sc
        ON CONFLICT (serial, scanner) DO UPDATE SET
            counted_at = CASE WHEN cs.last_seen < now() - (SELECT window_len FROM scanner_policy())
                              THEN now() ELSE cs.counted_at END,
            last_seen = now(),
            claimed = cs.claimed OR excluded.claimed
        RETURNING cs.serial, cs.counted_at = now() AS counted)
    INSERT INTO code_stats AS st (serial, scan_count, first_scan, last_scan, scanners)
    SELECT up.serial, 0, now(), now(), count(*) FROM up WHERE up.counted
     GROUP BY up.serial ORDER BY up.serial
    ON CONFLICT (serial) DO UPDATE SET scanners = st.scanners + excluded.scanners;
END $$;

-- lookup_codes of 002 with the scanners: one row per input serial, in
-- input order. known: p_scanners[i] was counted for the code within the
-- window (the page then does not count it again); claimed_here: that
-- scanner's claim of the code was awarded (the claimer rescanning).
CREATE FUNCTION code_facts(p_serials bigint[], p_scanners bigint[])
RETURNS TABLE (ord integer, serial bigint, claimed_at timestamptz, scan_count bigint,
               first_scan timestamptz, scanners bigint, known boolean, claimed_here boolean)
LANGUAGE sql STABLE AS $$
    SELECT u.i::integer, u.s,
           (SELECT r.claimed_at FROM redemptions r WHERE r.serial = u.s),
           coalesce(cs.scan_count, 0), cs.first_scan, coalesce(cs.scanners, 0),
           coalesce(sc.last_seen >= now() - (SELECT window_len FROM scanner_policy()), false),
           coalesce(sc.claimed, false)
      FROM unnest(p_serials, p_scanners) WITH ORDINALITY AS u(s, sc, i)
      LEFT JOIN LATERAL (SELECT c.scan_count, c.first_scan, c.scanners FROM code_stats c
                          WHERE c.serial = u.s LIMIT 1) cs ON true
      LEFT JOIN LATERAL (SELECT x.last_seen, x.claimed FROM code_scanners x
                          WHERE x.serial = u.s AND x.scanner = u.sc LIMIT 1) sc ON true
     ORDER BY u.i
$$;

-- ---- 3. Reports ---------------------------------------------------------------------------

-- A consumer's report that a code looks copied: its points claimed by
-- someone else ('claimed'), or checked by many people ('copied'). Ready
-- for alerts: each new report is announced (NOTIFY packcode_reports, the
-- payload its id), and alerted_at / handled_at are for whoever tells the
-- brand and whoever deals with it.
CREATE TABLE reports (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    serial      bigint NOT NULL,
    batch_id    bigint NOT NULL,
    code        text NOT NULL CHECK (length(code) <= 64),
    reason      text NOT NULL CHECK (reason IN ('claimed', 'copied')),
    claimed_at  timestamptz,
    scanners    bigint,
    client      inet,
    user_agent  text CHECK (length(user_agent) <= 256),
    alerted_at  timestamptz,
    handled_at  timestamptz
);
CREATE INDEX reports_serial ON reports (serial, at);
CREATE INDEX reports_unalerted ON reports (at) WHERE alerted_at IS NULL;

-- File a report: outcome 'filed', or 'repeat' (the same client reported
-- the code within a day: its first report, nothing new written).
CREATE FUNCTION report_file(p_serial bigint, p_batch bigint, p_code text, p_reason text,
                            p_client inet, p_user_agent text)
RETURNS TABLE (outcome text, id bigint, at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    old record;
    rid bigint;
    rat timestamptz;
BEGIN
    SELECT r.id, r.at INTO old FROM reports r
     WHERE r.serial = p_serial AND r.client IS NOT DISTINCT FROM p_client
       AND r.at > now() - interval '1 day'
     ORDER BY r.at LIMIT 1;
    IF FOUND THEN
        RETURN QUERY SELECT 'repeat'::text, old.id, old.at;
        RETURN;
    END IF;
    INSERT INTO reports (serial, batch_id, code, reason, claimed_at, scanners, client, user_agent)
    VALUES (p_serial, p_batch, p_code, p_reason,
            (SELECT r.claimed_at FROM redemptions r WHERE r.serial = p_serial),
            (SELECT c.scanners FROM code_stats c WHERE c.serial = p_serial),
            p_client, p_user_agent)
    RETURNING reports.id, reports.at INTO rid, rat;
    PERFORM pg_notify('packcode_reports', rid::text);
    RETURN QUERY SELECT 'filed'::text, rid, rat;
END $$;
