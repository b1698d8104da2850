-- 029_referrals.sql: members bringing friends (docs/campaigns.md, "Referrals").
-- A member's share code (referral_codes, one per member, made once) names
-- them in a link; a friend who signs in or claims with it, or gives it
-- explicitly, gets one referral (referrals, keyed by the referee: one per
-- referee, ever). Their first awarded claim after that settles it:
-- referral_settle() gives both the bonus of referral_rules (the claim's
-- brand's row, else the group's) as a ledger row each, kind 'referral',
-- once: the referral's row lock and its status, and a unique index on the
-- ledger's (member, reference) of kind 'referral', make it once whoever
-- settles (the server after a claim, the control thread's sweep).
-- Farms are refused and flagged when the referral is recorded (same phone,
-- same device or address as the referrer within the window, too many
-- referrals of one referrer in a day); flagged referrals are never
-- rewarded and staff see them (admin_referrals).
-- Citus: referrals by referee with members (a settle touches the referee's
-- and the referrer's shards, as member_merge does); referral_codes and
-- referral_rules are reference tables (read by code and by member; small).

-- ---- the ledger's new kind --------------------------------------------------------------

-- Whatever kinds the migrations before this one allowed, plus 'referral'.
DO $$
DECLARE
    def text;
BEGIN
    SELECT pg_get_constraintdef(c.oid) INTO def FROM pg_constraint c
     WHERE c.conrelid = 'ledger'::regclass AND c.conname = 'ledger_kind_check';
    IF def NOT LIKE '%''referral''%' THEN
        ALTER TABLE ledger DROP CONSTRAINT ledger_kind_check;
        -- written as kind IN ('a', 'b') (as 027 does): PostgreSQL shows it with
        -- each kind quoted, which the next migration reads back the same way
        EXECUTE 'ALTER TABLE ledger ADD CONSTRAINT ledger_kind_check CHECK (kind IN ('
                || (SELECT string_agg(quote_literal(k), ', ')
                      FROM unnest(array_append(ARRAY(
                               SELECT m[1] FROM regexp_matches(def, '''([a-z_]+)''', 'g') m),
                               'referral')) k) || '))';
    END IF;
END $$;

-- A referral pays each member at most once per referee: the reference is
-- 'referral:' and the referee.
CREATE UNIQUE INDEX ledger_referral_once ON ledger (member, reference) WHERE kind = 'referral';

-- ---- tables ----------------------------------------------------------------------------

-- A member's share code: 10 base32 characters (50 random bits, made by the
-- server), stable once made. seen_*: where the member last asked for it
-- (their address and device cookie), for the farm checks.
CREATE TABLE referral_codes (
    code        text PRIMARY KEY CHECK (code ~ '^[a-z2-7]{10}$'),
    member      text NOT NULL UNIQUE CHECK (length(member) BETWEEN 1 AND 64),
    created_at  timestamptz NOT NULL DEFAULT now(),
    seen_at     timestamptz,
    seen_client inet,
    seen_device text CHECK (seen_device ~ '^[0-9a-f]{32}$')
);

-- The bonus of a referral, by the brand of the referee's claim that
-- settles it (brand_id NULL: the group's row, for every other brand), and
-- the farm limits (the group's row only: a referral is recorded before any
-- brand is known): at most daily_max referrals per referrer in 24 hours,
-- and the window in which the same device or address is a farm.
CREATE TABLE referral_rules (
    brand_id        bigint UNIQUE, -- brands (id); no foreign key: brands stays on the coordinator
    referee_points  integer NOT NULL CHECK (referee_points BETWEEN 0 AND 1000000),
    referrer_points integer NOT NULL CHECK (referrer_points BETWEEN 0 AND 1000000),
    daily_max       integer NOT NULL DEFAULT 10 CHECK (daily_max BETWEEN 1 AND 100000),
    window_hours    integer NOT NULL DEFAULT 24 CHECK (window_hours BETWEEN 1 AND 8760),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX referral_rules_group ON referral_rules ((brand_id IS NULL)) WHERE brand_id IS NULL;
INSERT INTO referral_rules (brand_id, referee_points, referrer_points) VALUES (NULL, 100, 100);

-- One per referee, ever. status: pending (waiting for the referee's first
-- awarded claim), rewarded, flagged (a farm: never rewarded; flag says
-- why), lapsed (no claim within 30 days). via: how it was recorded.
-- referee_phone: the referee's phone identity hash when it was recorded (a
-- phone is referred once, even through a new account). serial: the claim
-- that carried it (via claim) or that rewarded it. brand_id: that claim's
-- brand (NULL until a claim is known).
CREATE TABLE referrals (
    referee         text NOT NULL CHECK (length(referee) BETWEEN 1 AND 64),
    id              bigint GENERATED ALWAYS AS IDENTITY,
    referrer        text NOT NULL CHECK (length(referrer) BETWEEN 1 AND 64),
    code            text NOT NULL,
    status          text NOT NULL CHECK (status IN ('pending', 'rewarded', 'flagged', 'lapsed')),
    flag            text CHECK (flag IN ('same_phone', 'same_device', 'same_address', 'daily_max')),
    via             text NOT NULL CHECK (via IN ('sign_in', 'claim', 'explicit')),
    client          inet,
    device          text CHECK (device ~ '^[0-9a-f]{32}$'),
    referee_phone   bytea CHECK (length(referee_phone) = 32),
    recorded_at     timestamptz NOT NULL,
    serial          bigint,
    brand_id        bigint,
    referee_points  integer,
    referrer_points integer,
    rewarded_at     timestamptz,
    PRIMARY KEY (referee),
    CHECK ((status = 'flagged') = (flag IS NOT NULL)),
    CHECK ((status = 'rewarded') = (rewarded_at IS NOT NULL))
);
CREATE INDEX referrals_referrer ON referrals (referrer, recorded_at);
CREATE INDEX referrals_pending ON referrals (recorded_at) WHERE status = 'pending';
CREATE INDEX referrals_phone ON referrals (referee_phone);
CREATE INDEX referrals_id ON referrals (id);

-- ---- functions -------------------------------------------------------------------------

-- The share code of p_member: theirs if made, else p_new (random, from the
-- server) made now (audited referral.code). Where they asked from is
-- remembered for the farm checks. NULL if p_new was taken by another
-- member (50 random bits: the caller asks again).
CREATE FUNCTION referral_code(p_member text, p_new text, p_client inet, p_device text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    t timestamptz := now();
    c text;
BEGIN
    SELECT r.code INTO c FROM referral_codes r WHERE r.member = p_member;
    IF c IS NOT NULL THEN
        UPDATE referral_codes r SET seen_at = t, seen_client = p_client, seen_device = p_device
         WHERE r.code = c;
        RETURN c;
    END IF;
    INSERT INTO referral_codes AS r (code, member, created_at, seen_at, seen_client, seen_device)
    VALUES (p_new, p_member, t, t, p_client, p_device)
    ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        -- the member's code made meanwhile by another request, or p_new taken
        SELECT r.code INTO c FROM referral_codes r WHERE r.member = p_member;
        RETURN c;
    END IF;
    PERFORM audit_append('member:' || p_member, p_client, 'referral.code', p_member,
                         jsonb_build_object('code', p_new));
    RETURN p_new;
END $$;

-- The brand id of p_member's claim of serial p_serial (NULL: none). Two
-- statements: the claim on its serial's shard, then the coordinator's
-- catalog.
CREATE FUNCTION referral_brand(p_serial bigint, p_member text) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE
    bid bigint;
    b bigint;
BEGIN
    IF p_serial IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT d.batch_id INTO bid FROM redemptions d WHERE d.serial = p_serial AND d.member = p_member;
    IF bid IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT br.id INTO b FROM batches bt JOIN products p ON p.sku = bt.product_sku
      JOIN brands br ON br.name = p.brand
     WHERE bt.id = bid;
    RETURN b;
END $$;

-- The group's rules (the farm limits).
CREATE FUNCTION referral_group_rules() RETURNS referral_rules
LANGUAGE plpgsql STABLE AS $$
DECLARE
    g referral_rules;
BEGIN
    SELECT * INTO g FROM referral_rules r WHERE r.brand_id IS NULL;
    RETURN g;
END $$;

-- Record that p_referee came through code p_code (via sign_in, claim or
-- explicit), from p_client with device cookie p_device; p_serial: the claim
-- that carried it (via claim). outcome: pending | flagged (flag: why) |
-- self (the code is the referee's own: nothing recorded) | already (the
-- referee has a referral: status is its) | unknown_code. The referrer's
-- code row is locked first, so the checks of one referrer's referrals run
-- one at a time and count exactly. Audited referral.record (pending),
-- referral.flag or referral.self.
CREATE FUNCTION referral_record(p_referee text, p_code text, p_via text, p_client inet,
                                p_device text, p_serial bigint)
RETURNS TABLE (outcome text, flag text, referrer text, status text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    t timestamptz := now();
    g referral_rules := referral_group_rules();
    win interval;
    who text;
    cd referral_codes;
    old referrals;
    phone bytea;
    addr text := CASE WHEN p_client IS NULL THEN NULL ELSE pin_backoff_addr(p_client) END;
    why text;
BEGIN
    win := make_interval(hours => g.window_hours);
    SELECT * INTO cd FROM referral_codes r WHERE r.code = p_code FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unknown_code'::text, NULL::text, NULL::text, NULL::text;
        RETURN;
    END IF;
    who := cd.member;
    IF who = p_referee THEN
        PERFORM audit_append('member:' || p_referee, p_client, 'referral.self', p_referee,
                             jsonb_build_object('via', p_via));
        RETURN QUERY SELECT 'self'::text, NULL::text, who, NULL::text;
        RETURN;
    END IF;
    SELECT * INTO old FROM referrals r WHERE r.referee = p_referee;
    IF FOUND THEN
        RETURN QUERY SELECT 'already'::text, old.flag, old.referrer, old.status;
        RETURN;
    END IF;
    SELECT i.hash INTO phone FROM member_identities i
     WHERE i.member = p_referee AND i.kind = 'phone' ORDER BY i.created_at LIMIT 1;
    -- the farm checks, the strongest first
    IF phone IS NOT NULL AND (
           EXISTS (SELECT 1 FROM member_identities i
                    WHERE i.member = who AND i.kind = 'phone' AND i.hash = phone)
           OR EXISTS (SELECT 1 FROM referrals r WHERE r.referee_phone = phone)) THEN
        why := 'same_phone';
    ELSIF p_device IS NOT NULL AND (
           (cd.seen_device = p_device AND cd.seen_at > t - win)
           OR EXISTS (SELECT 1 FROM referrals r
                       WHERE r.referrer = who AND r.recorded_at > t - win
                         AND r.device = p_device)) THEN
        why := 'same_device';
    ELSIF addr IS NOT NULL AND (
           (cd.seen_client IS NOT NULL AND pin_backoff_addr(cd.seen_client) = addr
            AND cd.seen_at > t - win)
           OR EXISTS (SELECT 1 FROM member_sessions s
                       WHERE s.member = who AND s.created_at > t - win
                         AND s.client IS NOT NULL AND pin_backoff_addr(s.client) = addr)
           OR EXISTS (SELECT 1 FROM referrals r
                       WHERE r.referrer = who AND r.recorded_at > t - win
                         AND r.client IS NOT NULL AND pin_backoff_addr(r.client) = addr)) THEN
        why := 'same_address';
    ELSIF (SELECT count(*) FROM referrals r
            WHERE r.referrer = who AND r.recorded_at > t - interval '1 day') >= g.daily_max THEN
        why := 'daily_max';
    END IF;
    INSERT INTO referrals AS r (referee, referrer, code, status, flag, via, client, device,
                                referee_phone, recorded_at, serial, brand_id)
    VALUES (p_referee, who, p_code, CASE WHEN why IS NULL THEN 'pending' ELSE 'flagged' END,
            why, p_via, p_client, p_device, phone, t, p_serial,
            referral_brand(p_serial, p_referee))
    ON CONFLICT (referee) DO NOTHING;
    IF NOT FOUND THEN -- recorded meanwhile by another request
        SELECT * INTO old FROM referrals r WHERE r.referee = p_referee;
        RETURN QUERY SELECT 'already'::text, old.flag, old.referrer, old.status;
        RETURN;
    END IF;
    PERFORM audit_append('member:' || p_referee, p_client,
                         CASE WHEN why IS NULL THEN 'referral.record' ELSE 'referral.flag' END,
                         p_referee,
                         jsonb_build_object('referrer', who, 'via', p_via, 'flag', why));
    RETURN QUERY SELECT CASE WHEN why IS NULL THEN 'pending' ELSE 'flagged' END, why, who,
                        CASE WHEN why IS NULL THEN 'pending' ELSE 'flagged' END;
END $$;

-- Settle p_referee's referral if it is pending and they have an awarded
-- claim since it was recorded (or the claim that carried it, its serial
-- p_serial when the server settles right after it): both get
-- their bonus (the claim's brand's rules, else the group's), a ledger row
-- each of kind 'referral' (a bonus of 0: none), members locked in
-- ascending order as claims lock them. Idempotent: the referral's row lock
-- makes concurrent settles wait, and the second finds it rewarded.
-- outcome: rewarded | none (no referral) | waiting (no claim yet) |
-- pending's other states (rewarded before: 'done', flagged, lapsed).
-- Audited referral.reward.
CREATE FUNCTION referral_settle(p_referee text, p_serial bigint)
RETURNS TABLE (outcome text, referee_points integer, referrer_points integer)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    t timestamptz := now();
    rf referrals;
    c record;
    brand bigint;
    ru referral_rules;
    m text;
    pts integer;
    bal bigint;
BEGIN
    SELECT * INTO rf FROM referrals r WHERE r.referee = p_referee FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'none'::text, NULL::integer, NULL::integer;
        RETURN;
    END IF;
    IF rf.status <> 'pending' THEN
        RETURN QUERY SELECT CASE WHEN rf.status = 'rewarded' THEN 'done' ELSE rf.status END,
                            rf.referee_points, rf.referrer_points;
        RETURN;
    END IF;
    SELECT l.serial, l.created_at INTO c FROM ledger l
     WHERE l.member = p_referee AND l.kind = 'claim'
       AND (l.created_at >= rf.recorded_at OR l.serial = rf.serial OR l.serial = p_serial)
     ORDER BY l.id LIMIT 1;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'waiting'::text, NULL::integer, NULL::integer;
        RETURN;
    END IF;
    brand := referral_brand(c.serial, p_referee);
    SELECT * INTO ru FROM referral_rules r WHERE r.brand_id = brand;
    IF NOT FOUND THEN
        ru := referral_group_rules();
    END IF;
    FOR m IN SELECT x FROM unnest(ARRAY[rf.referee, rf.referrer]) x ORDER BY x LOOP
        pts := CASE WHEN m = rf.referee THEN ru.referee_points ELSE ru.referrer_points END;
        CONTINUE WHEN pts = 0;
        INSERT INTO members AS mb (member, balance) VALUES (m, pts)
        ON CONFLICT (member) DO UPDATE SET balance = mb.balance + excluded.balance
        RETURNING mb.balance INTO bal;
        INSERT INTO ledger (member, delta, balance_after, kind, serial, reference, created_at)
        VALUES (m, pts, bal, 'referral', c.serial, 'referral:' || rf.referee, t);
    END LOOP;
    UPDATE referrals r SET status = 'rewarded', rewarded_at = t, serial = c.serial,
           brand_id = brand, referee_points = ru.referee_points,
           referrer_points = ru.referrer_points
     WHERE r.referee = p_referee;
    PERFORM audit_append('referral', NULL, 'referral.reward', rf.referee,
                         jsonb_build_object('referrer', rf.referrer, 'serial', c.serial,
                                            'brand_id', brand,
                                            'referee_points', ru.referee_points,
                                            'referrer_points', ru.referrer_points));
    RETURN QUERY SELECT 'rewarded'::text, ru.referee_points, ru.referrer_points;
END $$;

-- Record (when p_code is given) and settle at once: a claim that carried
-- the referral cookie (p_serial, its serial), or a sign-in (p_serial NULL).
-- A flagged referral without a brand gets the claim's, so that the brand's
-- staff see the farm that claims its packs.
CREATE FUNCTION referral_note(p_member text, p_code text, p_via text, p_client inet,
                              p_device text, p_serial bigint)
RETURNS TABLE (outcome text, flag text, settled text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    rec record;
    settled text;
BEGIN
    SELECT * INTO rec FROM referral_record(p_member, p_code, p_via, p_client, p_device, p_serial);
    IF p_serial IS NOT NULL AND (rec.outcome = 'pending' OR rec.status = 'pending') THEN
        SELECT s.outcome INTO settled FROM referral_settle(p_member, p_serial) s;
    ELSIF p_serial IS NOT NULL AND rec.status = 'flagged' THEN
        UPDATE referrals r SET brand_id = referral_brand(p_serial, p_member),
               serial = coalesce(r.serial, p_serial)
         WHERE r.referee = p_member AND r.brand_id IS NULL;
    END IF;
    RETURN QUERY SELECT rec.outcome, rec.flag, settled;
END $$;

-- The control thread's sweep: referrals pending for more than 30 days
-- lapse (audited referral.lapse, with their count); then up to p_limit
-- pending referrals whose referee has an awarded claim since are settled.
-- The count settled.
CREATE FUNCTION referral_settle_due(p_limit integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    t timestamptz := now();
    cut timestamptz := now() - interval '30 days';
    x text;
    n integer := 0;
    k integer;
    o text;
BEGIN
    UPDATE referrals r SET status = 'lapsed' WHERE r.status = 'pending' AND r.recorded_at < cut;
    GET DIAGNOSTICS k = ROW_COUNT;
    IF k > 0 THEN
        PERFORM audit_append('referral', NULL, 'referral.lapse', 'referrals',
                             jsonb_build_object('lapsed', k, 'recorded_before', cut));
    END IF;
    FOR x IN SELECT r.referee FROM referrals r
              WHERE r.status = 'pending' AND r.recorded_at >= cut
                AND EXISTS (SELECT 1 FROM ledger l
                             WHERE l.member = r.referee AND l.kind = 'claim'
                               AND (l.created_at >= r.recorded_at OR l.serial = r.serial))
              LIMIT p_limit LOOP
        SELECT s.outcome INTO o FROM referral_settle(x, NULL) s;
        IF o = 'rewarded' THEN
            n := n + 1;
        END IF;
    END LOOP;
    RETURN n;
END $$;

-- A member's own referral facts: their code (or NULL), how many they
-- referred by status, and their own referral's status (or NULL).
CREATE FUNCTION referral_of(p_member text) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    o jsonb;
BEGIN
    SELECT jsonb_build_object(
             'referred', coalesce((SELECT jsonb_object_agg(s.status, s.n)
                                     FROM (SELECT r.status, count(*) AS n FROM referrals r
                                            WHERE r.referrer = p_member
                                            GROUP BY r.status) s), '{}'::jsonb),
             'referred_by', (SELECT r.status FROM referrals r WHERE r.referee = p_member))
      INTO o;
    RETURN o;
END $$;

-- The first phone identity's mask of a member (NULL: none).
CREATE FUNCTION referral_mask(p_member text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    s text;
BEGIN
    SELECT i.masked INTO s FROM member_identities i
     WHERE i.member = p_member ORDER BY i.kind <> 'phone', i.created_at LIMIT 1;
    RETURN s;
END $$;

-- Staff's list: referrals newest first (id below p_before), flagged ones
-- only if p_flagged, at most p_limit; an identity limited to brands
-- (p_brands) sees those whose claim was of its brands. Identities masked.
CREATE FUNCTION admin_referrals(p_flagged boolean, p_before bigint, p_limit integer,
                                p_brands bigint[])
RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    o jsonb;
BEGIN
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'id', x.id, 'status', x.status, 'flag', x.flag, 'via', x.via,
               'referrer', jsonb_build_object('member', x.referrer,
                                              'masked', referral_mask(x.referrer)),
               'referee', jsonb_build_object('member', x.referee,
                                             'masked', referral_mask(x.referee)),
               'recorded_at', x.recorded_at, 'rewarded_at', x.rewarded_at,
               'brand', (SELECT b.name FROM brands b WHERE b.id = x.brand_id),
               'serial', x.serial, 'referee_points', x.referee_points,
               'referrer_points', x.referrer_points) ORDER BY x.id DESC), '[]'::jsonb)
      INTO o
      FROM (SELECT r.* FROM referrals r
             WHERE (NOT coalesce(p_flagged, false) OR r.status = 'flagged')
               AND (p_before IS NULL OR r.id < p_before)
               AND (p_brands IS NULL OR r.brand_id = ANY (p_brands))
             ORDER BY r.id DESC LIMIT p_limit) x;
    RETURN jsonb_build_object('referrals', o);
END $$;

-- ---- the rules, through the admin API ---------------------------------------------------

-- A row of referral_rules as the API shows it (its columns, not the row:
-- on Citus a reference table's row type is its shard's).
CREATE FUNCTION referral_rules_json(p_brand_id bigint, p_referee integer, p_referrer integer,
                                    p_daily_max integer, p_window_hours integer,
                                    p_updated_at timestamptz)
RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    o jsonb;
BEGIN
    o := jsonb_build_object('brand', (SELECT b.name FROM brands b WHERE b.id = p_brand_id),
                            'referee_points', p_referee, 'referrer_points', p_referrer,
                            'updated_at', p_updated_at);
    IF p_brand_id IS NULL THEN
        o := o || jsonb_build_object('daily_max', p_daily_max, 'window_hours', p_window_hours);
    END IF;
    RETURN o;
END $$;

-- The group's rules and those of the brands p_brands may see (NULL: all).
CREATE FUNCTION admin_referral_rules(p_brands bigint[]) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    o jsonb := '[]'::jsonb;
    r record;
BEGIN
    FOR r IN SELECT x.brand_id, x.referee_points, x.referrer_points, x.daily_max,
                    x.window_hours, x.updated_at
               FROM referral_rules x
              WHERE x.brand_id IS NULL OR p_brands IS NULL OR x.brand_id = ANY (p_brands)
              ORDER BY x.brand_id NULLS FIRST LOOP
        o := o || jsonb_build_array(referral_rules_json(r.brand_id, r.referee_points,
                                                        r.referrer_points, r.daily_max,
                                                        r.window_hours, r.updated_at));
    END LOOP;
    RETURN jsonb_build_object('rules', o);
END $$;

-- Set the bonus of brand p_brand (a name; NULL: the group's, with the farm
-- limits p_daily_max and p_window_hours, NULL: unchanged). An identity
-- limited to brands sets only its brands'. outcome: set (rules: the row) |
-- unknown_brand | forbidden_brand. Audited referral.rules.
CREATE FUNCTION admin_referral_rules_set(p_token bigint, p_client inet, p_brand text,
                                         p_referee integer, p_referrer integer,
                                         p_daily_max integer, p_window_hours integer)
RETURNS TABLE (outcome text, rules jsonb)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    who record;
    bid bigint;
    r record;
    j jsonb;
BEGIN
    SELECT * INTO who FROM admin_identity(p_token);
    IF p_brand IS NULL THEN
        IF who.brand_ids IS NOT NULL THEN
            RETURN QUERY SELECT 'forbidden_brand'::text, NULL::jsonb;
            RETURN;
        END IF;
        UPDATE referral_rules x SET referee_points = p_referee, referrer_points = p_referrer,
               daily_max = coalesce(p_daily_max, x.daily_max),
               window_hours = coalesce(p_window_hours, x.window_hours), updated_at = now()
         WHERE x.brand_id IS NULL
        RETURNING * INTO r;
    ELSE
        SELECT b.id INTO bid FROM brands b WHERE b.name = p_brand;
        IF bid IS NULL THEN
            RETURN QUERY SELECT 'unknown_brand'::text, NULL::jsonb;
            RETURN;
        END IF;
        IF who.brand_ids IS NOT NULL AND NOT bid = ANY (who.brand_ids) THEN
            RETURN QUERY SELECT 'forbidden_brand'::text, NULL::jsonb;
            RETURN;
        END IF;
        INSERT INTO referral_rules AS x (brand_id, referee_points, referrer_points, updated_at)
        VALUES (bid, p_referee, p_referrer, now())
        ON CONFLICT (brand_id) DO UPDATE SET referee_points = excluded.referee_points,
               referrer_points = excluded.referrer_points, updated_at = excluded.updated_at
        RETURNING * INTO r;
    END IF;
    j := referral_rules_json(r.brand_id, r.referee_points, r.referrer_points, r.daily_max,
                             r.window_hours, r.updated_at);
    PERFORM audit_append(who.actor, p_client, 'referral.rules', coalesce(p_brand, 'group'), j);
    RETURN QUERY SELECT 'set'::text, j;
END $$;
