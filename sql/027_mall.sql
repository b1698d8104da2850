-- 027_mall.sql: the points mall (issue 13, item 4; docs/campaigns.md,
-- "Points mall"). A brand's rewards (mall_rewards: a points price, a stock)
-- ordered by signed-in members (mall_orders). An order is one transaction:
-- the member's row locked, then the reward's; the points spent through
-- member_spend (025: the ledger, spends, never a negative balance), the
-- stock taken (never below 0: the CHECK stands behind the test), the order
-- written, its audit row and its order.created event (the outbox of 009).
-- Its idempotency key is unique per member: the same key and body answer
-- the same order, another body is refused. A cancel (the member, while not
-- shipped) or a refund (staff) returns the points once, as a ledger row of
-- kind 'refund', under the order's row lock and a status change that
-- happens once; the stock comes back unless the order was shipped.
--
-- Locks, always in this order: the member's row, the order's, the
-- reward's (ship takes only the order's). No two functions take them the
-- other way round, so orders, cancels and refunds never deadlock.
--
-- The shipping address is personal data: the server seals it (AES-256-GCM
-- under the PII key, lib/pii.c, as member_identities.sealed) and keeps a
-- masked copy for staff without the pii scope; request_hash is an HMAC of
-- the request under the PII key (the idempotency check without the address
-- in clear).
--
-- Citus: mall_orders is distributed by member, co-located with members,
-- ledger and spends (packcode_distribute, 010), so an order's writes are
-- on the member's shard; mall_rewards stays the coordinator's (small,
-- written by admins, like campaigns and campaign_prizes), read and written
-- by its own statements, never joined to a distributed table.

-- On a deployment distributed before this migration (Citus): one
-- connection per node for the whole transaction, so that Citus can send the
-- functions below to the workers after the DDL on distributed tables.
DO $$
BEGIN
    IF packcode_distributed() THEN
        PERFORM set_config('citus.multi_shard_modify_mode', 'sequential', true);
    END IF;
END $$;

-- The ledger's kinds, and 'refund' (points an order gave back): added to
-- whatever the constraint allows (read from its definition, each kind in
-- quotes), so that another migration's kinds stay.
DO $$
DECLARE
    def text;
BEGIN
    SELECT pg_get_constraintdef(c.oid) INTO def FROM pg_constraint c
     WHERE c.conrelid = 'ledger'::regclass AND c.conname = 'ledger_kind_check';
    IF def NOT LIKE '%''refund''%' THEN
        ALTER TABLE ledger DROP CONSTRAINT ledger_kind_check;
        -- written as kind IN ('a', 'b'): PostgreSQL shows it as ARRAY['a'::text,
        -- ...], each kind quoted, which the next migration reads back the same way
        EXECUTE 'ALTER TABLE ledger ADD CONSTRAINT ledger_kind_check CHECK (kind IN ('
                || (SELECT string_agg(quote_literal(k), ', ')
                      FROM unnest(array_append(ARRAY(
                               SELECT m[1] FROM regexp_matches(def, '''([a-z_]+)''', 'g') m),
                               'refund')) k) || '))';
    END IF;
END $$;

CREATE TABLE mall_rewards (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    brand_id     bigint NOT NULL REFERENCES brands (id),
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description  text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
    price        bigint NOT NULL CHECK (price BETWEEN 1 AND 1000000000),
    stock        bigint NOT NULL CHECK (stock BETWEEN 0 AND 1000000000),
    active       boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    created_by   text NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mall_rewards_brand ON mall_rewards (brand_id, id);

CREATE SEQUENCE mall_order_ids;

-- status: placed -> shipped (staff) -> refunded (staff); placed ->
-- cancelled (the member) | refunded (staff). refund_ledger_id: the ledger
-- row that gave the points back (set once, with the status that closed it).
CREATE TABLE mall_orders (
    member           text NOT NULL CHECK (length(member) BETWEEN 1 AND 64),
    id               bigint NOT NULL,
    idempotency_key  text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 64),
    request_hash     bytea NOT NULL CHECK (length(request_hash) = 32),
    reward_id        bigint NOT NULL,
    brand_id         bigint NOT NULL,
    reward_name      text NOT NULL,
    points           bigint NOT NULL CHECK (points > 0),
    status           text NOT NULL DEFAULT 'placed'
                     CHECK (status IN ('placed', 'shipped', 'cancelled', 'refunded')),
    address_sealed   bytea CHECK (length(address_sealed) <= 4096), -- NULL once erased
    address_masked   jsonb NOT NULL,
    spend_ledger_id  bigint NOT NULL,
    refund_ledger_id bigint,
    stock_returned   boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now(),
    shipped_at       timestamptz,
    shipped_by       text,
    closed_at        timestamptz,
    closed_by        text,
    PRIMARY KEY (member, id),
    UNIQUE (member, idempotency_key),
    CHECK ((status IN ('cancelled', 'refunded')) = (refund_ledger_id IS NOT NULL))
);
CREATE INDEX mall_orders_id ON mall_orders (id);
CREATE INDEX mall_orders_brand ON mall_orders (brand_id, status, id);

