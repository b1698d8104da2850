-- 030_campaign_reads.sql: what the console's Campaigns page reads beside the
-- campaign itself (GET /api/v1/admin/campaigns/{id}/winners,
-- server/handlers/campaigns.c): the prizes' burn-down by UTC day and the
-- latest winners, masked.

-- One campaign's prizes won day by day and its last p_limit winners, newest
-- first, for an identity that may see brands p_brands (NULL: every brand);
-- NULL when it may not see the campaign (404, as for the campaign itself).
-- days: every UTC day from the campaign's start with a claim it applied to,
-- with the claims it applied to, the red packets given (minor units, 028's
-- campaign_claims.red_packet) and the prizes won per tier (in tier
-- order, as "prizes"); a tier's remaining after a day is its count less
-- the sum of its won up to that day (the console draws that). winners:
-- when, the tier and prize, the serial of the pack, the member's phone
-- masked ('+86 139****0000', when a phone is known) and the member id
-- masked (its first 4 characters and '***').
CREATE FUNCTION admin_campaign_winners(p_id bigint, p_brands bigint[], p_limit integer)
RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    c campaigns;
    tiers integer[];
    days jsonb;
    w jsonb;
    mem text[];
    masks jsonb;
BEGIN
    SELECT * INTO c FROM campaigns x
     WHERE x.id = p_id AND (p_brands IS NULL OR x.brand_id = ANY (p_brands));
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT coalesce(array_agg(p.tier ORDER BY p.tier), '{}') INTO tiers
      FROM campaign_prizes p WHERE p.campaign_id = p_id;
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'day', d.day, 'claims', d.claims, 'red_packets', d.given,
               'won', (SELECT coalesce(jsonb_agg((SELECT count(*) FROM unnest(d.won) u
                                                   WHERE u = t) ORDER BY t), '[]'::jsonb)
                         FROM unnest(tiers) t))
               ORDER BY d.day), '[]'::jsonb)
      INTO days
      FROM (SELECT (cc.claimed_at AT TIME ZONE 'UTC')::date AS day, count(*) AS claims,
                   coalesce(sum(cc.red_packet), 0) AS given,
                   coalesce(array_agg(cc.prize_tier) FILTER (WHERE cc.prize_tier IS NOT NULL),
                            '{}') AS won
              FROM campaign_claims cc WHERE cc.campaign_id = p_id
             GROUP BY 1) d;
    SELECT coalesce(array_agg(DISTINCT x.member), '{}') INTO mem
      FROM (SELECT cc.member FROM campaign_claims cc
             WHERE cc.campaign_id = p_id AND cc.prize_tier IS NOT NULL
             ORDER BY cc.claimed_at DESC, cc.serial DESC LIMIT p_limit) x;
    -- the phones' masks, in a query of their own (member_identities is
    -- distributed on Citus, the campaigns are not)
    SELECT coalesce(jsonb_object_agg(i.member, i.masked), '{}'::jsonb) INTO masks
      FROM (SELECT DISTINCT ON (mi.member) mi.member, mi.masked FROM member_identities mi
             WHERE mi.member = ANY (mem) AND mi.kind = 'phone'
             ORDER BY mi.member, mi.created_at) i;
    SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
               'at', webhook_time(x.claimed_at), 'serial', x.serial,
               'tier', x.prize_tier, 'prize', p.name,
               'member', left(x.member, 4) || '***',
               'phone', masks ->> x.member))
               ORDER BY x.claimed_at DESC, x.serial DESC), '[]'::jsonb)
      INTO w
      FROM (SELECT cc.* FROM campaign_claims cc
             WHERE cc.campaign_id = p_id AND cc.prize_tier IS NOT NULL
             ORDER BY cc.claimed_at DESC, cc.serial DESC LIMIT p_limit) x
      JOIN campaign_prizes p ON p.campaign_id = p_id AND p.tier = x.prize_tier;
    RETURN jsonb_build_object(
        'campaign', p_id,
        'prizes', coalesce((SELECT jsonb_agg(jsonb_build_object(
                                'tier', p.tier, 'name', p.name, 'count', p.total,
                                'remaining', p.remaining) ORDER BY p.tier)
                              FROM campaign_prizes p WHERE p.campaign_id = p_id), '[]'::jsonb),
        'days', days,
        'winners', w);
END $$;
