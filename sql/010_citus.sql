-- 007_citus.sql: every function runs on a Citus coordinator as on a single
-- PostgreSQL (docs/scaling.md), and packcode_distribute() distributes a
-- migrated database once. Citus plans a statement by the shards its
-- distribution-column values name, so a hot statement names them itself
-- (serial = ANY (...), member = ...) instead of reaching a table through a
-- correlated subquery; no stable function is called where Citus refuses one
-- in a modification (a CASE, an upsert's SET: the time is taken once, into a
-- variable); the functions over distributed tables are PL/pgSQL (Citus plans
-- neither a SQL function's parameters nor a SQL function the planner
-- inlines). Where the best form differs, the writes of claims and scan
-- counts take one of two paths by packcode_distributed(): the set-based
-- statements of 002_server.sql on a single PostgreSQL, one row (one shard) a
-- statement on Citus. Results, locks and their order are those of the
-- functions replaced.

-- True once packcode_distribute() has run (redemptions is a Citus table).
CREATE FUNCTION packcode_distributed() RETURNS boolean LANGUAGE plpgsql STABLE AS $$
DECLARE
    d boolean := false;
BEGIN
    IF to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL THEN
        EXECUTE 'SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition
                                 WHERE logicalrelid = ''redemptions''::regclass)' INTO d;
    END IF;
    RETURN d;
END $$;

-- The settings of a packcode-server connection, chosen by the database
-- (server/statements.h runs this first). A single PostgreSQL: generic
-- plans, every statement being written so that one plan fits every call.
-- Citus: custom plans (plan_cache_mode auto), because Citus prunes shards
-- only with the parameters' values and cannot plan a generic one of
-- anything but a one-table lookup by distribution column; and one
-- connection per worker node for everything the session sends, a
-- multi-shard COPY of scans or read included (max_adaptive_executor_pool_size
-- 1: Citus would otherwise open one per shard, and close them after).
-- Returns which: 'single' or 'citus'.
CREATE FUNCTION packcode_session() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    IF packcode_distributed() THEN
        PERFORM set_config('plan_cache_mode', 'auto', false);
        PERFORM set_config('citus.max_adaptive_executor_pool_size', '1', false);
        RETURN 'citus';
    END IF;
    PERFORM set_config('plan_cache_mode', 'force_generic_plan', false);
    RETURN 'single';
END $$;

-- The one INSERT into audit, as in 006_write_path.sql, in PL/pgSQL: on Citus
-- audit is a reference table, and Citus cannot plan a SQL function's
-- parameters.
CREATE OR REPLACE FUNCTION audit_append(p_actor text, p_client inet, p_action text, p_target text,
                                        p_detail jsonb)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    a bigint;
BEGIN
    INSERT INTO audit (actor, action, target, detail, client)
    VALUES (p_actor, p_action, p_target, p_detail, p_client)
    RETURNING id INTO a;
    RETURN a;
END $$;

-- Claim codes: as in 002_server.sql (arguments, outcomes, one row per claim,
-- locks in one global order: pin_failures and redemptions by ascending
-- serial, then members by ascending member), in one transaction. On a
-- single PostgreSQL the writes are the few set-based statements of
-- 002_server.sql. Distributed, they are one statement per row, each on the
-- one shard of its serial or its member, in that same order (so concurrent
-- calls cannot deadlock across shards either), over one connection per node;
-- Citus commits a call that wrote to two nodes with two-phase commit.
-- Steps 1 and 2 are shared (batches and products are coordinator tables; the
-- time is taken once: Citus refuses now() in a CASE of a modification).
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
    -- coordinator's own tables); NULL means "go on", 'pin' "check the throttle".
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

    -- 2. PINs, with backoff per code, address and member (007_consumer.sql).
    -- An address that must wait is refused unjudged; so is a member that
    -- must wait, from an address with failures of its own. The rest: a right
    -- PIN goes on, a wrong one is counted against every subject once, in
    -- ascending subject order (no deadlock). A single PostgreSQL: the
    -- statements of 007_consumer.sql. Citus (pin_backoff distributed by
    -- subject): one subject (one shard) a statement, the time taken once.
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
            -- The wait of each failing claim: from the most failures of its
            -- code, address and member; the address and the member wait it.
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
        -- A single PostgreSQL: steps 3 and 4 exactly as in 002_server.sql,
        -- a few set-based statements whatever the number of claims.
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
    ELSE
        -- Citus: one statement per row. (A set-based INSERT ... SELECT would
        -- stream its rows to each shard they touch over a connection of its
        -- own, opened for the call and closed after it.)
        -- 3. The one-time redemption, ascending serial, one row (one shard) a
        -- statement: the first claim of a serial wins it; the others lost to an
        -- earlier claim, theirs (repeat) or someone else's. Reading the owner is a
        -- new statement: it sees the claim that was committed while we waited.
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

        -- 4. Balances, ascending member, one row (one shard) a statement, and
        -- each claim's ledger row on its member's shard: balance_after is the
        -- new balance less what the member's later claims of this call add.
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

    -- 5. The outbox (009_webhooks.sql): one claim.awarded event per award, in
    -- the order of the member's ledger rows; one statement for all of them,
    -- and none when no subscription wants them. The webhook tables are the
    -- coordinator's (packcode_distribute), written in this same transaction.
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

