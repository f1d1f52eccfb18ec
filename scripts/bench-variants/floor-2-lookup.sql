-- A floor, NOT the rule (its memoised edges all say `world`): floor-1's
-- views with a lookup as sql/0022's probe makes it (cityHash64 key,
-- farmFingerprint64 and generation checked) in a memo whose entries hold no
-- verdict, only the two numbers checked, and a constant verdict written.
-- See floor-1-memo-views.sql for how the floors are run and read.
--
-- Applied on top of netmap's schema (apply-schema + push); ${database} is the database.
CREATE TABLE ${database}.floor_memo (h1 UInt64, v Tuple(h2 UInt64, gen UInt64))
ENGINE = Join(ANY, LEFT, h1) SETTINGS join_any_take_last_row = 1, persistent = 0;
CREATE TABLE ${database}.floor_stream (timestamp DateTime64(9, 'UTC'), k8s_cluster_name String, src String, dest String,
    dest_ip String, protocol String, duration_ns UInt64, is_error UInt8, hit UInt8) ENGINE = Null;
CREATE MATERIALIZED VIEW ${database}.floor_fill_mv TO ${database}.floor_memo AS SELECT
    cityHash64(k8s_cluster_name, raw_dest, raw_ip) AS h1, (farmFingerprint64(k8s_cluster_name, raw_dest, raw_ip), memo_gen) AS v
FROM ${database}.classify_peers;
CREATE MATERIALIZED VIEW ${database}.floor_hit_mv TO ${database}.network_raw AS SELECT
    timestamp, k8s_cluster_name, src, if(dest = '', dest_ip, dest) AS dest, dest_ip, protocol, duration_ns, is_error,
    'world' AS kind, toUInt8(1) AS is_external, '' AS matched_type, '' AS matched_cidr, '' AS hint
FROM ${database}.floor_stream WHERE hit;
CREATE MATERIALIZED VIEW ${database}.floor_misses_mv TO ${database}.classify_stage1 AS SELECT
    k8s_cluster_name, dest AS raw_dest, dest_ip AS raw_ip, groupArray((timestamp, src, protocol, duration_ns, is_error)) AS spans
FROM ${database}.floor_stream WHERE NOT hit AND NOT (dest = '' AND dest_ip = '') GROUP BY k8s_cluster_name, dest, dest_ip;
CREATE MATERIALIZED VIEW ${database}.floor_probe_mv TO ${database}.floor_stream AS SELECT * EXCEPT (m),
    tupleElement(m, 1) = farmFingerprint64(k8s_cluster_name, dest, dest_ip)
        AND tupleElement(m, 2) = tupleElement(joinGet('${database}.verdict_memo', 'v', toUInt64(0)), 2) AS hit
FROM (SELECT *, joinGet('${database}.floor_memo', 'v', cityHash64(k8s_cluster_name, dest, dest_ip)) AS m FROM ${database}.spans);
DROP VIEW IF EXISTS ${database}.spans_probe_mv SYNC;
