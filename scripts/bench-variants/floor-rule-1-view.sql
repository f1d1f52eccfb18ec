-- A floor, NOT the rule (a new peer's verdict is a constant `world`; the
-- bench's checks say so): netmap's schema with the rule's six views (stage 2
-- to the verdict) replaced by one view that passes the misses' groups to
-- classify_peers with a constant verdict. The memo fill and the output of the
-- new peer's spans stay. Beside (b) and floor-rule-6-views, with --new-peers,
-- it shows what the rule's views cost a new peer beyond their number (run 59,
-- BENCHMARKS.md "What one new peer costs").
--
--   scripts/bench --insert-cidrs 100 --batch 10000 --steady 10 --new-peers 30 \
--       --variant scripts/bench-variants/floor-rule-1-view.sql --variant scripts/bench-variants/floor-rule-6-views.sql ...
--
-- Applied on top of netmap's schema (apply-schema + push); ${database} is the database.
DROP VIEW IF EXISTS ${database}.classify_stage2_mv SYNC;
CREATE MATERIALIZED VIEW ${database}.floor_rule_mv TO ${database}.classify_peers AS SELECT
    k8s_cluster_name, raw_dest, raw_ip, spans, ('world', '', '', 'public') AS verdict,
    tupleElement(joinGet('${database}.verdict_memo', 'v', toUInt64(0)), 2) AS memo_gen
FROM ${database}.classify_stage1;
