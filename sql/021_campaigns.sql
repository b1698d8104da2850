-- Campaigns and instant-win prizes (docs/campaigns.md): a brand's dated,
-- regional rules that change what a claim earns, applied inside the claim's
-- transaction by claim_many (redefined here, both paths) so that the group
-- commit stays and nothing is awarded twice or beyond a prize's count.
--
-- The rule tables (campaigns, campaign_prizes) are small and written by
-- admins; the servers cache campaigns through NOTIFY packcode_catalog (the
-- landing page's link to a campaign's rules). What claims write beside
-- their redemption: campaign_claims (which campaign gave what, and the prize
-- won), campaign_member_days (the per member per day counts of the daily
-- limit), member_brand_claims (the member's claims of the brand, for the
-- first-claim bonus and the ladder; kept while a campaign needs it). On
-- Citus all of them stay on the coordinator, like batches and products.

-- The scope campaigns (lib/scope.h): admin tokens and staff may hold it.
ALTER TABLE admin_tokens DROP CONSTRAINT admin_tokens_scopes,
    ADD CONSTRAINT admin_tokens_scopes CHECK (
        cardinality(scopes) >= 1 AND
        scopes <@ ARRAY['read', 'catalog', 'operate', 'points', 'claims', 'pii', 'export', 'admin',
                        'campaigns']);
ALTER TABLE staff DROP CONSTRAINT staff_scopes_check,
    ADD CONSTRAINT staff_scopes_check CHECK (
        cardinality(scopes) >= 1 AND
        scopes <@ ARRAY['read', 'catalog', 'operate', 'points', 'claims', 'pii', 'export', 'admin',
                        'campaigns']);

CREATE TABLE campaigns (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    brand_id     bigint NOT NULL REFERENCES brands (id),
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    starts_at    timestamptz NOT NULL,
    ends_at      timestamptz NOT NULL,
    ended_at     timestamptz,            -- ended by an admin before ends_at
    skus         text[],                 -- NULL, with batch_ids NULL: every product of the brand
    batch_ids    bigint[],
    regions      text[],                 -- ISO 3166-1 or 3166-2 codes; NULL: everywhere
    multiplier   numeric(6, 2) NOT NULL DEFAULT 1 CHECK (multiplier >= 1 AND multiplier <= 100),
    bonus        integer NOT NULL DEFAULT 0 CHECK (bonus BETWEEN 0 AND 1000000),
    first_bonus  integer NOT NULL DEFAULT 0 CHECK (first_bonus BETWEEN 0 AND 1000000),
    ladder_every integer CHECK (ladder_every BETWEEN 2 AND 1000000),
    ladder_bonus integer NOT NULL DEFAULT 0 CHECK (ladder_bonus BETWEEN 0 AND 1000000),
    daily_limit  integer CHECK (daily_limit BETWEEN 1 AND 1000000),
    -- the draw's key: 32 random bytes, secret until the campaign ends; its
    -- SHA-256 published from the start; the HMAC's two padded key blocks
    secret       bytea NOT NULL CHECK (length(secret) = 32),
    secret_hash  text NOT NULL,
    k_ipad       bytea NOT NULL,
    k_opad       bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    created_by   text NOT NULL,
    CHECK (ends_at > starts_at),
    CHECK (ladder_every IS NULL OR ladder_bonus > 0)
);
CREATE INDEX campaigns_brand ON campaigns (brand_id, id);

-- Instant-win prize tiers: probability in parts per million of each claim
-- the campaign applies to; remaining never below zero (the check holds it).
CREATE TABLE campaign_prizes (
    campaign_id  bigint NOT NULL REFERENCES campaigns (id),
    tier         integer NOT NULL CHECK (tier BETWEEN 1 AND 20),
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    total        integer NOT NULL CHECK (total BETWEEN 1 AND 100000000),
    remaining    integer NOT NULL CHECK (remaining >= 0 AND remaining <= total),
    ppm          integer NOT NULL CHECK (ppm BETWEEN 1 AND 1000000),
    PRIMARY KEY (campaign_id, tier)
);

-- One row per claim and campaign that applied to it: the multiplier and
-- the bonus points it gave, the prize tier drawn and won (NULL: none).
CREATE TABLE campaign_claims (
    serial       bigint NOT NULL,
    campaign_id  bigint NOT NULL,
    member       text NOT NULL,
    multiplier   numeric(6, 2) NOT NULL,
    bonus        integer NOT NULL,
    prize_tier   integer,
    claimed_at   timestamptz NOT NULL,
    PRIMARY KEY (serial, campaign_id)
);
CREATE INDEX campaign_claims_campaign ON campaign_claims (campaign_id, serial);

CREATE TABLE campaign_member_days (
    campaign_id  bigint NOT NULL,
    member       text NOT NULL,
    day          date NOT NULL,
    claims       integer NOT NULL CHECK (claims >= 0),
    PRIMARY KEY (campaign_id, member, day)
);

