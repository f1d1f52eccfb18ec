-- Not the current schema: sql/0022's memo as it was before sql/0024, for a
-- before/after in one run (BENCHMARKS.md, "sql/0024"). network_raw's verdict
-- columns LowCardinality(String) again, the memo's verdict four Strings
-- carried as one tuple from the probe to the hits' view. The rule and its
-- edges are netmap's (the bench's check compares them).
--
--   scripts/bench --insert-cidrs 3,100,1000 --steady 30 --variant scripts/bench-variants/before-0024.sql ...
--
-- Applied on top of netmap's schema (apply-schema + push); ${database} is the database.
ALTER TABLE ${database}.network_raw MODIFY COLUMN kind LowCardinality(String), MODIFY COLUMN matched_type LowCardinality(String),
    MODIFY COLUMN hint LowCardinality(String) SETTINGS mutations_sync = 2;
CREATE TABLE ${database}.peer_memo (h1 UInt64,
    v Tuple(h2 UInt64, gen UInt64, kind String, matched_type String, matched_cidr String, hint String))
ENGINE = Join(ANY, LEFT, h1) SETTINGS join_any_take_last_row = 1, persistent = 0;
INSERT INTO ${database}.peer_memo SELECT 0, (0, tupleElement(joinGet('${database}.verdict_memo', 'v', toUInt64(0)), 2), '', '', '', '');
CREATE TABLE ${database}.memo_stream (timestamp DateTime64(9, 'UTC'), k8s_cluster_name String, src String, dest String,
    dest_ip String, protocol String, duration_ns UInt64, is_error UInt8,
    m Tuple(h2 UInt64, gen UInt64, kind String, matched_type String, matched_cidr String, hint String), hit UInt8) ENGINE = Null;
DROP VIEW IF EXISTS ${database}.verdict_memo_fill_mv SYNC;
CREATE MATERIALIZED VIEW ${database}.memo_fill_mv TO ${database}.peer_memo AS SELECT
    cityHash64(k8s_cluster_name, raw_dest, raw_ip) AS h1,
    (farmFingerprint64(k8s_cluster_name, raw_dest, raw_ip), memo_gen,
     tupleElement(verdict, 1), tupleElement(verdict, 2), tupleElement(verdict, 3), tupleElement(verdict, 4)) AS v
FROM ${database}.classify_peers
WHERE (SELECT sum(total_rows) FROM system.tables WHERE database = '${database}' AND name = 'peer_memo') < 1000000;
CREATE MATERIALIZED VIEW ${database}.memo_hit_mv TO ${database}.network_raw AS SELECT
    timestamp, k8s_cluster_name, src, if(dest = '', dest_ip, dest) AS dest, dest_ip, protocol, duration_ns, is_error,
    tupleElement(m, 3) AS kind, toUInt8(tupleElement(m, 3) = 'world') AS is_external,
    tupleElement(m, 4) AS matched_type, tupleElement(m, 5) AS matched_cidr, tupleElement(m, 6) AS hint
FROM ${database}.memo_stream WHERE hit;
CREATE MATERIALIZED VIEW ${database}.classify_misses_mv TO ${database}.classify_stage1 AS SELECT
    k8s_cluster_name, dest AS raw_dest, dest_ip AS raw_ip, groupArray((timestamp, src, protocol, duration_ns, is_error)) AS spans
FROM ${database}.memo_stream WHERE NOT hit AND NOT (dest = '' AND dest_ip = '') GROUP BY k8s_cluster_name, dest, dest_ip;
CREATE MATERIALIZED VIEW ${database}.memo_probe_mv TO ${database}.memo_stream AS SELECT *,
    tupleElement(m, 3) != ''
        AND tupleElement(m, 1) = farmFingerprint64(k8s_cluster_name, dest, dest_ip)
        AND tupleElement(m, 2) = tupleElement(joinGet('${database}.peer_memo', 'v', toUInt64(0)), 2) AS hit
FROM (SELECT *,
        if(getSetting('insert_deduplication_token') = '',
           joinGet('${database}.peer_memo', 'v', cityHash64(k8s_cluster_name, dest, dest_ip)),
           CAST((0, 0, '', '', '', ''), 'Tuple(h2 UInt64, gen UInt64, kind String, matched_type String, matched_cidr String, hint String)')) AS m
      FROM ${database}.span_stream);
DROP VIEW IF EXISTS ${database}.span_stream_probe_mv SYNC;
-- The feeder before sql/0025.
CREATE MATERIALIZED VIEW ${database}.spans_to_stream TO ${database}.span_stream
AS SELECT timestamp, k8s_cluster_name, src, dest, dest_ip, protocol, duration_ns, is_error
FROM ${database}.spans;
DROP VIEW IF EXISTS ${database}.spans_probe_mv SYNC;
DROP VIEW IF EXISTS ${database}.probed_hits_mv SYNC;
DROP VIEW IF EXISTS ${database}.probed_misses_mv SYNC;
