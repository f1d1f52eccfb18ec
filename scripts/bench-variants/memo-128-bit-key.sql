-- Written for the schema before sql/0024 (peer_memo, memo_stream,
-- memo_probe_mv): it does not apply to a newer one. To run it again, use
-- scripts/bench and sql/ as of commit 4bc344a.
--
-- Not kept (BENCHMARKS.md, "The steady state, taken apart"): sql/0022's memo
-- keyed by one 128-bit hash of (cluster, dest, dest_ip, generation), so that
-- an entry found is this peer's in this generation: no second hash and no
-- generation in the entry, the verdict's four Strings only. The rule and
-- its edges are netmap's (the bench's check compares them). Worth ~1 point
-- of (a) in the steady state, within the noise; xxh3_128 exists only since
-- ClickHouse 26.2.
--
--   scripts/bench --insert-cidrs 100 --steady 40 --variant scripts/bench-variants/memo-128-bit-key.sql ...
--
-- Applied on top of netmap's schema (apply-schema + push); ${database} is the
-- database. The generation is still sql/0022's (peer_memo's entry for key 0).
CREATE TABLE ${database}.verdict_memo (h UInt128, v Tuple(kind String, matched_type String, matched_cidr String, hint String)) ENGINE = Join(ANY, LEFT, h) SETTINGS join_any_take_last_row = 1, persistent = 0;
CREATE TABLE ${database}.memo_stream128 (timestamp DateTime64(9, 'UTC'), k8s_cluster_name String, src String, dest String, dest_ip String, protocol String, duration_ns UInt64, is_error UInt8, m Tuple(kind String, matched_type String, matched_cidr String, hint String), hit UInt8) ENGINE = Null;
DROP VIEW IF EXISTS ${database}.memo_fill_mv SYNC;
CREATE MATERIALIZED VIEW ${database}.memo_fill128_mv TO ${database}.verdict_memo AS SELECT
    xxh3_128(k8s_cluster_name, raw_dest, raw_ip, memo_gen) AS h, verdict AS v
FROM ${database}.classify_peers;
CREATE MATERIALIZED VIEW ${database}.memo_hit128_mv TO ${database}.network_raw AS SELECT
    timestamp, k8s_cluster_name, src, if(dest = '', dest_ip, dest) AS dest, dest_ip, protocol, duration_ns, is_error,
    tupleElement(m, 1) AS kind, toUInt8(tupleElement(m, 1) = 'world') AS is_external,
    tupleElement(m, 2) AS matched_type, tupleElement(m, 3) AS matched_cidr, tupleElement(m, 4) AS hint
FROM ${database}.memo_stream128 WHERE hit;
CREATE MATERIALIZED VIEW ${database}.classify_misses128_mv TO ${database}.classify_stage1 AS SELECT
    k8s_cluster_name, dest AS raw_dest, dest_ip AS raw_ip, groupArray((timestamp, src, protocol, duration_ns, is_error)) AS spans
FROM ${database}.memo_stream128 WHERE NOT hit AND NOT (dest = '' AND dest_ip = '') GROUP BY k8s_cluster_name, dest, dest_ip;
CREATE MATERIALIZED VIEW ${database}.memo_probe128_mv TO ${database}.memo_stream128 AS SELECT *, tupleElement(m, 1) != '' AS hit
FROM (SELECT *,
        if(getSetting('insert_deduplication_token') = '',
           joinGet('${database}.verdict_memo', 'v', xxh3_128(k8s_cluster_name, dest, dest_ip, tupleElement(joinGet('${database}.peer_memo', 'v', toUInt64(0)), 2))),
           CAST(('', '', '', ''), 'Tuple(kind String, matched_type String, matched_cidr String, hint String)')) AS m
      FROM ${database}.span_stream);
DROP VIEW IF EXISTS ${database}.memo_probe_mv SYNC;
