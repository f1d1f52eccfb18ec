-- NOT the rule (a new peer's spans are dropped and its memo entry says
-- `world`, whatever the peer; the bench's checks say so): netmap's schema
-- with its path for new peers cut right after the misses' view, which groups
-- them by peer, and one view from there that fills the memo with a constant
-- verdict (so that the peers of the batches it has seen are hits, as in
-- netmap's schema). Beside (b) and cut-2, with --new-peers, it takes apart
-- what one new peer costs an INSERT: this is the misses' GROUP BY and a memo
-- fill, without the rule's views and without the output of the new peer's
-- spans (run 55, BENCHMARKS.md "What a new peer costs").
--
--   scripts/bench --insert-cidrs 100 --batch 10000 --steady 30 --new-peers 30 \
--       --variant scripts/bench-variants/cut-1-misses-only.sql --variant scripts/bench-variants/cut-2-no-output.sql ...
--
-- Applied on top of netmap's schema (apply-schema + push); ${database} is the database.
DROP VIEW IF EXISTS ${database}.classify_stage2_mv SYNC;
CREATE MATERIALIZED VIEW ${database}.cut_memo_fill_mv TO ${database}.verdict_memo AS SELECT
    cityHash64(k8s_cluster_name, raw_dest, raw_ip) AS h1,
    (farmFingerprint64(k8s_cluster_name, raw_dest, raw_ip), tupleElement(joinGet('${database}.verdict_memo', 'v', toUInt64(0)), 2),
     'world', '', '', 'public') AS v
FROM ${database}.classify_stage1;
