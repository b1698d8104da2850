-- 004_admin_api.sql: what the server's admin API runs. Each change is one
-- function call, so the change and its audit row commit together or not at
-- all; each first checks that its token is still live (a revoked token
-- changes nothing, whatever a server has cached). A refusal (unknown, wrong
-- state, not enough points) decides before anything is written: it leaves
-- no trace, not even an audit row.

-- Stamping last_used_at is bookkeeping: only changes that matter to the
-- servers' token cache (new, revoked, removed) tell them to reload.
DROP TRIGGER admin_tokens_changed ON admin_tokens;
CREATE TRIGGER admin_tokens_changed
    AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF name, hash, revoked_at ON admin_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_changed();

-- Points spent by partner systems, one row per (member, idempotency key): the
-- key makes a retried spend answer the first result instead of spending
-- again. Keyed by member, like ledger, so Citus co-locates the three.
-- ledger_id is the spend's ledger row (member, ledger_id), written in the
-- same transaction. Append-only, like the ledger: a deleted row would let
-- its key spend again.
CREATE TABLE spends (
    member          text NOT NULL REFERENCES members (member),
    idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 64),
    points          bigint NOT NULL CHECK (points > 0),
    reference       text CHECK (length(reference) <= 200),
    actor           text NOT NULL CHECK (length(actor) <= 100),
    ledger_id       bigint NOT NULL,
    balance_after   bigint NOT NULL CHECK (balance_after >= 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (member, idempotency_key)
);

CREATE FUNCTION spends_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'spends are append-only: % refused', TG_OP USING ERRCODE = '42501';
END $$;
CREATE TRIGGER spends_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON spends
    FOR EACH STATEMENT EXECUTE FUNCTION spends_append_only();

-- The name of live token p_token, holding it (FOR SHARE) until the caller's
-- transaction ends, so that a revocation waits for actions under way and no
-- action commits after its token's revocation did. SQLSTATE 28000 if revoked.
CREATE FUNCTION admin_actor(p_token bigint) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    n text;
BEGIN
    SELECT name INTO n FROM admin_tokens WHERE id = p_token AND revoked_at IS NULL FOR SHARE;
    IF n IS NULL THEN
        RAISE EXCEPTION 'admin token % is revoked', p_token USING ERRCODE = '28000';
    END IF;
    RETURN n;
END $$;

-- Add a product (the caller checked every field with lib/product.c's rules;
-- the CHECK constraints stand behind them). outcome: added | sku_exists | gtin_exists.
CREATE FUNCTION admin_product_add(p_token bigint, p_client inet, p_sku text, p_gtin text,
                                  p_name text, p_brand text, p_points integer)