-- One claim in its own transaction (the pgbench reference's statement), as in
-- 002_server.sql: each statement names its one row, so on Citus each runs on
-- one shard, the redemption's or the member's.
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
    IF NOT FOUND OR b.status <> 'active' OR b.pin_required THEN
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
        -- outbox (009_webhooks.sql)
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

-- What the database knows about codes, as in 002_server.sql: one row per
-- input serial, in input order. The serials are named to each table
-- (serial = ANY: an index probe per serial whatever plan is kept), the two
-- co-located tables joined on serial: on Citus one task per shard the
-- serials fall in, one for a single code. PL/pgSQL: Citus refuses a SQL
-- function over distributed tables that the planner inlines.
CREATE OR REPLACE FUNCTION lookup_codes(p_serials bigint[])
RETURNS TABLE (ord integer, serial bigint, claimed_at timestamptz, scan_count bigint,
               first_scan timestamptz)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY
        SELECT u.i::integer, u.s, f.claimed_at, coalesce(f.scan_count, 0), f.first_scan
          FROM unnest(p_serials) WITH ORDINALITY AS u(s, i)
          LEFT JOIN (SELECT coalesce(r.serial, c.serial) AS serial, r.claimed_at, c.scan_count,
                            c.first_scan
                       FROM (SELECT x.serial, x.claimed_at FROM redemptions x
                              WHERE x.serial = ANY (p_serials)) r
                       FULL JOIN (SELECT y.serial, y.scan_count, y.first_scan FROM code_stats y
                                   WHERE y.serial = ANY (p_serials)) c ON c.serial = r.serial) f
            ON f.serial = u.s
         ORDER BY u.i;
END $$;

-- The per-code scan summary, as in 002_server.sql: one set-based upsert on a
-- single PostgreSQL; distributed, one row (one shard) a statement. Ascending
-- serial either way, so that concurrent scan writers cannot deadlock.
CREATE OR REPLACE FUNCTION scan_stats(p_serials bigint[], p_counts bigint[], p_first timestamptz[],
                                      p_last timestamptz[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    IF NOT packcode_distributed() THEN
        INSERT INTO code_stats AS cs (serial, scan_count, first_scan, last_scan)
        SELECT u.s, u.n, u.f, u.l
          FROM unnest(p_serials, p_counts, p_first, p_last) AS u(s, n, f, l)
         ORDER BY u.s
        ON CONFLICT (serial) DO UPDATE SET
            scan_count = cs.scan_count + excluded.scan_count,
            first_scan = least(cs.first_scan, excluded.first_scan),
            last_scan = greatest(cs.last_scan, excluded.last_scan);
        RETURN;
    END IF;
    FOR r IN SELECT u.s, u.n, u.f, u.l
               FROM unnest(p_serials, p_counts, p_first, p_last) AS u(s, n, f, l)
              ORDER BY u.s LOOP
        INSERT INTO code_stats AS cs (serial, scan_count, first_scan, last_scan)
        VALUES (r.s, r.n, r.f, r.l)
        ON CONFLICT (serial) DO UPDATE SET
            scan_count = cs.scan_count + excluded.scan_count,
            first_scan = least(cs.first_scan, excluded.first_scan),
            last_scan = greatest(cs.last_scan, excluded.last_scan);
    END LOOP;
END $$;

-- The scan writer's summary (007_consumer.sql): scan_stats, then the
-- scanners. A single PostgreSQL: the set-based upserts of 007_consumer.sql.
-- Citus: one (serial, scanner) row a statement on its serial's shard
-- (code_scanners is co-located with code_stats), then one code_stats upsert
-- per serial adding its scans and its new scanners together (the scan
-- writer's round trips are what bound it on Citus), each table in ascending
-- serial order (concurrent writers lock code_scanners, then code_stats, in
-- one order); the time taken once.
CREATE OR REPLACE FUNCTION scan_summary(p_serials bigint[], p_counts bigint[],
                                        p_first timestamptz[], p_last timestamptz[],
                                        p_s_serials bigint[], p_scanners bigint[],
                                        p_claimed boolean[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    t timestamptz := now();
    stale timestamptz := now() - (SELECT window_len FROM scanner_policy());
    counted boolean;
    newly bigint[] := '{}';
    r record;
BEGIN
    IF NOT packcode_distributed() THEN
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
        RETURN;
    END IF;
    FOR r IN SELECT u.s, u.sc, bool_or(u.c) AS c
               FROM unnest(p_s_serials, p_scanners, p_claimed) AS u(s, sc, c)
              GROUP BY u.s, u.sc
              ORDER BY u.s, u.sc LOOP
        INSERT INTO code_scanners AS cs (serial, scanner, counted_at, last_seen, claimed)
        VALUES (r.s, r.sc, t, t, r.c)
        ON CONFLICT (serial, scanner) DO UPDATE SET
            counted_at = CASE WHEN cs.last_seen < stale THEN t ELSE cs.counted_at END,
            last_seen = t,
            claimed = cs.claimed OR excluded.claimed
        RETURNING cs.counted_at = t INTO counted;
        IF counted THEN
            newly := newly || r.s;
        END IF;
    END LOOP;
    FOR r IN SELECT coalesce(a.s, b.s) AS s, coalesce(a.n, 0) AS n, coalesce(a.f, t) AS f,
                    coalesce(a.l, t) AS l, coalesce(b.k, 0) AS k
               FROM (SELECT u.s, sum(u.n)::bigint AS n, min(u.f) AS f, max(u.l) AS l
                       FROM unnest(p_serials, p_counts, p_first, p_last) AS u(s, n, f, l)
                      GROUP BY u.s) a
               FULL JOIN (SELECT v.s, count(*) AS k FROM unnest(newly) AS v(s) GROUP BY v.s) b
                 ON b.s = a.s
              ORDER BY 1 LOOP
        INSERT INTO code_stats AS st (serial, scan_count, first_scan, last_scan, scanners)
        VALUES (r.s, r.n, r.f, r.l, r.k)
        ON CONFLICT (serial) DO UPDATE SET
            scan_count = st.scan_count + excluded.scan_count,
            first_scan = CASE WHEN excluded.scan_count > 0
                              THEN least(st.first_scan, excluded.first_scan) ELSE st.first_scan END,
            last_scan = CASE WHEN excluded.scan_count > 0
                             THEN greatest(st.last_scan, excluded.last_scan) ELSE st.last_scan END,
            scanners = st.scanners + excluded.scanners;
    END LOOP;
END $$;

-- What the landing page and the API know about codes (007_consumer.sql):
-- one row per input serial, in input order, in the form of lookup_codes
-- above: redemptions and code_stats (co-located) in one subquery, the
-- scanners in another, each naming its serials (on Citus a single code's
-- facts are one command on its serial's co-located shards). PL/pgSQL, as
-- Citus needs.
CREATE OR REPLACE FUNCTION code_facts(p_serials bigint[], p_scanners bigint[])
RETURNS TABLE (ord integer, serial bigint, claimed_at timestamptz, scan_count bigint,
               first_scan timestamptz, scanners bigint, known boolean, claimed_here boolean)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    since timestamptz := now() - (SELECT window_len FROM scanner_policy());
BEGIN
    RETURN QUERY
        SELECT u.i::integer, u.s, f.claimed_at, coalesce(f.scan_count, 0), f.first_scan,
               coalesce(f.scanners, 0), coalesce(x.last_seen >= since, false),
               coalesce(x.claimed, false)
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
         ORDER BY u.i;
END $$;

-- File a report (007_consumer.sql). reports stays a coordinator table
-- (few rows, written alone, announced by NOTIFY); the claim and the
-- scanners it records are read first, each on its serial's shard (Citus
-- takes no subquery in an INSERT's VALUES).
CREATE OR REPLACE FUNCTION report_file(p_serial bigint, p_batch bigint, p_code text,
                                       p_reason text, p_client inet, p_user_agent text)
RETURNS TABLE (outcome text, id bigint, at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    old record;
    rid bigint;
    rat timestamptz;
    cat timestamptz;
    scn bigint;
BEGIN
    SELECT r.id, r.at INTO old FROM reports r
     WHERE r.serial = p_serial AND r.client IS NOT DISTINCT FROM p_client
       AND r.at > now() - interval '1 day'
     ORDER BY r.at LIMIT 1;
    IF FOUND THEN
        RETURN QUERY SELECT 'repeat'::text, old.id, old.at;
        RETURN;
    END IF;
    SELECT r.claimed_at INTO cat FROM redemptions r WHERE r.serial = p_serial;
    SELECT c.scanners INTO scn FROM code_stats c WHERE c.serial = p_serial;
    INSERT INTO reports (serial, batch_id, code, reason, claimed_at, scanners, client, user_agent)
    VALUES (p_serial, p_batch, p_code, p_reason, cat, scn, p_client, p_user_agent)
    RETURNING reports.id, reports.at INTO rid, rat;
    PERFORM pg_notify('packcode_reports', rid::text);
    RETURN QUERY SELECT 'filed'::text, rid, rat;
END $$;

-- Move a batch to another status, as in 006_write_path.sql; the time is
-- taken once (Citus refuses now() inside a CASE of a modification).
CREATE OR REPLACE FUNCTION batch_set_status(p_actor text, p_client inet, p_batch bigint,
                                            p_status text, p_reason text, p_from text DEFAULT NULL)
RETURNS TABLE (outcome text, status text, previous text, changed_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    t timestamptz := now();
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
       SET status = p_status, status_changed_at = t, status_reason = p_reason,
           printed_at = CASE WHEN act = 'batch.activate' THEN t
                             WHEN act = 'batch.void' THEN NULL
                             ELSE b.printed_at END
     WHERE b.id = p_batch
    RETURNING b.status_changed_at, b.product_sku INTO at, b_sku;
    PERFORM audit_append(p_actor, p_client, act, p_batch::text,
                         jsonb_build_object('reason', p_reason, 'from', cur, 'to', p_status));
    -- outbox (009_webhooks.sql)
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

-- Print runs, newest first, with their counts: as in 004_admin_api.sql (the
-- page first, then only its batches counted, each from one index range),
-- in PL/pgSQL. The page's ids and serial ranges go to the counts as arrays:
-- claims by batch_id = ANY (an index-only probe per batch), scans over each
-- batch's serial range of code_stats. On Citus the counts are one query
-- over every shard each (batch_id is not the distribution column, a serial
-- range spans all shards): an admin read, not a hot path.
CREATE OR REPLACE FUNCTION admin_batches(p_before bigint, p_product text, p_limit integer,
                                         p_brands bigint[])
RETURNS TABLE (id bigint, sku text, product_name text, key_id smallint, count bigint,
               status text, created_at timestamptz, printed_at timestamptz,
               status_changed_at timestamptz, status_reason text, factory text, line text,
               pin_required boolean, claims bigint, scans bigint, codes_scanned bigint)
LANGUAGE plpgsql STABLE SET enable_seqscan = off SET jit = off AS $$
#variable_conflict use_column
DECLARE
    ids bigint[];
    firsts bigint[];
    lasts bigint[];
BEGIN
    SELECT array_agg(b.id), array_agg(b.serial_first), array_agg(b.serial_last)
      INTO ids, firsts, lasts
      FROM (SELECT b.id, b.serial_first, b.serial_last FROM batches b
             WHERE b.id < coalesce(p_before, 9223372036854775807)
               AND (p_product IS NULL OR b.product_sku = p_product)
               AND (p_brands IS NULL OR b.product_sku IN (
                       SELECT pp.sku FROM products pp JOIN brands br ON br.name = pp.brand
                        WHERE br.id = ANY (p_brands)))
             ORDER BY b.id DESC
             LIMIT p_limit) b;
    IF ids IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY
        WITH c AS MATERIALIZED (
            SELECT r.batch_id, count(*) AS n FROM redemptions r
             WHERE r.batch_id = ANY (ids) GROUP BY r.batch_id),
        s AS MATERIALIZED (
            SELECT u.id, coalesce(sum(cs.scan_count), 0)::bigint AS scans, count(*) AS codes
              FROM unnest(ids, firsts, lasts) AS u(id, f, l)
              JOIN code_stats cs ON cs.serial BETWEEN u.f AND u.l
             GROUP BY u.id)
        SELECT b.id, b.product_sku, p.name, b.key_id, b.serial_last - b.serial_first + 1,
               b.status, b.created_at, b.printed_at, b.status_changed_at, b.status_reason,
               b.factory, b.line, b.pin_required, coalesce(c.n, 0), coalesce(s.scans, 0),
               coalesce(s.codes, 0)
          FROM batches b
          JOIN products p ON p.sku = b.product_sku
          LEFT JOIN c ON c.batch_id = b.id
          LEFT JOIN s ON s.id = b.id
         WHERE b.id = ANY (ids)
         ORDER BY b.id DESC;
END $$;

-- The codes that look cloned: as in 005_admin_reads.sql, in PL/pgSQL, the
-- batch's serial range looked up first. On Citus the scans of each shard are
-- grouped by serial on that shard, beside its redemptions (co-located).
CREATE OR REPLACE FUNCTION admin_suspicious_codes(p_days integer, p_min_clients integer,
                                                  p_batch bigint, p_limit integer,
                                                  p_brands bigint[])
RETURNS TABLE (serial bigint, code text, batch_id bigint, sku text, product_name text,
               scans bigint, clients bigint, refused_claims bigint, scans_after_claim bigint,
               first_scan timestamptz, last_scan timestamptz, claimed_at timestamptz,
               claimed_by text)
LANGUAGE plpgsql STABLE SET jit = off AS $$
#variable_conflict use_column
DECLARE
    since timestamptz := now() - make_interval(days => p_days);
    lo bigint := 1;
    hi bigint := 1099511627775;
    -- the brands' names, taken first: brand_allowed() inlined into the
    -- distributed query would be sent to the workers, which have no brands
    allowed text[] := (SELECT array_agg(br.name) FROM brands br WHERE br.id = ANY (p_brands));
BEGIN
    IF p_batch IS NOT NULL THEN
        SELECT bb.serial_first, bb.serial_last INTO lo, hi FROM batches bb WHERE bb.id = p_batch;
        IF NOT FOUND THEN
            RETURN;
        END IF;
    END IF;
    RETURN QUERY
        WITH s AS (
            SELECT sc.serial,
                   min(sc.code) AS code,
                   count(*) AS scans,
                   count(DISTINCT sc.client) AS clients,
                   count(*) FILTER (WHERE sc.kind = 'claim' AND sc.outcome = 'already_claimed')
                       AS refused_claims,
                   count(*) FILTER (WHERE sc.at > r.claimed_at AND
                                          NOT (sc.kind = 'claim' AND sc.outcome IN ('awarded', 'repeat')))
                       AS scans_after_claim,
                   min(sc.at) AS first_scan,
                   max(sc.at) AS last_scan,
                   min(r.claimed_at) AS claimed_at,
                   min(r.member) AS claimed_by
              FROM scans sc
              LEFT JOIN redemptions r ON r.serial = sc.serial
             WHERE sc.at >= since
               AND sc.serial > 0
               AND sc.serial BETWEEN lo AND hi
             GROUP BY sc.serial)
        SELECT s.serial, s.code, b.id, b.product_sku, p.name, s.scans, s.clients,
               s.refused_claims, s.scans_after_claim, s.first_scan, s.last_scan, s.claimed_at,
               s.claimed_by
          FROM s
          JOIN batches b ON s.serial BETWEEN b.serial_first AND b.serial_last
          JOIN products p ON p.sku = b.product_sku
         WHERE (s.clients >= p_min_clients OR s.refused_claims > 0)
           AND (p_brands IS NULL OR p.brand = ANY (allowed))
         ORDER BY s.refused_claims DESC, s.clients DESC, s.scans DESC, s.serial
         LIMIT p_limit;
END $$;

-- The service at a glance: as in 008_staff.sql (for an identity limited to
-- brands: their products, print runs, claims and the scans of their codes;
-- members who claimed one of their codes; no points_held), in PL/pgSQL. The
-- brands' batches are picked first on the coordinator; the distributed
-- tables are then counted by batch_id = ANY and by the batches' serial ranges.
CREATE OR REPLACE FUNCTION admin_stats(p_days integer, p_brands bigint[]) RETURNS jsonb
LANGUAGE plpgsql STABLE SET jit = off AS $$
DECLARE
    since timestamptz := now() - make_interval(days => p_days);
    ids bigint[];
    firsts bigint[];
    lasts bigint[];
    claimed bigint;
    members_n bigint;
    held bigint;
    scans jsonb;
BEGIN
    SELECT coalesce(array_agg(b.id), '{}'), coalesce(array_agg(b.serial_first), '{}'),
           coalesce(array_agg(b.serial_last), '{}')
      INTO ids, firsts, lasts
      FROM batches b JOIN products p ON p.sku = b.product_sku
     WHERE brand_allowed(p_brands, p.brand);
    IF p_brands IS NULL THEN
        SELECT count(*) INTO claimed FROM redemptions;
        SELECT count(*), coalesce(sum(balance), 0) INTO members_n, held FROM members;
        SELECT coalesce(jsonb_object_agg(k.kind, k.outcomes), '{}') INTO scans
          FROM (SELECT o.kind, jsonb_object_agg(o.outcome, o.n) AS outcomes
                  FROM (SELECT sc.kind, sc.outcome, count(*) AS n FROM scans sc
                         WHERE sc.at >= since GROUP BY sc.kind, sc.outcome) o
                 GROUP BY o.kind) k;
    ELSE
        SELECT count(*), count(DISTINCT r.member) INTO claimed, members_n
          FROM redemptions r WHERE r.batch_id = ANY (ids);
        -- batches do not overlap: a scan joins one range at most
        SELECT coalesce(jsonb_object_agg(k.kind, k.outcomes), '{}') INTO scans
          FROM (SELECT o.kind, jsonb_object_agg(o.outcome, o.n) AS outcomes
                  FROM (SELECT sc.kind, sc.outcome, count(*) AS n
                          FROM unnest(firsts, lasts) AS u(f, l)
                          JOIN scans sc ON sc.serial BETWEEN u.f AND u.l
                         WHERE sc.at >= since GROUP BY sc.kind, sc.outcome) o
                 GROUP BY o.kind) k;
    END IF;
    RETURN jsonb_build_object(
        'days', p_days,
        'products', (SELECT count(*) FROM products p WHERE brand_allowed(p_brands, p.brand)),
        'batches', (SELECT coalesce(jsonb_object_agg(b.status, b.n), '{}')
                      FROM (SELECT status, count(*) AS n FROM batches WHERE id = ANY (ids)
                             GROUP BY status) b),
        'codes_minted', (SELECT coalesce(sum(serial_last - serial_first + 1), 0) FROM batches
                          WHERE id = ANY (ids) AND status IN ('active', 'recalled')),
        'codes_claimed', claimed,
        'members', members_n,
        'points_held', held,
        'scans', scans);
END $$;

-- Distribute this database over its Citus cluster (docs/scaling.md): run once
-- on the coordinator, after the migrations, by packcode-gen db distribute.
-- Refused without Citus (a single PostgreSQL needs nothing); a second run
-- changes nothing. One transaction: all of it or none of it.
--   by serial, co-located:  redemptions, code_stats, pin_failures, scans,
--                           code_scanners, code_states (013_supply.sql)
--   by member, co-located:  members, ledger, spends
--   by subject:             pin_backoff (code:, member: and addr: subjects
--                           hashed over all shards; each row alone)
--   a reference table:      audit (a copy on every node: every change that
--                           writes it is then a two-phase commit, so an
--                           admin change on a member's shard and its audit
--                           row commit together or not at all)
--   the coordinator's own:  products, batches, serial_allocator, admin_tokens,
--                           brands, staff, staff_sessions, reports, and the
--                           webhook tables (webhooks, webhook_event_types,
--                           the outbox webhook_events, webhook_deliveries,
--                           webhook_attempts) (small,
--                           read and written only by the coordinator's
--                           functions, never joined to a distributed table in
--                           a write; their NOTIFY triggers kept)
-- ledger, spends and audit lose their append-only triggers (Citus
-- distributes no table with triggers); their UPDATE, DELETE and TRUNCATE are
-- revoked from everyone, their owner included, instead. Migrations after
-- this one must keep to what Citus can run on these tables (docs/scaling.md).
CREATE FUNCTION packcode_distribute() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    coordinator boolean;
    owner text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') THEN
        RAISE EXCEPTION 'this database has no Citus: a single PostgreSQL needs no distribution'
            USING ERRCODE = '0A000',
                  HINT = 'on a Citus coordinator: CREATE EXTENSION citus, add the workers, then distribute';
    END IF;
    IF packcode_distributed() THEN
        RETURN 'already distributed';
    END IF;
    EXECUTE 'SELECT citus_is_coordinator()' INTO coordinator;
    IF NOT coordinator THEN
        RAISE EXCEPTION 'this node is not the Citus coordinator'
            USING ERRCODE = '0A000',
                  HINT = 'SELECT citus_set_coordinator_host(...) on the coordinator, and run it there';
    END IF;

    DROP TRIGGER ledger_append_only ON ledger;
    DROP TRIGGER spends_append_only ON spends;
    DROP TRIGGER audit_append_only ON audit;
    SELECT pg_get_userbyid(c.relowner) INTO owner FROM pg_class c WHERE c.oid = 'ledger'::regclass;
    EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON ledger, spends, audit FROM PUBLIC, %I',
                   owner);

    -- one connection per node for the whole transaction
    PERFORM set_config('citus.multi_shard_modify_mode', 'sequential', true);
    PERFORM create_distributed_table('redemptions', 'serial');
    PERFORM create_distributed_table('code_stats', 'serial', colocate_with => 'redemptions');
    PERFORM create_distributed_table('pin_failures', 'serial', colocate_with => 'redemptions');
    PERFORM create_distributed_table('scans', 'serial', colocate_with => 'redemptions');
    PERFORM create_distributed_table('code_scanners', 'serial', colocate_with => 'redemptions');
    PERFORM create_distributed_table('code_states', 'serial', colocate_with => 'redemptions');
    PERFORM create_distributed_table('members', 'member');
    PERFORM create_distributed_table('ledger', 'member', colocate_with => 'members');
    PERFORM create_distributed_table('spends', 'member', colocate_with => 'members');
    PERFORM create_reference_table('audit');
    PERFORM create_distributed_table('pin_backoff', 'subject', colocate_with => 'none');
    PERFORM create_distributed_table('member_identities', 'hash', colocate_with => 'none');
    PERFORM create_distributed_table('sms_challenges', 'phone_hash', colocate_with => 'member_identities');
    PERFORM create_distributed_table('member_sessions', 'hash', colocate_with => 'member_identities');
    PERFORM create_distributed_table('member_consents', 'member', colocate_with => 'members');
    PERFORM create_distributed_table('sms_budgets', 'subject', colocate_with => 'none');
    PERFORM create_distributed_table('member_merges', 'from_member', colocate_with => 'members');
    PERFORM create_distributed_table('mall_orders', 'member', colocate_with => 'members');
    PERFORM create_distributed_table('referrals', 'referee', colocate_with => 'members');
    PERFORM create_reference_table('referral_codes');
    PERFORM create_reference_table('referral_rules');
    RETURN 'distributed: redemptions, code_stats, pin_failures, scans, code_scanners, code_states by serial; '
           'members, ledger, spends, member_consents, member_merges by member; pin_backoff, sms_budgets by subject; '
           'member_identities, sms_challenges, member_sessions by hash; audit on every node';
END $$;