INSERT INTO webhook_event_types (name, subject, description) VALUES
    ('order.created', 'member', 'a member ordered a reward of the points mall');

-- ---- JSON ----------------------------------------------------------------------------

CREATE FUNCTION mall_reward_json(r mall_rewards, p_full boolean) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
        'id', r.id, 'brand', (SELECT b.name FROM brands b WHERE b.id = r.brand_id),
        'name', r.name, 'description', r.description, 'points', r.price,
        'stock', r.stock, 'active', CASE WHEN p_full THEN r.active END,
        'created_at', CASE WHEN p_full THEN webhook_time(r.created_at) END,
        'created_by', CASE WHEN p_full THEN r.created_by END,
        'updated_at', CASE WHEN p_full THEN webhook_time(r.updated_at) END))
$$;

-- An order without its address (the server adds it: opened for the member
-- and for pii, else address_masked).
CREATE FUNCTION mall_order_json(o mall_orders) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
        'id', o.id, 'member', o.member,
        'reward', jsonb_build_object('id', o.reward_id, 'name', o.reward_name),
        'brand', (SELECT b.name FROM brands b WHERE b.id = o.brand_id),
        'points', o.points, 'status', o.status,
        'created_at', webhook_time(o.created_at), 'shipped_at', webhook_time(o.shipped_at),
        'closed_at', webhook_time(o.closed_at), 'stock_returned', o.stock_returned))
$$;

-- An order as staff see it: with the masked address (the server puts the
-- address in full in its place for the pii scope).
CREATE FUNCTION mall_order_staff_json(o mall_orders) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT mall_order_json(o) || jsonb_build_object('address', o.address_masked)
$$;

-- ---- the catalogue ------------------------------------------------------------------

-- A new reward from the admin API's body (its shape checked by
-- server/handlers/mall_input.c). outcome: created | unknown_brand |
-- forbidden_brand | bad_request. Audited as mall.reward_create.
CREATE FUNCTION admin_mall_reward_create(p_token bigint, p_client inet, p_body jsonb)
RETURNS TABLE (outcome text, reward jsonb)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    who record;
    bid bigint;
    r mall_rewards;
BEGIN
    SELECT * INTO who FROM admin_identity(p_token);
    SELECT b.id INTO bid FROM brands b WHERE b.name = p_body ->> 'brand';
    IF bid IS NULL THEN
        RETURN QUERY SELECT 'unknown_brand'::text, NULL::jsonb;
        RETURN;
    END IF;
    IF who.brand_ids IS NOT NULL AND NOT bid = ANY (who.brand_ids) THEN
        RETURN QUERY SELECT 'forbidden_brand'::text, NULL::jsonb;
        RETURN;
    END IF;
    BEGIN
        INSERT INTO mall_rewards AS x (brand_id, name, description, price, stock, active,
                                       created_by)
        VALUES (bid, p_body ->> 'name', coalesce(p_body ->> 'description', ''),
                (p_body ->> 'points')::bigint, (p_body ->> 'stock')::bigint,
                coalesce((p_body ->> 'active')::boolean, true), who.actor)
        RETURNING * INTO r;
    EXCEPTION WHEN check_violation OR not_null_violation OR numeric_value_out_of_range
                   OR invalid_text_representation THEN
        RETURN QUERY SELECT 'bad_request'::text, NULL::jsonb;
        RETURN;
    END;
    PERFORM audit_append(who.actor, p_client, 'mall.reward_create', r.id::text,
                         jsonb_build_object('brand', p_body ->> 'brand', 'name', r.name,
                                            'points', r.price, 'stock', r.stock,
                                            'active', r.active));
    RETURN QUERY SELECT 'created'::text, mall_reward_json(r, true);
