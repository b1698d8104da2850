-- 005_admin_reads.sql: reads for the admin API: the codes that look cloned, and the
-- service at a glance.

-- A genuine code is printed once, on one pack. Copied onto fakes it is
-- scanned from many places, and claimed again after its first claim. Over
-- the scans of the last p_days days (partitions outside the window are not
-- read), a code is listed when it was scanned from at least p_min_clients
-- client addresses, or when a claim of it was refused because it had been
-- claimed already. Most refused claims first, then most addresses.
-- It reads the window's scans once (one aggregate, grouped by serial); on a
-- busy shop keep the window short or name a batch.

CREATE FUNCTION admin_suspicious_codes(p_days integer, p_min_clients integer, p_batch bigint,
                                       p_limit integer)
RETURNS TABLE (serial bigint, code text, batch_id bigint, sku text, product_name text,
               scans bigint, clients bigint, refused_claims bigint, scans_after_claim bigint,
               first_scan timestamptz, last_scan timestamptz, claimed_at timestamptz,
               claimed_by text)
LANGUAGE sql STABLE SET jit = off AS $$
    WITH s AS (
        SELECT sc.serial,
               min(sc.code) AS code, -- a genuine serial has one code: its scans store it canonical
               count(*) AS scans,
               count(DISTINCT sc.client) AS clients,
               count(*) FILTER (WHERE sc.kind = 'claim' AND sc.outcome = 'already_claimed')
                   AS refused_claims,
               -- after the claim, but for the claim itself and its retries
               count(*) FILTER (WHERE sc.at > r.claimed_at AND
                                      NOT (sc.kind = 'claim' AND sc.outcome IN ('awarded', 'repeat')))
                   AS scans_after_claim,
               min(sc.at) AS first_scan,
               max(sc.at) AS last_scan
          FROM scans sc
          LEFT JOIN redemptions r ON r.serial = sc.serial
         WHERE sc.at >= now() - make_interval(days => p_days)
           AND sc.serial > 0
           AND (p_batch IS NULL OR sc.serial BETWEEN
                   (SELECT bb.serial_first FROM batches bb WHERE bb.id = p_batch) AND
                   (SELECT bb.serial_last FROM batches bb WHERE bb.id = p_batch))
         GROUP BY sc.serial)
    SELECT s.serial, s.code, b.id, b.product_sku, p.name, s.scans, s.clients, s.refused_claims,
           s.scans_after_claim, s.first_scan, s.last_scan, r.claimed_at, r.member
      FROM s
      JOIN batches b ON s.serial BETWEEN b.serial_first AND b.serial_last
      JOIN products p ON p.sku = b.product_sku
      LEFT JOIN redemptions r ON r.serial = s.serial
     WHERE s.clients >= p_min_clients OR s.refused_claims > 0
     ORDER BY s.refused_claims DESC, s.clients DESC, s.scans DESC, s.serial
     LIMIT p_limit
$$;

-- The service at a glance, for the admin API: products, print runs by
-- status, codes minted (active and recalled runs) and claimed, members and
-- the points they hold, and the scans of the last p_days days by kind and
-- outcome (the share of not_genuine is the counterfeit signal). Counts over
-- the whole of redemptions and members: cheap next to the scans window.
CREATE FUNCTION admin_stats(p_days integer) RETURNS jsonb
LANGUAGE sql STABLE SET jit = off AS $$
    SELECT jsonb_build_object(
        'days', p_days,
        'products', (SELECT count(*) FROM products),
        'batches', (SELECT coalesce(jsonb_object_agg(status, n), '{}')
                      FROM (SELECT status, count(*) AS n FROM batches GROUP BY status) b),
        'codes_minted', (SELECT coalesce(sum(serial_last - serial_first + 1), 0) FROM batches
                          WHERE status IN ('active', 'recalled')),
        'codes_claimed', (SELECT count(*) FROM redemptions),
        'members', (SELECT count(*) FROM members),
        'points_held', (SELECT coalesce(sum(balance), 0) FROM members),
        'scans', (SELECT coalesce(jsonb_object_agg(kind, outcomes), '{}')
                    FROM (SELECT kind, jsonb_object_agg(outcome, n) AS outcomes
                            FROM (SELECT kind, outcome, count(*) AS n FROM scans
                                   WHERE at >= now() - make_interval(days => p_days)
                                   GROUP BY kind, outcome) k
                           GROUP BY kind) s))
$$;
