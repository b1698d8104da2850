-- 006_write_path.sql: one write path. Every administrative change, from
-- packcode-gen or from the server's admin API, is one call of a function
-- here that makes the change and writes its audit row in one transaction.
-- Each takes the actor first ('cli:USER' from the command line, the token's
-- name from the admin API) and the client address (NULL from the command
-- line). A refusal decides before anything is written: no change, no audit
-- row. The admin_* functions of 004_admin_api.sql become thin wrappers that
-- turn a token into its actor, with their signatures and results unchanged.

-- The one INSERT into audit.
CREATE FUNCTION audit_append(p_actor text, p_client inet, p_action text, p_target text,
                             p_detail jsonb)
RETURNS bigint LANGUAGE sql AS $$
    INSERT INTO audit (actor, action, target, detail, client)
    VALUES (p_actor, p_action, p_target, p_detail, p_client)
    RETURNING id
$$;

-- Add a product (the caller checked every field with lib/product.c's rules;
-- the CHECK constraints stand behind them). outcome: added | sku_exists |
-- gtin_exists. Audited as product.add, target the SKU.
CREATE FUNCTION product_add(p_actor text, p_client inet, p_sku text, p_gtin text,
                            p_name text, p_brand text, p_points integer)
RETURNS TABLE (outcome text, created_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
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
    PERFORM audit_append(p_actor, p_client, 'product.add', p_sku,
                         jsonb_build_object('gtin', p_gtin, 'name', p_name,
                                            'brand', coalesce(p_brand, ''), 'points', p_points));
    RETURN QUERY SELECT 'added'::text, at;
END $$;

-- A new print run: p_count serials taken from the allocator for a batch in
-- status minting (allocate_batch of 001_core.sql). Audited as batch.create,
-- target the batch id. Call it as SELECT ... FROM batch_create(...).
CREATE FUNCTION batch_create(p_actor text, p_client inet, p_sku text, p_count bigint,
                             p_key_id smallint, p_factory text, p_line text, p_region text,
                             p_pin boolean)
RETURNS batches LANGUAGE plpgsql AS $$
DECLARE
    b batches;
BEGIN
    SELECT * INTO b FROM allocate_batch(p_sku, p_count, p_key_id, p_factory, p_line, p_region,
                                        p_pin);
    PERFORM audit_append(p_actor, p_client, 'batch.create', b.id::text,
                         jsonb_build_object('sku', b.product_sku, 'count', p_count,
                                            'key_id', b.key_id, 'serial_first', b.serial_first,
                                            'serial_last', b.serial_last, 'factory', b.factory,
                                            'line', b.line, 'region', b.region,
                                            'pin_required', b.pin_required));
    RETURN b;
END $$;

-- Move batch p_batch to status p_status. The moves, and their audit actions:
--   minting  -> active    batch.activate  (mint wrote every file: printed now)
--   minting  -> void      batch.void      (mint failed or was interrupted)
--   active   -> void      batch.void      (mint could not move its files into place)
--   active   -> recalled  batch.recall
--   recalled -> active    batch.unrecall
-- p_from, when not NULL, is the only status the batch may move from. The
-- audit row's target is the batch id, its detail {reason, from, to}.
-- outcome: done | unknown_batch | wrong_status (status is then the current one).
CREATE FUNCTION batch_set_status(p_actor text, p_client inet, p_batch bigint, p_status text,
                                 p_reason text, p_from text DEFAULT NULL)
RETURNS TABLE (outcome text, status text, previous text, changed_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    cur text;
    act text;
    at timestamptz;
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
    RETURNING b.status_changed_at INTO at;
    PERFORM audit_append(p_actor, p_client, act, p_batch::text,
                         jsonb_build_object('reason', p_reason, 'from', cur, 'to', p_status));
    RETURN QUERY SELECT 'done'::text, p_status, cur, at;
END $$;

-- A new admin API token, stored as the SHA-256 hash of its secret.
-- outcome: added (id is the new token's) | name_taken (the name has a live
-- token). Audited as token.add, target the name, detail {token_id}.
CREATE FUNCTION token_add(p_actor text, p_client inet, p_name text, p_hash bytea)
RETURNS TABLE (outcome text, id bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    tid bigint;
BEGIN
    INSERT INTO admin_tokens (name, hash) VALUES (p_name, p_hash)
    ON CONFLICT (name) WHERE revoked_at IS NULL DO NOTHING
    RETURNING admin_tokens.id INTO tid;
    IF tid IS NULL THEN
        RETURN QUERY SELECT 'name_taken'::text, NULL::bigint;
        RETURN;
    END IF;
    PERFORM audit_append(p_actor, p_client, 'token.add', p_name,
                         jsonb_build_object('token_id', tid));
    RETURN QUERY SELECT 'added'::text, tid;
END $$;

-- Revoke the live token of p_name. Its row lock waits for the admin actions
-- under way that hold it (admin_actor), so none commits after this.
-- outcome: revoked | unknown_token. Audited as token.revoke, target the name.
CREATE FUNCTION token_revoke(p_actor text, p_client inet, p_name text)
RETURNS TABLE (outcome text, id bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    tid bigint;
BEGIN
    UPDATE admin_tokens t SET revoked_at = now()
     WHERE t.name = p_name AND t.revoked_at IS NULL
    RETURNING t.id INTO tid;
    IF tid IS NULL THEN
        RETURN QUERY SELECT 'unknown_token'::text, NULL::bigint;
        RETURN;
    END IF;
    PERFORM audit_append(p_actor, p_client, 'token.revoke', p_name,
                         jsonb_build_object('token_id', tid));
    RETURN QUERY SELECT 'revoked'::text, tid;
END $$;

-- When admin tokens were last used (the server's batched bookkeeping, not an
-- administrative change: no audit row). p_at: seconds since the epoch.
CREATE FUNCTION token_used(p_ids bigint[], p_at double precision[])
RETURNS void LANGUAGE sql AS $$
    UPDATE admin_tokens t SET last_used_at = to_timestamp(u.at)
      FROM unnest(p_ids, p_at) AS u(id, at)
     WHERE t.id = u.id AND (t.last_used_at IS NULL OR t.last_used_at < to_timestamp(u.at))
$$;

-- A change of the keyring: the signing keys live in a file, not here, so
-- this writes only the audit row. packcode-gen calls it in a transaction it
-- commits once the keyring file is saved, so a change that failed leaves no
-- row. Actions: key.add (keygen; detail {previous}: the key it demoted to
-- verify-only, or null), key.retire and key.revoke (detail {from}: the key's
-- status before). Target: the key id.
CREATE FUNCTION key_audit(p_actor text, p_client inet, p_action text, p_key_id integer,
                          p_detail jsonb)
RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    IF p_action IS NULL OR p_action NOT IN ('key.add', 'key.retire', 'key.revoke') THEN
        RAISE EXCEPTION 'unknown key action %', p_action USING ERRCODE = '22023';
    END IF;
    IF p_key_id IS NULL OR p_key_id NOT BETWEEN 1 AND 127 THEN
        RAISE EXCEPTION 'key id % is not 1 to 127', p_key_id USING ERRCODE = '22023';
    END IF;
    RETURN audit_append(p_actor, p_client, p_action, p_key_id::text, p_detail);
END $$;

-- Add (p_points > 0) or take away (p_points < 0) points with a reason: a
-- ledger row of kind 'adjust'. A positive adjustment may open the account.
-- outcome: adjusted | unknown_member | insufficient (balance is then the
-- current balance, which p_points would take below zero). Audited as
-- member.adjust, target the member.
CREATE FUNCTION member_adjust(p_actor text, p_client inet, p_member text, p_points bigint,
                              p_reason text)
RETURNS TABLE (outcome text, balance bigint, ledger_id bigint, at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
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
    PERFORM audit_append(p_actor, p_client, 'member.adjust', p_member,
                         jsonb_build_object('points', p_points, 'reason', p_reason,
                                            'balance_after', bal, 'ledger_id', lid));
    RETURN QUERY SELECT 'adjusted'::text, bal, lid, now();
END $$;

-- Spend p_points of a member's balance, once per (member, idempotency key).
-- The member's row lock comes first: it serialises every spend of that
-- member, so two requests with the same key cannot both spend (the second
-- finds the first's row once it has the lock), and the balance is read and
-- written under it. outcome: spent | repeat (the key was used with the same
-- request: the first result again) | key_reused (with another request, or by
-- another actor) | unknown_member | insufficient (balance is the current one).
-- A refused spend records nothing: its key can be used again. Audited as
-- member.spend, target the member.
CREATE FUNCTION member_spend(p_actor text, p_client inet, p_member text, p_key text,
                             p_points bigint, p_reference text)
RETURNS TABLE (outcome text, balance bigint, ledger_id bigint, at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
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
           AND s.actor = p_actor THEN
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
    VALUES (p_member, p_key, p_points, p_reference, p_actor, lid, cur - p_points);
    PERFORM audit_append(p_actor, p_client, 'member.spend', p_member,
                         jsonb_build_object('points', p_points, 'reference', p_reference,
                                            'idempotency_key', p_key,
                                            'balance_after', cur - p_points, 'ledger_id', lid));
    RETURN QUERY SELECT 'spent'::text, cur - p_points, lid, now();
END $$;

-- The admin API's changes (004_admin_api.sql), now wrappers: admin_actor()
-- checks that the token is live, holds it until the transaction ends and
-- names the actor; the shared function above does the rest. Signatures,
-- results and audit rows as before.
CREATE OR REPLACE FUNCTION admin_product_add(p_token bigint, p_client inet, p_sku text,
                                             p_gtin text, p_name text, p_brand text,
                                             p_points integer)
RETURNS TABLE (outcome text, created_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    who text := admin_actor(p_token);
BEGIN
    RETURN QUERY SELECT * FROM product_add(who, p_client, p_sku, p_gtin, p_name, p_brand,
                                           p_points);
END $$;

-- 'recall' moves an active batch to recalled, 'unrecall' a recalled one back.
CREATE OR REPLACE FUNCTION admin_batch_status(p_token bigint, p_client inet, p_batch bigint,
                                              p_action text, p_reason text)
RETURNS TABLE (outcome text, status text, previous text, changed_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    who text := admin_actor(p_token);
BEGIN
    IF p_action = 'recall' THEN
        RETURN QUERY SELECT * FROM batch_set_status(who, p_client, p_batch, 'recalled',
                                                    p_reason, 'active');
    ELSIF p_action = 'unrecall' THEN
        RETURN QUERY SELECT * FROM batch_set_status(who, p_client, p_batch, 'active',
                                                    p_reason, 'recalled');
    ELSE
        RAISE EXCEPTION 'unknown batch action %', p_action USING ERRCODE = '22023';
    END IF;
END $$;

CREATE OR REPLACE FUNCTION admin_adjust(p_token bigint, p_client inet, p_member text,
                                        p_points bigint, p_reason text)
RETURNS TABLE (outcome text, balance bigint, ledger_id bigint, at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    who text := admin_actor(p_token);
BEGIN
    RETURN QUERY SELECT * FROM member_adjust(who, p_client, p_member, p_points, p_reason);
END $$;

CREATE OR REPLACE FUNCTION admin_spend(p_token bigint, p_client inet, p_member text, p_key text,
                                       p_points bigint, p_reference text)
RETURNS TABLE (outcome text, balance bigint, ledger_id bigint, at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    who text := admin_actor(p_token);
BEGIN
    RETURN QUERY SELECT * FROM member_spend(who, p_client, p_member, p_key, p_points,
                                            p_reference);
END $$;
