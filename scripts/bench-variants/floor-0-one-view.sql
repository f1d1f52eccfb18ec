-- A floor, NOT the rule (its edges all say `world`; the bench's check says
-- so): spans -> one view -> network_raw, the shortest chain there is. Runs
-- 40 and 41 ran it beside (a) as (a) then was (spans -> spans_to_stream ->
-- span_stream -> one view, the chain netmap's schema had before sql/0025)
-- to measure that hop; from run 42 on this is (a) itself, and running it
-- measures nothing new.
--
--   scripts/bench --insert-cidrs 3,100,1000 --steady 30 --variant scripts/bench-variants/floor-0-one-view.sql ...
--
-- Applied on top of netmap's schema (apply-schema + push); ${database} is the database.
DROP VIEW IF EXISTS ${database}.spans_probe_mv SYNC;
CREATE MATERIALIZED VIEW ${database}.classify_spans TO ${database}.network_raw AS SELECT
    timestamp, k8s_cluster_name, src, if(dest = '', dest_ip, dest) AS dest, dest_ip, protocol, duration_ns, is_error,
    'world' AS kind, toUInt8(1) AS is_external, '' AS matched_type, '' AS matched_cidr, '' AS hint
FROM ${database}.spans WHERE NOT (dest = '' AND dest_ip = '');
