#!/bin/bash
# test_campaign_claim_sets.sh: sql/036_campaign_claim_sets.sql on a database
# whose campaigns applied to claims already (a campaign_claims row per claim
# and campaign, as 021 and 028 stored them): after `db migrate` each claim is
# one campaign_claim_sets row, each prize or red packet one campaign_wins
# row, the view campaign_claims shows exactly the rows there were, and what
# reads them answers as before (a claim's campaign answer, a campaign's
# count of claims, its winners and burn-down).
PC_TIMEOUT=90
. "$(dirname "$0")/harness.sh"
# the migrations before 036 are applied by psql here: on a plain server only
if [ -n "${PACKCODE_TEST_CITUS:-}" ]; then
	note "Citus: not run (the migrations before 036 applied by psql)"
	exit 0
fi

pc_psql "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now())"
for m in $(pc_migrations); do
	v=$((10#${m%%_*}))
	[ "$v" -lt 36 ] || continue
	timeout --foreground 60 psql -X -q -1 -v ON_ERROR_STOP=1 -d "$PACKCODE_DB" \
		-f "$abs_top_srcdir/sql/$m.sql" >"$PC_TMP/psql.out" 2>&1 || fail "migration $m: $(cat "$PC_TMP/psql.out")"
	pc_psql "INSERT INTO schema_migrations (version, name) VALUES ($v, '$m')"
done
# two campaigns: x1.5 with a prize tier, and a bonus of 5 with a red packet
secret="decode(repeat('ab', 32), 'hex')"
C1=$(pc_psql "SELECT campaign->>'id' FROM campaign_create('t', NULL, '{\"brand\": \"\", \"name\": \"one\",
     \"starts_at\": \"2026-01-01T00:00:00Z\", \"ends_at\": \"2999-01-01T00:00:00Z\", \"multiplier\": 1.5,
     \"prizes\": [{\"name\": \"Cup\", \"count\": 10, \"probability_ppm\": 1000}]}'::jsonb, $secret, NULL)")
C2=$(pc_psql "SELECT campaign->>'id' FROM campaign_create('t', NULL, '{\"brand\": \"\", \"name\": \"two\",
     \"starts_at\": \"2026-01-01T00:00:00Z\", \"ends_at\": \"2999-01-01T00:00:00Z\", \"bonus\": 5,
     \"red_packet\": {\"amount\": 88, \"budget\": 10000, \"currency\": \"CNY\"}}'::jsonb, $secret, NULL)")
[ -n "$C1" ] && [ -n "$C2" ] || fail "the campaigns"
# serial 10: both (a prize of the first, a red packet of the second); 11 and
# 12: both, nothing won; 13: the first only; 14: the second only, a red
# packet, a day later; member m1 for 10-12, m2 for 13-14
pc_psql "INSERT INTO campaign_claims (serial, campaign_id, member, multiplier, bonus, prize_tier,
                                      claimed_at, red_packet) VALUES
         (10, $C1, 'm1', 1.5, 0, 1, now(), NULL), (10, $C2, 'm1', 1, 5, NULL, now(), 88),
         (11, $C2, 'm1', 1, 5, NULL, now(), NULL), (11, $C1, 'm1', 1.5, 0, NULL, now(), NULL),
         (12, $C1, 'm1', 1.5, 0, NULL, now(), NULL), (12, $C2, 'm1', 1, 5, NULL, now(), NULL),
         (13, $C1, 'm2', 1.5, 0, NULL, now(), NULL),
         (14, $C2, 'm2', 1, 5, NULL, now() + interval '1 day', 88)"
rows="SELECT string_agg(concat_ws(':', serial, campaign_id, member, multiplier, bonus,
                                  coalesce(prize_tier::text, '-'), coalesce(red_packet::text, '-'),
                                  claimed_at), ',' ORDER BY serial, campaign_id)
        FROM campaign_claims"
answers="SELECT string_agg(coalesce(campaign_claim_json(s, 10)::text, '-'), ',' ORDER BY s)
           FROM generate_series(10, 15) s"
reads="SELECT concat_ws('|', campaign_json($C1, true)->'claims', campaign_json($C2, true)->'claims',
                        admin_campaign_winners($C1, NULL, 10), admin_campaign_winners($C2, NULL, 10))"
before_rows=$(pc_psql "$rows")
before_answers=$(pc_psql "$answers")
before_reads=$(pc_psql "$reads")
case "$before_reads" in 4\|4\|*) ;; *) fail "the fixture's reads: $before_reads" ;; esac

pcgen db migrate >"$PC_TMP/out" || fail "db migrate: $(cat "$PC_TMP/out")"
[ "$(head -n 1 "$PC_TMP/out")" = "applied 036_campaign_claim_sets" ] || fail "db migrate: $(cat "$PC_TMP/out")"
sql_is "10:{$C1,$C2}:{1.50,1.00}:{0,5},11:{$C1,$C2}:{1.50,1.00}:{0,5},12:{$C1,$C2}:{1.50,1.00}:{0,5},13:{$C1}:{1.50}:{0},14:{$C2}:{1.00}:{5}" \
	"SELECT string_agg(concat_ws(':', serial, campaigns, multipliers, bonuses), ',' ORDER BY serial)
	   FROM campaign_claim_sets" || fail "the sets: $(pc_psql "SELECT * FROM campaign_claim_sets")"
sql_is "10:$C1:1:-,10:$C2:-:88,14:$C2:-:88" \
	"SELECT string_agg(concat_ws(':', serial, campaign_id, coalesce(prize_tier::text, '-'),
	                             coalesce(red_packet::text, '-')), ',' ORDER BY serial, campaign_id)
	   FROM campaign_wins" || fail "the wins: $(pc_psql "SELECT * FROM campaign_wins")"
[ "$(pc_psql "$rows")" = "$before_rows" ] || fail "campaign_claims changed: $(pc_psql "$rows")"
[ "$(pc_psql "$answers")" = "$before_answers" ] || fail "the claims' answers changed: $(pc_psql "$answers") against $before_answers"
[ "$(pc_psql "$reads")" = "$before_reads" ] || fail "the campaigns' reads changed: $(pc_psql "$reads") against $before_reads"
# the table refuses a set whose arrays disagree
pc_psql "INSERT INTO campaign_claim_sets VALUES (20, 'm', now(), '{1,NULL}', '{1,1}', '{0,0}')" 2>/dev/null &&
	fail "a set with a NULL campaign was accepted"
pc_psql "INSERT INTO campaign_claim_sets VALUES (20, 'm', now(), '{1,2}', '{1}', '{0,0}')" 2>/dev/null &&
	fail "a set with fewer multipliers was accepted"
note "ok - 036 on existing campaign_claims: $(pc_psql "SELECT count(*) FROM campaign_claim_sets") sets, $(pc_psql "SELECT count(*) FROM campaign_wins") wins, the same rows and answers"