CREATE TABLE member_brand_claims (
    member       text NOT NULL,
    brand_id     bigint NOT NULL,
    claims       bigint NOT NULL CHECK (claims >= 0),
    PRIMARY KEY (member, brand_id)
);

CREATE TRIGGER campaigns_changed AFTER INSERT OR UPDATE OR DELETE ON campaigns
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_changed();

-- ---- the draw -------------------------------------------------------------------

-- HMAC-SHA256 (RFC 2104) from its two padded key blocks: anyone with the
-- secret computes the same with any HMAC library.
CREATE FUNCTION campaign_hmac(p_ipad bytea, p_opad bytea, p_message text) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT sha256(p_opad || sha256(p_ipad || convert_to(p_message, 'UTF8')))
$$;

-- The draw's number: the HMAC's first four bytes as an unsigned integer, in
-- [0, 2^32). A claim wins tier k when
--   (ppm_1 + ... + ppm_{k-1}) * 2^32 <= v * 10^6 < (ppm_1 + ... + ppm_k) * 2^32
-- (tiers in order), so tier k's chance is ppm_k / 10^6 to within 2^-32.
CREATE FUNCTION campaign_draw_value(p_hmac bytea) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (get_byte(p_hmac, 0)::bigint << 24) | (get_byte(p_hmac, 1)::bigint << 16)
         | (get_byte(p_hmac, 2)::bigint << 8) | get_byte(p_hmac, 3)::bigint
$$;

-- The tier a draw value falls in for a campaign (NULL: no prize), whatever
-- is left of it: claim_many then gives it only while some remain.
CREATE FUNCTION campaign_tier_of(p_campaign bigint, p_value bigint) RETURNS integer
LANGUAGE sql STABLE AS $$
    SELECT min(x.tier) FROM (
        SELECT p.tier, sum(p.ppm) OVER (ORDER BY p.tier) AS cum
          FROM campaign_prizes p WHERE p.campaign_id = p_campaign) x
     WHERE p_value * 1000000 < x.cum * 4294967296
$$;

-- ---- the write path ---------------------------------------------------------------

-- The padded key blocks of HMAC-SHA256 for a 32-byte key.
CREATE FUNCTION campaign_pad(p_key bytea, p_byte integer) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    out bytea := decode(repeat(lpad(to_hex(p_byte), 2, '0'), 64), 'hex');
BEGIN
    FOR i IN 0 .. length(p_key) - 1 LOOP
        out := set_byte(out, i, get_byte(p_key, i) # p_byte);
    END LOOP;
    RETURN out;
END $$;

-- A campaign as the admin API and the rules page show it; p_full adds what
-- only staff see (who made it, counts).
CREATE FUNCTION campaign_json(p_id bigint, p_full boolean) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
        'id', c.id, 'brand', b.name, 'name', c.name,
        'starts_at', webhook_time(c.starts_at), 'ends_at', webhook_time(c.ends_at),
        'ended_at', webhook_time(c.ended_at),
        'status', CASE WHEN c.ended_at IS NOT NULL OR c.ends_at <= now() THEN 'ended'
                       WHEN c.starts_at > now() THEN 'scheduled' ELSE 'active' END,
        'products', to_jsonb(c.skus), 'batches', to_jsonb(c.batch_ids),
        'regions', to_jsonb(c.regions),
        'multiplier', c.multiplier, 'bonus', c.bonus, 'first_claim_bonus', c.first_bonus,
        'ladder', CASE WHEN c.ladder_every IS NOT NULL THEN
                      jsonb_build_object('every', c.ladder_every, 'bonus', c.ladder_bonus) END,
        'daily_limit', c.daily_limit,
        'prizes', (SELECT jsonb_agg(jsonb_build_object(
                                'tier', p.tier, 'name', p.name, 'count', p.total,
                                'remaining', p.remaining, 'probability_ppm', p.ppm)
                            ORDER BY p.tier)
                     FROM campaign_prizes p WHERE p.campaign_id = c.id),
        'secret_sha256', c.secret_hash,
        'secret', CASE WHEN c.ended_at IS NOT NULL OR c.ends_at <= now()
                       THEN encode(c.secret, 'hex') END,
        'created_at', CASE WHEN p_full THEN webhook_time(c.created_at) END,
        'created_by', CASE WHEN p_full THEN c.created_by END,
        'claims', CASE WHEN p_full THEN (SELECT count(*) FROM campaign_claims x
                                          WHERE x.campaign_id = c.id) END))
      FROM campaigns c JOIN brands b ON b.id = c.brand_id
     WHERE c.id = p_id
$$;