END $$;

-- Change a reward: the fields the body has (name, description, points,
-- stock, active; stock is set, not added). outcome: updated |
-- unknown_reward (none, or not of the identity's brands) | bad_request.
-- Audited as mall.reward_update with the fields before and after.
CREATE FUNCTION admin_mall_reward_update(p_token bigint, p_client inet, p_id bigint,
                                         p_body jsonb)
RETURNS TABLE (outcome text, reward jsonb)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    who record;
    old mall_rewards;
    r mall_rewards;
BEGIN
    SELECT * INTO who FROM admin_identity(p_token);
    SELECT * INTO old FROM mall_rewards x WHERE x.id = p_id FOR UPDATE;
    IF NOT FOUND OR (who.brand_ids IS NOT NULL AND NOT old.brand_id = ANY (who.brand_ids)) THEN
        RETURN QUERY SELECT 'unknown_reward'::text, NULL::jsonb;
        RETURN;
    END IF;
    BEGIN
        UPDATE mall_rewards x
           SET name = coalesce(p_body ->> 'name', x.name),
               description = coalesce(p_body ->> 'description', x.description),
               price = coalesce((p_body ->> 'points')::bigint, x.price),
               stock = coalesce((p_body ->> 'stock')::bigint, x.stock),
               active = coalesce((p_body ->> 'active')::boolean, x.active),
               updated_at = now()
         WHERE x.id = p_id
        RETURNING * INTO r;
    EXCEPTION WHEN check_violation OR not_null_violation OR numeric_value_out_of_range
                   OR invalid_text_representation THEN
        RETURN QUERY SELECT 'bad_request'::text, NULL::jsonb;
        RETURN;
    END;
    PERFORM audit_append(who.actor, p_client, 'mall.reward_update', p_id::text,
                         jsonb_build_object('before', mall_reward_json(old, true) - 'updated_at',
                                            'after', mall_reward_json(r, true) - 'updated_at'));
    RETURN QUERY SELECT 'updated'::text, mall_reward_json(r, true);
END $$;

-- The rewards of the brands p_brands may see (NULL: all), newest first.
CREATE FUNCTION admin_mall_rewards(p_brands bigint[]) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT coalesce(jsonb_agg(mall_reward_json(r, true) ORDER BY r.id DESC), '[]'::jsonb)
      FROM mall_rewards r WHERE p_brands IS NULL OR r.brand_id = ANY (p_brands)
$$;

-- What anyone may see: the active rewards with stock, of one brand (by
-- name) or every brand (NULL), by brand then id.
CREATE FUNCTION mall_public(p_brand text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT coalesce(jsonb_agg(mall_reward_json(r, false) ORDER BY r.brand_id, r.id), '[]'::jsonb)
      FROM mall_rewards r
     WHERE r.active AND r.stock > 0
       AND (p_brand IS NULL OR r.brand_id = (SELECT b.id FROM brands b WHERE b.name = p_brand))
$$;

-- ---- ordering -----------------------------------------------------------------------

-- A member's order of reward p_reward, under idempotency key p_key
-- (p_hash: the request's HMAC, the same for the same body). outcome:
-- created | repeat (the key's order, the same request) | key_reused (the
-- key's order was another request) | unknown_reward (none, or not active)
-- | out_of_stock | insufficient_points. balance: the member's after it.
-- Nothing is written but for created: an order, its spend (ledger, spends,
-- spend_days, audit member.spend), the stock taken, audit order.create and
-- the order.created event.
CREATE FUNCTION mall_order(p_member text, p_key text, p_reward bigint, p_hash bytea,
                           p_sealed bytea, p_masked jsonb, p_client inet)
RETURNS TABLE (outcome text, balance bigint, ord jsonb, sealed bytea)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    actor text := 'member:' || p_member;
    cur bigint;
    o mall_orders;
    rw mall_rewards;
    oid bigint;
    sp record;
    bname text;
BEGIN
    -- 1. the member's row: a member's orders (and cancels) one at a time
    SELECT m.balance INTO cur FROM members m WHERE m.member = p_member FOR UPDATE;
    SELECT * INTO o FROM mall_orders x WHERE x.member = p_member AND x.idempotency_key = p_key;
    IF FOUND THEN
        IF o.request_hash = p_hash THEN
            RETURN QUERY SELECT 'repeat'::text, cur, mall_order_json(o), o.address_sealed;
        ELSE
            RETURN QUERY SELECT 'key_reused'::text, cur, NULL::jsonb, NULL::bytea;
        END IF;
        RETURN;
    END IF;
    -- 2. the reward's row: its orders one at a time, the stock read locked
    SELECT * INTO rw FROM mall_rewards r WHERE r.id = p_reward FOR UPDATE;
    IF NOT FOUND OR NOT rw.active THEN
        RETURN QUERY SELECT 'unknown_reward'::text, cur, NULL::jsonb, NULL::bytea;
        RETURN;
    END IF;
    IF rw.stock < 1 THEN
        RETURN QUERY SELECT 'out_of_stock'::text, cur, NULL::jsonb, NULL::bytea;
        RETURN;
    END IF;
    IF coalesce(cur, 0) < rw.price THEN
        RETURN QUERY SELECT 'insufficient_points'::text, coalesce(cur, 0), NULL::jsonb,
                            NULL::bytea;
        RETURN;
    END IF;
    -- 3. the points, as every spend: its own key, the order's id
    oid := nextval('mall_order_ids');
    SELECT * INTO sp FROM member_spend(actor, p_client, p_member, 'order:' || oid, rw.price,
                                       'mall order ' || oid);
    IF sp.outcome <> 'spent' THEN -- cannot happen: the member's row is held since step 1
        RAISE EXCEPTION 'mall order %: spend %', oid, sp.outcome USING ERRCODE = '40001';
    END IF;
    UPDATE mall_rewards r SET stock = r.stock - 1 WHERE r.id = p_reward;
    INSERT INTO mall_orders (member, id, idempotency_key, request_hash, reward_id, brand_id,
                             reward_name, points, address_sealed, address_masked,
                             spend_ledger_id)
    VALUES (p_member, oid, p_key, p_hash, rw.id, rw.brand_id, rw.name, rw.price, p_sealed,
            p_masked, sp.ledger_id)
    RETURNING * INTO o;
    PERFORM audit_append(actor, p_client, 'order.create', oid::text,
                         jsonb_build_object('reward', rw.id, 'points', rw.price,
                                            'ledger_id', sp.ledger_id,
                                            'stock_after', rw.stock - 1));
    IF webhook_wanted('order.created') THEN
        SELECT b.name INTO bname FROM brands b WHERE b.id = rw.brand_id;
        PERFORM webhook_emit('order.created', ARRAY['member:' || p_member], ARRAY[bname],
                             ARRAY[jsonb_build_object('order', oid, 'member', p_member,
                                                      'reward', rw.id, 'reward_name', rw.name,
                                                      'points', rw.price,
                                                      'address', p_masked,
                                                      'created_at', webhook_time(o.created_at))]);
    END IF;
    RETURN QUERY SELECT 'created'::text, sp.balance, mall_order_json(o), o.address_sealed;
END $$;

-- Give an order's points back (and its stock unless shipped), closing it
-- as p_status ('cancelled' or 'refunded') by p_actor. The caller holds the
-- member's row and the order's (in that order). Returns the order after.
CREATE FUNCTION mall_order_close(o mall_orders, p_status text, p_actor text, p_client inet)
RETURNS mall_orders
LANGUAGE plpgsql AS $$
DECLARE
    cur bigint;
    lid bigint;
    back boolean := o.status = 'placed';
    t timestamptz := now();
    after mall_orders;
BEGIN
    UPDATE members m SET balance = m.balance + o.points WHERE m.member = o.member
    RETURNING m.balance INTO cur;
    INSERT INTO ledger (member, delta, balance_after, kind, reference)
    VALUES (o.member, o.points, cur, 'refund', 'mall order ' || o.id || ' ' || p_status)
    RETURNING id INTO lid;
    IF back THEN
        UPDATE mall_rewards r SET stock = r.stock + 1 WHERE r.id = o.reward_id;
    END IF;
    UPDATE mall_orders x SET status = p_status, refund_ledger_id = lid, stock_returned = back,
                             closed_at = t, closed_by = p_actor
     WHERE x.member = o.member AND x.id = o.id
    RETURNING * INTO after;
    PERFORM audit_append(p_actor, p_client,
                         CASE p_status WHEN 'cancelled' THEN 'order.cancel' ELSE 'order.refund' END,
                         o.id::text,
                         jsonb_build_object('member', o.member, 'points', o.points,
                                            'ledger_id', lid, 'balance_after', cur,
                                            'stock_returned', back, 'was', o.status));
    RETURN after;
END $$;

-- The member cancels their order p_id while it is placed. outcome:
-- cancelled | unknown_order | shipped | closed (cancelled or refunded
-- already: nothing happens twice).
CREATE FUNCTION mall_order_cancel(p_member text, p_id bigint, p_client inet)
RETURNS TABLE (outcome text, balance bigint, ord jsonb, sealed bytea)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    o mall_orders;
    cur bigint;
BEGIN
    PERFORM 1 FROM members m WHERE m.member = p_member FOR UPDATE;
    SELECT * INTO o FROM mall_orders x WHERE x.member = p_member AND x.id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unknown_order'::text, NULL::bigint, NULL::jsonb, NULL::bytea;
        RETURN;
    END IF;
    IF o.status <> 'placed' THEN
        SELECT m.balance INTO cur FROM members m WHERE m.member = p_member;
        RETURN QUERY SELECT CASE o.status WHEN 'shipped' THEN 'shipped' ELSE 'closed' END,
                            cur, mall_order_json(o), o.address_sealed;
        RETURN;
    END IF;
    o := mall_order_close(o, 'cancelled', 'member:' || p_member, p_client);
    SELECT m.balance INTO cur FROM members m WHERE m.member = p_member;
    RETURN QUERY SELECT 'cancelled'::text, cur, mall_order_json(o), o.address_sealed;
END $$;

-- The member an order id belongs to (orders are keyed by member; the id is
-- unique by its sequence), if the identity's brands p_brands may see it.
-- PL/pgSQL: Citus plans no parameters of an SQL function over a
-- distributed table.
CREATE FUNCTION mall_order_member(p_id bigint, p_brands bigint[]) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    m text;
BEGIN
    SELECT x.member INTO m FROM mall_orders x
     WHERE x.id = p_id AND (p_brands IS NULL OR x.brand_id = ANY (p_brands));
    RETURN m;
END $$;

-- Staff ship (p_action 'ship') or refund ('refund') order p_id. outcome:
-- shipped | refunded | unknown_order (none, or not of the identity's
-- brands) | shipped_already (ship of a shipped order) | closed (cancelled
-- or refunded: nothing happens twice). Audited as order.ship, order.refund.
CREATE FUNCTION admin_mall_order_act(p_token bigint, p_client inet, p_id bigint, p_action text)
RETURNS TABLE (outcome text, ord jsonb, sealed bytea)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    who record;
    m text;
    o mall_orders;
    t timestamptz := now();
BEGIN
    SELECT * INTO who FROM admin_identity(p_token);
    m := mall_order_member(p_id, who.brand_ids);
    IF m IS NULL THEN
        RETURN QUERY SELECT 'unknown_order'::text, NULL::jsonb, NULL::bytea;
        RETURN;
    END IF;
    IF p_action = 'refund' THEN
        PERFORM 1 FROM members mb WHERE mb.member = m FOR UPDATE;
    END IF;
    SELECT * INTO o FROM mall_orders x WHERE x.member = m AND x.id = p_id FOR UPDATE;
    IF o.status IN ('cancelled', 'refunded') THEN
        RETURN QUERY SELECT 'closed'::text, mall_order_staff_json(o), o.address_sealed;
        RETURN;
    END IF;
    IF p_action = 'ship' THEN
        IF o.status = 'shipped' THEN
            RETURN QUERY SELECT 'shipped_already'::text, mall_order_staff_json(o), o.address_sealed;
            RETURN;
        END IF;
        UPDATE mall_orders x SET status = 'shipped', shipped_at = t, shipped_by = who.actor
         WHERE x.member = m AND x.id = p_id
        RETURNING * INTO o;
        PERFORM audit_append(who.actor, p_client, 'order.ship', p_id::text,
                             jsonb_build_object('member', m));
        RETURN QUERY SELECT 'shipped'::text, mall_order_staff_json(o), o.address_sealed;
        RETURN;
    END IF;
    o := mall_order_close(o, 'refunded', who.actor, p_client);
    RETURN QUERY SELECT 'refunded'::text, mall_order_staff_json(o), o.address_sealed;
END $$;

-- ---- reading orders ----------------------------------------------------------------

-- The reads take the rows first and make their JSON apart (a loop): on
-- Citus the rows come from the member's shard or every shard, and the JSON
-- (brands, the coordinator's) is made on the coordinator.

-- A member's orders, newest first, before order id p_before (NULL: the
-- newest), p_limit of them.
CREATE FUNCTION mall_orders_of(p_member text, p_before bigint, p_limit integer)
RETURNS TABLE (ord jsonb, sealed bytea)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    x mall_orders;
BEGIN
    FOR x IN SELECT * FROM mall_orders o
              WHERE o.member = p_member AND (p_before IS NULL OR o.id < p_before)
              ORDER BY o.id DESC LIMIT p_limit LOOP
        ord := mall_order_json(x);
        sealed := x.address_sealed;
        RETURN NEXT;
    END LOOP;
END $$;

-- The orders the brands p_brands may see (NULL: all), of status p_status
-- (NULL: any), newest first, before order id p_before, p_limit of them; the
-- masked address in ord.
CREATE FUNCTION admin_mall_orders(p_brands bigint[], p_status text, p_before bigint,
                                  p_limit integer)
RETURNS TABLE (ord jsonb, sealed bytea)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    x mall_orders;
BEGIN
    FOR x IN SELECT * FROM mall_orders o
              WHERE (p_brands IS NULL OR o.brand_id = ANY (p_brands))
                AND (p_status IS NULL OR o.status = p_status)
                AND (p_before IS NULL OR o.id < p_before)
              ORDER BY o.id DESC LIMIT p_limit LOOP
        ord := mall_order_staff_json(x);
        sealed := x.address_sealed;
        RETURN NEXT;
    END LOOP;
END $$;

-- Staff read addresses in full (the pii scope): audited, how many.
CREATE FUNCTION admin_mall_pii_read(p_token bigint, p_client inet, p_orders bigint[])
RETURNS bigint
LANGUAGE sql AS $$
    SELECT audit_append(admin_actor(p_token), p_client, 'order.pii_read',
                        array_to_string(p_orders, ','),
                        jsonb_build_object('orders', cardinality(p_orders)))
$$;

-- ---- erasure ----------------------------------------------------------------------

-- member_erase of 011_members.sql, and the member's shipping addresses
-- with it: sealed and masked copies gone (the orders stay, as the ledger
-- does, under the opaque key). The audit row counts them.
CREATE OR REPLACE FUNCTION member_erase(p_member text, p_actor text, p_client inet)
RETURNS TABLE (outcome text, identities integer)
LANGUAGE plpgsql AS $$
DECLARE
    t timestamptz := now();
    n integer;
    a integer;
BEGIN
    PERFORM 1 FROM members m WHERE m.member = p_member FOR UPDATE;
    DELETE FROM member_identities i WHERE i.member = p_member;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 AND NOT FOUND THEN
        RETURN QUERY SELECT 'unknown_member'::text, NULL::integer;
        RETURN;
    END IF;
    DELETE FROM member_consents c WHERE c.member = p_member;
    UPDATE member_sessions s SET revoked_at = t WHERE s.member = p_member AND s.revoked_at IS NULL;
    UPDATE mall_orders o SET address_sealed = NULL, address_masked = '{"erased":true}'::jsonb
     WHERE o.member = p_member AND o.address_sealed IS NOT NULL;
    GET DIAGNOSTICS a = ROW_COUNT;
    PERFORM audit_append(p_actor, p_client, 'member.erase', p_member,
                         jsonb_build_object('identities', n, 'addresses', a));
    RETURN QUERY SELECT 'erased'::text, n;
END $$;

-- ---- Citus ------------------------------------------------------------------------

-- A deployment distributed before this migration: mall_orders distributed
-- now, as packcode_distribute() (010) does for a new one.
DO $$
BEGIN
    IF packcode_distributed() THEN
        PERFORM create_distributed_table('mall_orders', 'member', colocate_with => 'members');
    END IF;
END $$;
