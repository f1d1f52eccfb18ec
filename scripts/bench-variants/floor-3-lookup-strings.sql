-- A floor, NOT the rule (its memoised edges all say `world`): sql/0025
-- exactly, lookup and verdict carried to the hits' view, which then writes
-- a constant verdict instead of the looked-up one.
-- See floor-1-memo-views.sql for how the floors are run and read.
--
-- Applied on top of netmap's schema (apply-schema + push); ${database} is the database.
DROP VIEW IF EXISTS ${database}.probed_hits_mv SYNC;
CREATE MATERIALIZED VIEW ${database}.probed_hits_mv TO ${database}.network_raw AS SELECT
    timestamp, k8s_cluster_name, src, if(dest = '', dest_ip, dest) AS dest, dest_ip, protocol, duration_ns, is_error,
    'world' AS kind, toUInt8(1) AS is_external, '' AS matched_type, '' AS matched_cidr, '' AS hint
FROM ${database}.probed_spans WHERE hit;