-- Create a campaign from the admin API's body (checked in shape by
-- server/handlers/campaigns_input.c; its values here). outcome: created |
-- bad_request (message says why) | unknown_brand | forbidden_brand.
-- Audited as campaign.create (the secret's hash, never the secret).
CREATE FUNCTION campaign_create(p_actor text, p_client inet, p_body jsonb, p_secret bytea,
                                p_brand_ids bigint[])
RETURNS TABLE (outcome text, message text, campaign jsonb)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    bid bigint;
    cid bigint;
    v_skus text[];
    v_batches bigint[];
    v_regions text[];
    v_starts timestamptz;
    v_ends timestamptz;
    tiers jsonb := coalesce(p_body -> 'prizes', '[]'::jsonb);
    sum_ppm bigint;
    bad text;
    counting boolean;
BEGIN
    SELECT b.id INTO bid FROM brands b WHERE b.name = p_body ->> 'brand';
    IF bid IS NULL THEN
        RETURN QUERY SELECT 'unknown_brand'::text, 'no such brand'::text, NULL::jsonb;
        RETURN;
    END IF;
    IF p_brand_ids IS NOT NULL AND NOT bid = ANY (p_brand_ids) THEN
        RETURN QUERY SELECT 'forbidden_brand'::text, 'not one of your brands'::text, NULL::jsonb;
        RETURN;
    END IF;
    BEGIN
        v_starts := coalesce((p_body ->> 'starts_at')::timestamptz, now());
        v_ends := (p_body ->> 'ends_at')::timestamptz;
    EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow THEN
        RETURN QUERY SELECT 'bad_request'::text,
                            'starts_at and ends_at are ISO 8601 times'::text, NULL::jsonb;
        RETURN;
    END;
    IF v_ends IS NULL OR v_ends <= v_starts OR v_ends <= now() THEN
        RETURN QUERY SELECT 'bad_request'::text,
                            'ends_at is a time after starts_at, in the future'::text, NULL::jsonb;
        RETURN;
    END IF;
    SELECT array_agg(x ORDER BY x) INTO v_skus FROM jsonb_array_elements_text(p_body -> 'products') x;
    SELECT array_agg(x::bigint ORDER BY x::bigint) INTO v_batches
      FROM jsonb_array_elements_text(p_body -> 'batches') x;
    SELECT array_agg(x ORDER BY x) INTO v_regions FROM jsonb_array_elements_text(p_body -> 'regions') x;
    SELECT s INTO bad FROM unnest(v_skus) s
     WHERE NOT EXISTS (SELECT 1 FROM products p JOIN brands b ON b.name = p.brand
                        WHERE p.sku = s AND b.id = bid) LIMIT 1;
    IF bad IS NOT NULL THEN
        RETURN QUERY SELECT 'bad_request'::text,
                            format('product %s is not one of the brand''s', bad), NULL::jsonb;
        RETURN;
    END IF;
    SELECT s::text INTO bad FROM unnest(v_batches) s
     WHERE NOT EXISTS (SELECT 1 FROM batches bt JOIN products p ON p.sku = bt.product_sku
                         JOIN brands b ON b.name = p.brand WHERE bt.id = s AND b.id = bid) LIMIT 1;
    IF bad IS NOT NULL THEN
        RETURN QUERY SELECT 'bad_request'::text,
                            format('print run %s is not one of the brand''s', bad), NULL::jsonb;
        RETURN;
    END IF;
    SELECT s INTO bad FROM unnest(v_regions) s
     WHERE s !~ '^[A-Z]{2}(-[A-Z0-9]{1,3})?$' LIMIT 1;
    IF bad IS NOT NULL THEN
        RETURN QUERY SELECT 'bad_request'::text,
                            format('region %s is not an ISO 3166-1 or 3166-2 code (CN, CN-GD)',
                                   bad), NULL::jsonb;
        RETURN;
    END IF;
    SELECT sum((t ->> 'probability_ppm')::bigint) INTO sum_ppm FROM jsonb_array_elements(tiers) t;
    IF sum_ppm > 1000000 THEN
        RETURN QUERY SELECT 'bad_request'::text,
                            'the prizes'' probabilities add up to more than 1,000,000 ppm'::text,
                            NULL::jsonb;
        RETURN;
    END IF;
    BEGIN
        INSERT INTO campaigns AS c (brand_id, name, starts_at, ends_at, skus, batch_ids, regions,
                                    multiplier, bonus, first_bonus, ladder_every, ladder_bonus,
                                    daily_limit, secret, secret_hash, k_ipad, k_opad, created_by)
        VALUES (bid, p_body ->> 'name', v_starts, v_ends, v_skus, v_batches, v_regions,
                coalesce((p_body ->> 'multiplier')::numeric, 1),
                coalesce((p_body ->> 'bonus')::integer, 0),
                coalesce((p_body ->> 'first_claim_bonus')::integer, 0),
                (p_body #>> '{ladder,every}')::integer,
                coalesce((p_body #>> '{ladder,bonus}')::integer, 0),
                (p_body ->> 'daily_limit')::integer,
                p_secret, encode(sha256(p_secret), 'hex'), campaign_pad(p_secret, 54),
                campaign_pad(p_secret, 92), p_actor)
        RETURNING c.id INTO cid;
        INSERT INTO campaign_prizes (campaign_id, tier, name, total, remaining, ppm)
        SELECT cid, t.i, t.v ->> 'name', (t.v ->> 'count')::integer, (t.v ->> 'count')::integer,
               (t.v ->> 'probability_ppm')::integer
          FROM jsonb_array_elements(tiers) WITH ORDINALITY AS t(v, i);
    EXCEPTION WHEN check_violation OR not_null_violation OR numeric_value_out_of_range
                   OR invalid_text_representation THEN
        RETURN QUERY SELECT 'bad_request'::text,
                            'a value is out of range (docs/api.md: campaigns)'::text, NULL::jsonb;
        RETURN;
    END;
    -- a campaign that counts claims of the brand: the counts from the
    -- redemptions so far (its claims keep them from now on)
    counting := (p_body ->> 'first_claim_bonus')::integer > 0 OR p_body ? 'ladder';
    IF counting AND NOT EXISTS (
            SELECT 1 FROM campaigns c
             WHERE c.brand_id = bid AND c.id <> cid AND c.ended_at IS NULL AND c.ends_at > now()
               AND (c.first_bonus > 0 OR c.ladder_every IS NOT NULL)) THEN
        PERFORM campaign_count_brand(bid);
    END IF;
    PERFORM audit_append(p_actor, p_client, 'campaign.create', cid::text,
                         jsonb_build_object('brand', p_body ->> 'brand', 'name', p_body ->> 'name',
                                            'secret_sha256', encode(sha256(p_secret), 'hex')));
    RETURN QUERY SELECT 'created'::text, NULL::text, campaign_json(cid, true);
END $$;

-- The member_brand_claims of a brand, counted again from its redemptions.
-- Two statements, so that Citus reads the redemptions (distributed) by
-- their print runs apart from the coordinator's batches.
CREATE FUNCTION campaign_count_brand(p_brand bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    runs bigint[];
    ms text[];
    ns bigint[];
BEGIN
    SELECT array_agg(bt.id) INTO runs
      FROM batches bt JOIN products p ON p.sku = bt.product_sku JOIN brands b ON b.name = p.brand
     WHERE b.id = p_brand;
    SELECT array_agg(x.member), array_agg(x.n) INTO ms, ns
      FROM (SELECT r.member, count(*) AS n FROM redemptions r
             WHERE r.batch_id = ANY (coalesce(runs, '{}')) GROUP BY r.member) x;
    DELETE FROM member_brand_claims WHERE brand_id = p_brand;
    INSERT INTO member_brand_claims (member, brand_id, claims)
    SELECT u.m, p_brand, u.n FROM unnest(ms, ns) AS u(m, n);
END $$;

-- End a campaign now: its secret becomes public. outcome: ended |
-- already_ended | unknown_campaign (none, or not of p_brand_ids). Audited
-- as campaign.end, with the secret (now public).
CREATE FUNCTION campaign_end(p_actor text, p_client inet, p_id bigint, p_brand_ids bigint[])
RETURNS TABLE (outcome text, campaign jsonb)
LANGUAGE plpgsql AS $$
DECLARE
    c record;
BEGIN
    SELECT * INTO c FROM campaigns x WHERE x.id = p_id FOR UPDATE;
    IF NOT FOUND OR (p_brand_ids IS NOT NULL AND NOT c.brand_id = ANY (p_brand_ids)) THEN
        RETURN QUERY SELECT 'unknown_campaign'::text, NULL::jsonb;
        RETURN;
    END IF;
    IF c.ended_at IS NOT NULL OR c.ends_at <= now() THEN
        RETURN QUERY SELECT 'already_ended'::text, campaign_json(p_id, true);
        RETURN;
    END IF;
    UPDATE campaigns SET ended_at = now() WHERE id = p_id;
    PERFORM audit_append(p_actor, p_client, 'campaign.end', p_id::text,
                         jsonb_build_object('secret', encode(c.secret, 'hex')));
    RETURN QUERY SELECT 'ended'::text, campaign_json(p_id, true);
END $$;

CREATE FUNCTION admin_campaign_create(p_token bigint, p_client inet, p_body jsonb, p_secret bytea)
RETURNS TABLE (outcome text, message text, campaign jsonb)
LANGUAGE plpgsql AS $$
DECLARE
    who record;
BEGIN
    SELECT * INTO who FROM admin_identity(p_token);
    RETURN QUERY SELECT * FROM campaign_create(who.actor, p_client, p_body, p_secret,
                                               who.brand_ids);
END $$;

CREATE FUNCTION admin_campaign_end(p_token bigint, p_client inet, p_id bigint)
RETURNS TABLE (outcome text, campaign jsonb)
LANGUAGE plpgsql AS $$
DECLARE
    who record;
BEGIN
    SELECT * INTO who FROM admin_identity(p_token);
    RETURN QUERY SELECT * FROM campaign_end(who.actor, p_client, p_id, who.brand_ids);
END $$;

-- The campaigns of the brands p_brands may see (NULL: all), newest first.
CREATE FUNCTION admin_campaigns(p_brands bigint[]) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT coalesce(jsonb_agg(campaign_json(c.id, true) ORDER BY c.id DESC), '[]'::jsonb)
      FROM campaigns c WHERE p_brands IS NULL OR c.brand_id = ANY (p_brands)
$$;

CREATE FUNCTION admin_campaign(p_id bigint, p_brands bigint[]) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT campaign_json(c.id, true) FROM campaigns c
     WHERE c.id = p_id AND (p_brands IS NULL OR c.brand_id = ANY (p_brands))
$$;

-- What the servers cache (engine/campaigns.c): the campaigns not ended,
-- with their brand's name, for the landing page's link.
CREATE FUNCTION campaigns_live() RETURNS TABLE (id bigint, brand text, starts_unix bigint,
                                                ends_unix bigint, skus text, batch_ids text,
                                                name text)
LANGUAGE sql STABLE AS $$
    SELECT c.id, b.name, extract(epoch FROM c.starts_at)::bigint,
           extract(epoch FROM c.ends_at)::bigint, coalesce(array_to_string(c.skus, ' '), ''),
           coalesce(array_to_string(c.batch_ids, ' '), ''), c.name
      FROM campaigns c JOIN brands b ON b.id = c.brand_id
     WHERE c.ended_at IS NULL AND c.ends_at > now()
     ORDER BY c.id
$$;

-- ---- claims ------------------------------------------------------------------------

-- The campaigns that apply to the claims of a claim_many call that are still
-- going (p_going), before their redemptions are written (docs/campaigns.md):
-- one row per claim (i, its index) and campaign that matches it (brand;
-- product or print run; region; time) within its daily limit, with the
-- campaign's multiplier and the bonus points it gives this claim (bonus,
-- first claim of the brand, ladder), whether it draws prizes, whether the
-- daily limit counted it (limited); and counted, the brand whose claim count
-- (member_brand_claims, kept while a campaign of the brand counts) took this
-- claim, on a row of its own (campaign NULL) when no campaign applies. The
-- counts are taken now, in one order (the daily counts by campaign and
-- member, then the brand counts by member and brand), before the
-- redemptions; claim_many gives back those of a claim not awarded after all.
CREATE FUNCTION campaign_apply(p_serials bigint[], p_batches bigint[], p_members text[],
                               p_regions text[], p_going boolean[], p_t timestamptz)
RETURNS TABLE (i integer, campaign bigint, mult numeric, bonus integer, draws boolean,
               limited boolean, counted bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_day date := (p_t AT TIME ZONE 'UTC')::date;
    a_i integer[];
    a_m text[];
    a_c bigint[];
    a_rk integer[];
    a_lim integer[];
    l_c bigint[];
    l_m text[];
    l_before bigint[];
    c_i integer[];
    c_b bigint[];
    c_before bigint[];
    b_m text[];
    b_b bigint[];
    b_before bigint[];
BEGIN
    -- the matches, and each one's rank among its member's claims of this call
    SELECT array_agg(x.i ORDER BY x.i, x.c), array_agg(x.m ORDER BY x.i, x.c),
           array_agg(x.c ORDER BY x.i, x.c), array_agg(x.rk ORDER BY x.i, x.c),
           array_agg(x.lim ORDER BY x.i, x.c)
      INTO a_i, a_m, a_c, a_rk, a_lim
      FROM (SELECT u.i::integer AS i, u.m, c.id AS c, c.daily_limit AS lim,
                   row_number() OVER (PARTITION BY c.id, u.m ORDER BY u.i)::integer AS rk
              FROM unnest(p_serials, p_batches, p_members, p_regions, p_going)
                   WITH ORDINALITY AS u(s, b, m, rg, g, i)
              JOIN batches bt ON bt.id = u.b
              JOIN products pr ON pr.sku = bt.product_sku
              JOIN brands br ON br.name = pr.brand
              JOIN campaigns c ON c.brand_id = br.id AND c.ended_at IS NULL
                              AND p_t >= c.starts_at AND p_t < c.ends_at
             WHERE u.g
               AND ((c.skus IS NULL AND c.batch_ids IS NULL) OR bt.product_sku = ANY (c.skus)
                    OR u.b = ANY (c.batch_ids))
               AND (c.regions IS NULL OR u.rg = ANY (c.regions)
                    OR split_part(u.rg, '-', 1) = ANY (c.regions))) x;

    -- the daily limits: each member's claims of this call counted in, in order
    IF a_lim IS NOT NULL AND EXISTS (SELECT 1 FROM unnest(a_lim) l WHERE l IS NOT NULL) THEN
        WITH n AS (SELECT x.c, x.m, count(*) AS n
                     FROM unnest(a_c, a_m, a_lim) AS x(c, m, lim)
                    WHERE x.lim IS NOT NULL GROUP BY x.c, x.m),
        up AS (INSERT INTO campaign_member_days AS d (campaign_id, member, day, claims)
               SELECT n.c, n.m, v_day, n.n FROM n ORDER BY n.c, n.m
               ON CONFLICT (campaign_id, member, day) DO UPDATE SET claims = d.claims + excluded.claims
               RETURNING d.campaign_id, d.member, d.claims)
        SELECT array_agg(up.campaign_id), array_agg(up.member), array_agg(up.claims - n.n)
          INTO l_c, l_m, l_before
          FROM up JOIN n ON n.c = up.campaign_id AND n.m = up.member;
        -- what the limit refused is not counted: claims is what the campaign applied to
        UPDATE campaign_member_days d
           SET claims = d.claims - (x.n - greatest(0, least(x.n, x.lim - x.before)))
          FROM (SELECT l.c, l.m, l.before, n.n, c.daily_limit AS lim
                  FROM unnest(l_c, l_m, l_before) AS l(c, m, before)
                  JOIN campaigns c ON c.id = l.c
                  JOIN (SELECT y.c, y.m, count(*) AS n FROM unnest(a_c, a_m) AS y(c, m)
                         GROUP BY y.c, y.m) n ON n.c = l.c AND n.m = l.m
                 WHERE l.before + n.n > c.daily_limit) x
         WHERE d.campaign_id = x.c AND d.member = x.m AND d.day = v_day;
    END IF;

    -- the brand counts: every going claim of a brand with a counting campaign
    IF EXISTS (SELECT 1 FROM campaigns c WHERE c.ended_at IS NULL AND c.ends_at > p_t
                                           AND (c.first_bonus > 0 OR c.ladder_every IS NOT NULL)) THEN
        SELECT array_agg(x.i ORDER BY x.i), array_agg(x.b ORDER BY x.i) INTO c_i, c_b
          FROM (SELECT u.i::integer AS i, br.id AS b
                  FROM unnest(p_batches, p_going) WITH ORDINALITY AS u(b, g, i)
                  JOIN batches bt ON bt.id = u.b
                  JOIN products pr ON pr.sku = bt.product_sku
                  JOIN brands br ON br.name = pr.brand
                 WHERE u.g AND EXISTS (SELECT 1 FROM campaigns c
                                        WHERE c.brand_id = br.id AND c.ended_at IS NULL
                                          AND c.ends_at > p_t
                                          AND (c.first_bonus > 0 OR c.ladder_every IS NOT NULL))) x;
        IF c_i IS NOT NULL THEN
            WITH n AS (SELECT p_members[x.i] AS m, x.b, count(*) AS n
                         FROM unnest(c_i, c_b) AS x(i, b) GROUP BY 1, 2),
            up AS (INSERT INTO member_brand_claims AS mb (member, brand_id, claims)
                   SELECT n.m, n.b, n.n FROM n ORDER BY n.m, n.b
                   ON CONFLICT (member, brand_id) DO UPDATE SET claims = mb.claims + excluded.claims
                   RETURNING mb.member, mb.brand_id, mb.claims)
            SELECT array_agg(up.member), array_agg(up.brand_id), array_agg(up.claims - n.n)
              INTO b_m, b_b, b_before
              FROM up JOIN n ON n.m = up.member AND n.b = up.brand_id;
            -- each claim's count before it: the call's earlier claims of its member and brand
            SELECT array_agg(y.before + y.rk - 1 ORDER BY y.i) INTO c_before
              FROM (SELECT x.i, bb.before,
                           row_number() OVER (PARTITION BY p_members[x.i], x.b ORDER BY x.i) AS rk
                      FROM unnest(c_i, c_b) AS x(i, b)
                      JOIN unnest(b_m, b_b, b_before) AS bb(m, b, before)
                        ON bb.m = p_members[x.i] AND bb.b = x.b) y;
        END IF;
    END IF;

    IF a_i IS NULL AND c_i IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY
        WITH ok AS (
            SELECT p.i, p.c, p.lim IS NOT NULL AS limited
              FROM unnest(a_i, a_m, a_c, a_rk, a_lim) AS p(i, m, c, rk, lim)
              LEFT JOIN unnest(l_c, l_m, l_before) AS l(c, m, before)
                ON l.c = p.c AND l.m = p.m
             WHERE p.lim IS NULL OR l.before + p.rk <= p.lim),
        cnt AS (SELECT * FROM unnest(c_i, c_b, c_before) AS q(i, b, before))
        SELECT coalesce(ok.i, cnt.i), c.id, c.multiplier,
               c.bonus
               + CASE WHEN c.first_bonus > 0 AND cnt.before = 0 THEN c.first_bonus ELSE 0 END
               + CASE WHEN c.ladder_every IS NOT NULL AND (cnt.before + 1) % c.ladder_every = 0
                      THEN c.ladder_bonus ELSE 0 END,
               EXISTS (SELECT 1 FROM campaign_prizes z WHERE z.campaign_id = c.id),
               coalesce(ok.limited, false), cnt.b
          FROM ok FULL JOIN cnt ON cnt.i = ok.i
          LEFT JOIN campaigns c ON c.id = ok.c;
END $$;

-- The prizes a claim won and the campaigns that applied to it, as the
-- claim's answer shows them (claim_many's column campaign), from its rows of
-- campaign_claims: for an award and for its repeats alike.
CREATE FUNCTION campaign_claim_json(p_serial bigint, p_base integer) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN count(*) > 0 THEN jsonb_strip_nulls(jsonb_build_object(
               'base_points', p_base,
               'multiplier', round(exp(sum(ln(x.multiplier))), 4),
               'bonus', sum(x.bonus),
               'campaigns', jsonb_agg(x.campaign_id ORDER BY x.campaign_id),
               'prizes', jsonb_agg(jsonb_build_object('campaign', x.campaign_id, 'tier', x.prize_tier,
                                                      'name', p.name) ORDER BY x.campaign_id)
                         FILTER (WHERE x.prize_tier IS NOT NULL))) END
      FROM campaign_claims x
      LEFT JOIN campaign_prizes p ON p.campaign_id = x.campaign_id AND p.tier = x.prize_tier
     WHERE x.serial = p_serial
$$;

-- claim_many of 013_supply.sql (both paths: packcode_distributed() false and
-- true), with the campaigns in steps 3 and 4b and two more columns: the
-- claims' regions in (p_regions: "CN-GD", "CN", NULL unknown), and out each
-- claim's campaign (NULL: none applied; else its base points, multiplier,
-- bonus, campaigns and prizes won: campaign_claim_json). A new signature: the
-- old function dropped, claim (which calls it) made again.
DROP FUNCTION claim_many(bigint[], bigint[], text[], smallint[], inet[]);
CREATE FUNCTION claim_many(p_serials bigint[], p_batches bigint[], p_members text[],
                           p_pins smallint[], p_clients inet[] DEFAULT NULL,
                           p_regions text[] DEFAULT NULL)
RETURNS TABLE (ord integer, outcome text, points integer, balance bigint,
               claimed_at timestamptz, retry_after integer, campaign jsonb)
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
    regions text[] := coalesce(p_regions, array_fill(NULL::text, ARRAY[n]));
    base integer[];
    o_campaign jsonb[] := array_fill(NULL::jsonb, ARRAY[n]);
    k_i integer[];
    k_c bigint[];
    k_mult numeric[];
    k_bonus integer[];
    k_draws boolean[];
    k_lim boolean[];
    k_cnt bigint[];
    w_i integer[] := '{}';
    w_c bigint[] := '{}';
    w_t integer[] := '{}';
    left_ integer;
    got integer;
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
       OR coalesce(cardinality(p_pins), 0) <> n OR coalesce(cardinality(clients), 0) <> n
       OR coalesce(cardinality(regions), 0) <> n THEN
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

    -- 3. Campaigns (021_campaigns.sql): the ones that apply to each claim
    -- still going, their daily and brand counts taken; its points.
    base := o_points;
    IF array_position(o_outcome, NULL) IS NOT NULL
       AND EXISTS (SELECT 1 FROM campaigns c WHERE c.ended_at IS NULL AND c.ends_at > t
                                               AND c.starts_at <= t) THEN
        SELECT array_agg(x.i ORDER BY x.i, x.campaign), array_agg(x.campaign ORDER BY x.i, x.campaign),
               array_agg(x.mult ORDER BY x.i, x.campaign), array_agg(x.bonus ORDER BY x.i, x.campaign),
               array_agg(x.draws ORDER BY x.i, x.campaign), array_agg(x.limited ORDER BY x.i, x.campaign),
               array_agg(x.counted ORDER BY x.i, x.campaign)
          INTO k_i, k_c, k_mult, k_bonus, k_draws, k_lim, k_cnt
          FROM campaign_apply(p_serials, p_batches, p_members, regions,
                              (SELECT array_agg(o_outcome[u.i] IS NULL ORDER BY u.i)
                                 FROM generate_subscripts(p_serials, 1) AS u(i)), t) x;
        FOR r IN SELECT x.i, round(exp(sum(ln(x.mult))), 4) AS mult, sum(x.b)::integer AS bonus
                   FROM unnest(k_i, k_c, k_mult, k_bonus) AS x(i, c, mult, b)
                  WHERE x.c IS NOT NULL GROUP BY x.i LOOP
            o_points[r.i] := floor(base[r.i] * r.mult)::integer + r.bonus;
        END LOOP;
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

    -- 4b. Campaigns, after the redemptions: the counts of a claim not
    -- awarded after all given back; the prizes drawn for each award
    -- (HMAC-SHA256 of its serial under the campaign's secret) and given while
    -- some remain, each tier's row locked in (campaign, tier) order; what
    -- applied written beside the redemption (campaign_claims).
    IF k_i IS NOT NULL THEN
        IF EXISTS (SELECT 1 FROM unnest(k_i) AS x(i) WHERE o_outcome[x.i] IS DISTINCT FROM 'awarded') THEN
            UPDATE campaign_member_days d SET claims = d.claims - x.n
              FROM (SELECT y.c, p_members[y.i] AS m, count(*) AS n
                      FROM unnest(k_i, k_c, k_lim) AS y(i, c, l)
                     WHERE y.l AND o_outcome[y.i] IS DISTINCT FROM 'awarded' GROUP BY 1, 2) x
             WHERE d.campaign_id = x.c AND d.member = x.m AND d.day = (t AT TIME ZONE 'UTC')::date;
            UPDATE member_brand_claims mb SET claims = mb.claims - x.n
              FROM (SELECT p_members[y.i] AS m, y.b, count(DISTINCT y.i) AS n
                      FROM unnest(k_i, k_cnt) AS y(i, b)
                     WHERE y.b IS NOT NULL AND o_outcome[y.i] IS DISTINCT FROM 'awarded'
                     GROUP BY 1, 2) x
             WHERE mb.member = x.m AND mb.brand_id = x.b;
        END IF;
        FOR f IN
            SELECT y.c, y.tier, count(*)::integer AS n, array_agg(y.i ORDER BY y.i) AS idx
              FROM (SELECT x.i, x.c,
                           campaign_tier_of(x.c, campaign_draw_value(
                               campaign_hmac(c.k_ipad, c.k_opad, p_serials[x.i]::text))) AS tier
                      FROM unnest(k_i, k_c, k_draws) AS x(i, c, d)
                      JOIN campaigns c ON c.id = x.c
                     WHERE x.d AND o_outcome[x.i] = 'awarded') y
             WHERE y.tier IS NOT NULL
             GROUP BY y.c, y.tier ORDER BY y.c, y.tier LOOP
            SELECT p.remaining INTO left_ FROM campaign_prizes p
             WHERE p.campaign_id = f.c AND p.tier = f.tier FOR UPDATE;
            got := least(left_, f.n);
            IF got > 0 THEN
                UPDATE campaign_prizes p SET remaining = p.remaining - got
                 WHERE p.campaign_id = f.c AND p.tier = f.tier;
                w_i := w_i || f.idx[1:got];
                w_c := w_c || array_fill(f.c, ARRAY[got]);
                w_t := w_t || array_fill(f.tier, ARRAY[got]);
            END IF;
        END LOOP;
        INSERT INTO campaign_claims (serial, campaign_id, member, multiplier, bonus, prize_tier,
                                     claimed_at)
        SELECT p_serials[x.i], x.c, p_members[x.i], x.mult, x.b, w.wt, t
          FROM unnest(k_i, k_c, k_mult, k_bonus) AS x(i, c, mult, b)
          LEFT JOIN unnest(w_i, w_c, w_t) AS w(wi, wc, wt) ON w.wi = x.i AND w.wc = x.c
         WHERE x.c IS NOT NULL AND o_outcome[x.i] = 'awarded'
         ORDER BY p_serials[x.i], x.c;
        FOR r IN SELECT DISTINCT x.i FROM unnest(k_i, k_c) AS x(i, c)
                  WHERE x.c IS NOT NULL AND o_outcome[x.i] = 'awarded' LOOP
            o_campaign[r.i] := campaign_claim_json(p_serials[r.i], base[r.i]);
        END LOOP;
    END IF;
    IF 'repeat' = ANY (o_outcome) AND EXISTS (SELECT 1 FROM campaigns) THEN
        FOR r IN SELECT u.i::integer AS i FROM unnest(o_outcome) WITH ORDINALITY AS u(o, i)
                  WHERE u.o = 'repeat' LOOP
            o_campaign[r.i] := campaign_claim_json(p_serials[r.i], NULL);
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
               CASE WHEN u.oc IN ('awarded', 'repeat') THEN u.pt END, u.bl, u.at, u.ra, u.cp
          FROM unnest(o_outcome, o_points, o_balance, o_at, o_retry, o_campaign)
               WITH ORDINALITY AS u(oc, pt, bl, at, ra, cp, i)
         ORDER BY u.i;
END $$;

-- claim of 013_supply.sql with claim_many's new column: a claim of a brand
-- with a campaign not ended takes claim_many's path, which applies it.
DROP FUNCTION claim(bigint, bigint, text, smallint);
CREATE FUNCTION claim(p_serial bigint, p_batch bigint, p_member text,
                                 p_pin smallint DEFAULT 0)
RETURNS TABLE (ord integer, outcome text, points integer, balance bigint,
               claimed_at timestamptz, retry_after integer, campaign jsonb)
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
       OR (claim_supply_refusals(ARRAY[p_serial], ARRAY[p_batch]))[1] IS NOT NULL
       OR EXISTS (SELECT 1 FROM campaigns c JOIN brands br ON br.id = c.brand_id
                   WHERE br.name = b.brand AND c.ended_at IS NULL AND c.ends_at > t) THEN
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
        RETURN QUERY SELECT 1, 'awarded'::text, b.pts, bal, t, NULL::integer, NULL::jsonb;
        RETURN;
    END IF;
    SELECT r.member, r.points, r.claimed_at INTO rd FROM redemptions r WHERE r.serial = p_serial;
    IF rd.member = p_member THEN
        SELECT m.balance INTO bal FROM members m WHERE m.member = p_member;
        RETURN QUERY SELECT 1, 'repeat'::text, rd.points, bal, rd.claimed_at, NULL::integer,
                            campaign_claim_json(p_serial, NULL);
    ELSE
        RETURN QUERY SELECT 1, 'claimed'::text, NULL::integer, NULL::bigint, rd.claimed_at,
                            NULL::integer, NULL::jsonb;
    END IF;
END $$;
