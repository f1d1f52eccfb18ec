-- A floor, NOT the rule (a new peer's verdict is a constant `world`; the
-- bench's checks say so): netmap's schema with the rule's six views (stage 2
-- to the verdict) replaced by six views as trivial as views get, through five
-- Null tables, the last one giving a constant verdict: the rule's number of
-- views without its expressions. The memo fill and the output of the new
-- peer's spans stay. Beside (b) and floor-rule-1-view, with --new-peers (run
-- 59, BENCHMARKS.md "What one new peer costs").
--
--   scripts/bench --insert-cidrs 100 --batch 10000 --steady 10 --new-peers 30 \
--       --variant scripts/bench-variants/floor-rule-1-view.sql --variant scripts/bench-variants/floor-rule-6-views.sql ...
--
-- Applied on top of netmap's schema (apply-schema + push); ${database} is the database.
DROP VIEW IF EXISTS ${database}.classify_stage2_mv SYNC;
CREATE TABLE ${database}.floor_s1 AS ${database}.classify_stage1 ENGINE = Null;
CREATE TABLE ${database}.floor_s2 AS ${database}.classify_stage1 ENGINE = Null;
CREATE TABLE ${database}.floor_s3 AS ${database}.classify_stage1 ENGINE = Null;
CREATE TABLE ${database}.floor_s4 AS ${database}.classify_stage1 ENGINE = Null;
CREATE TABLE ${database}.floor_s5 AS ${database}.classify_stage1 ENGINE = Null;
CREATE MATERIALIZED VIEW ${database}.floor_v6 TO ${database}.classify_peers AS SELECT k8s_cluster_name, raw_dest, raw_ip, spans, ('world', '', '', 'public') AS verdict, tupleElement(joinGet('${database}.verdict_memo', 'v', toUInt64(0)), 2) AS memo_gen FROM ${database}.floor_s5;
CREATE MATERIALIZED VIEW ${database}.floor_v5 TO ${database}.floor_s5 AS SELECT * FROM ${database}.floor_s4;
CREATE MATERIALIZED VIEW ${database}.floor_v4 TO ${database}.floor_s4 AS SELECT * FROM ${database}.floor_s3;
CREATE MATERIALIZED VIEW ${database}.floor_v3 TO ${database}.floor_s3 AS SELECT * FROM ${database}.floor_s2;
CREATE MATERIALIZED VIEW ${database}.floor_v2 TO ${database}.floor_s2 AS SELECT * FROM ${database}.floor_s1;
CREATE MATERIALIZED VIEW ${database}.floor_v1 TO ${database}.floor_s1 AS SELECT * FROM ${database}.classify_stage1;