RETURNS TABLE (outcome text, created_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    who text := admin_actor(p_token);
    at timestamptz;
BEGIN
    INSERT INTO products (sku, gtin, name, brand, points)
    VALUES (p_sku, p_gtin, p_name, coalesce(p_brand, ''), p_points)
    ON CONFLICT DO NOTHING
    RETURNING products.created_at INTO at;
    IF at IS NULL THEN
        RETURN QUERY SELECT CASE WHEN EXISTS (SELECT 1 FROM products WHERE sku = p_sku)
                                 THEN 'sku_exists' ELSE 'gtin_exists' END, NULL::timestamptz;
        RETURN;
    END IF;
    INSERT INTO audit (actor, action, target, detail, client)
    VALUES (who, 'product.add', p_sku,
            jsonb_build_object('gtin', p_gtin, 'name', p_name, 'brand', coalesce(p_brand, ''),
                               'points', p_points),
            p_client);
    RETURN QUERY SELECT 'added'::text, at;
END $$;

-- Recall an active batch ('recall') or return a recalled one to service
-- ('unrecall'). The batches trigger tells every server (NOTIFY), which
-- honour it within a second. outcome: done | unknown_batch | wrong_status
-- (status is then the batch's current one).
CREATE FUNCTION admin_batch_status(p_token bigint, p_client inet, p_batch bigint, p_action text,
                                   p_reason text)
RETURNS TABLE (outcome text, status text, previous text, changed_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    who text := admin_actor(p_token);
    from_status text;
    to_status text;
    cur text;
    at timestamptz;
BEGIN
    IF p_action = 'recall' THEN
        from_status := 'active';
        to_status := 'recalled';
    ELSIF p_action = 'unrecall' THEN
        from_status := 'recalled';
        to_status := 'active';
    ELSE
        RAISE EXCEPTION 'unknown batch action %', p_action USING ERRCODE = '22023';
    END IF;
    UPDATE batches SET status = to_status, status_changed_at = now(), status_reason = p_reason
     WHERE id = p_batch AND batches.status = from_status
    RETURNING batches.status_changed_at INTO at;
    IF at IS NULL THEN
        SELECT b.status INTO cur FROM batches b WHERE b.id = p_batch;
        RETURN QUERY SELECT CASE WHEN cur IS NULL THEN 'unknown_batch' ELSE 'wrong_status' END,
                            cur, NULL::text, NULL::timestamptz;
        RETURN;
    END IF;
    INSERT INTO audit (actor, action, target, detail, client)
    VALUES (who, 'batch.' || p_action, p_batch::text,
            jsonb_build_object('reason', p_reason, 'from', from_status, 'to', to_status), p_client);
    RETURN QUERY SELECT 'done'::text, to_status, from_status, at;
END $$;

-- Add (p_points > 0) or take away (p_points < 0) points with a reason: a
-- ledger row of kind 'adjust'. A positive adjustment may open the account.
-- outcome: adjusted | unknown_member | insufficient (balance is then the
-- current balance, which p_points would take below zero).
CREATE FUNCTION admin_adjust(p_token bigint, p_client inet, p_member text, p_points bigint,
                             p_reason text)
RETURNS TABLE (outcome text, balance bigint, ledger_id bigint, at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    who text := admin_actor(p_token);
    bal bigint;
    cur bigint;
    lid bigint;
BEGIN
    IF p_points = 0 THEN
        RAISE EXCEPTION 'an adjustment of 0 points' USING ERRCODE = '22023';
    END IF;
    IF p_points > 0 THEN
        INSERT INTO members AS m (member, balance) VALUES (p_member, p_points)
        ON CONFLICT (member) DO UPDATE SET balance = m.balance + excluded.balance
        RETURNING m.balance INTO bal;
    ELSE
        -- one statement: the row lock and the check together
        UPDATE members m SET balance = m.balance + p_points
         WHERE m.member = p_member AND m.balance + p_points >= 0
        RETURNING m.balance INTO bal;
        IF bal IS NULL THEN
            SELECT m.balance INTO cur FROM members m WHERE m.member = p_member;
            RETURN QUERY SELECT CASE WHEN cur IS NULL THEN 'unknown_member' ELSE 'insufficient' END,
                                cur, NULL::bigint, NULL::timestamptz;
            RETURN;
        END IF;
    END IF;
    INSERT INTO ledger (member, delta, balance_after, kind, reference)
    VALUES (p_member, p_points, bal, 'adjust', p_reason)
    RETURNING id INTO lid;
    INSERT INTO audit (actor, action, target, detail, client)
    VALUES (who, 'member.adjust', p_member,
            jsonb_build_object('points', p_points, 'reason', p_reason, 'balance_after', bal,
                               'ledger_id', lid),
            p_client);
    RETURN QUERY SELECT 'adjusted'::text, bal, lid, now();
END $$;

-- Spend p_points of a member's balance, once per (member, idempotency key).
-- The member's row lock comes first: it serialises every spend of that
-- member, so two requests with the same key cannot both spend (the second
-- finds the first's row once it has the lock), and the balance is read and
-- written under it. outcome: spent | repeat (the key was used with the same
-- request: the first result again) | key_reused (with another request, or by
-- another actor) | unknown_member | insufficient (balance is the current one).
-- A refused spend records nothing: its key can be used again.
CREATE FUNCTION admin_spend(p_token bigint, p_client inet, p_member text, p_key text,
                            p_points bigint, p_reference text)
RETURNS TABLE (outcome text, balance bigint, ledger_id bigint, at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    who text := admin_actor(p_token);
    cur bigint;
    s spends;
    lid bigint;
BEGIN
    IF p_points <= 0 THEN
        RAISE EXCEPTION 'a spend of % points', p_points USING ERRCODE = '22023';
    END IF;
    SELECT m.balance INTO cur FROM members m WHERE m.member = p_member FOR UPDATE;
    IF cur IS NULL THEN
        RETURN QUERY SELECT 'unknown_member'::text, NULL::bigint, NULL::bigint, NULL::timestamptz;
        RETURN;
    END IF;
    SELECT * INTO s FROM spends sp WHERE sp.member = p_member AND sp.idempotency_key = p_key;
    IF FOUND THEN
        IF s.points = p_points AND s.reference IS NOT DISTINCT FROM p_reference
           AND s.actor = who THEN
            RETURN QUERY SELECT 'repeat'::text, s.balance_after, s.ledger_id, s.created_at;
        ELSE
            RETURN QUERY SELECT 'key_reused'::text, NULL::bigint, NULL::bigint, s.created_at;
        END IF;
        RETURN;
    END IF;
    IF cur < p_points THEN
        RETURN QUERY SELECT 'insufficient'::text, cur, NULL::bigint, NULL::timestamptz;
        RETURN;
    END IF;
    UPDATE members m SET balance = m.balance - p_points WHERE m.member = p_member;
    INSERT INTO ledger (member, delta, balance_after, kind, reference)
    VALUES (p_member, -p_points, cur - p_points, 'spend', p_reference)
    RETURNING id INTO lid;
    INSERT INTO spends (member, idempotency_key, points, reference, actor, ledger_id, balance_after)
    VALUES (p_member, p_key, p_points, p_reference, who, lid, cur - p_points);
    INSERT INTO audit (actor, action, target, detail, client)
    VALUES (who, 'member.spend', p_member,
            jsonb_build_object('points', p_points, 'reference', p_reference,
                               'idempotency_key', p_key, 'balance_after', cur - p_points,
                               'ledger_id', lid),
            p_client);
    RETURN QUERY SELECT 'spent'::text, cur - p_points, lid, now();
END $$;

-- Print runs, newest first (keyset: ids below p_before), with their counts.
-- The counts are aggregated when asked, for the batches of the page only,
-- each from one index range: claims from redemptions_batch (an index-only
-- scan), scans from code_stats' primary key over the batch's serial range.
-- Nothing is added to the claim or scan write path (a per-batch counter
-- would be one hot row that every claim of the batch must lock), so the cost
-- is paid by the rare admin read, in proportion to the activity of the
-- batches it shows, never to the size of the tables. Sequential scans are
-- off for it: when one batch holds most claims, the planner would otherwise
-- count every batch of the page by reading all of redemptions.
CREATE FUNCTION admin_batches(p_before bigint, p_product text, p_limit integer)
RETURNS TABLE (id bigint, sku text, product_name text, key_id smallint, count bigint,
               status text, created_at timestamptz, printed_at timestamptz,
               status_changed_at timestamptz, status_reason text, factory text, line text,
               pin_required boolean, claims bigint, scans bigint, codes_scanned bigint)
LANGUAGE sql STABLE SET enable_seqscan = off SET jit = off AS $$
    -- the page first (materialised), so that only its batches are counted
    WITH page AS MATERIALIZED (
        SELECT * FROM batches b
         WHERE b.id < coalesce(p_before, 9223372036854775807)
           AND (p_product IS NULL OR b.product_sku = p_product)
         ORDER BY b.id DESC
         LIMIT p_limit)
    SELECT b.id, b.product_sku, p.name, b.key_id, b.serial_last - b.serial_first + 1, b.status,
           b.created_at, b.printed_at, b.status_changed_at, b.status_reason, b.factory, b.line,
           b.pin_required,
           (SELECT count(*) FROM redemptions r WHERE r.batch_id = b.id),
           s.scans, s.codes
      FROM page b
      JOIN products p ON p.sku = b.product_sku
      LEFT JOIN LATERAL (SELECT coalesce(sum(c.scan_count), 0)::bigint AS scans,
                                count(*) AS codes
                           FROM code_stats c
                          WHERE c.serial BETWEEN b.serial_first AND b.serial_last) s ON true
     ORDER BY b.id DESC
$$;
