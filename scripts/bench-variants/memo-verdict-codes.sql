-- Written for the schema before sql/0024 (peer_memo, memo_stream,
-- memo_probe_mv): it does not apply to a newer one. To run it again, use
-- scripts/bench and sql/ as of commit 4bc344a.
--
-- Not kept (BENCHMARKS.md, "The steady state, taken apart"): memo-128-bit-key's
-- memo with kind, matched_type and hint stored as one small number (their
-- places in the rule's closed lists) and read back with arrayElement, so
-- the lookup copies one String (matched_cidr) instead of four. A verdict
-- with a value outside the lists is not memoised. No faster than four
-- Strings. The edges are netmap's (the bench's check compares them).
--
--   scripts/bench --insert-cidrs 100 --steady 40 --variant scripts/bench-variants/memo-verdict-codes.sql ...
--
-- Applied on top of netmap's schema (apply-schema + push); ${database} is the database.
CREATE TABLE ${database}.verdict_memo (h UInt128, v Tuple(code UInt16, matched_cidr String)) ENGINE = Join(ANY, LEFT, h) SETTINGS join_any_take_last_row = 1, persistent = 0;
CREATE TABLE ${database}.memo_stream_codes (timestamp DateTime64(9, 'UTC'), k8s_cluster_name String, src String, dest String, dest_ip String, protocol String, duration_ns UInt64, is_error UInt8, m Tuple(code UInt16, matched_cidr String), hit UInt8) ENGINE = Null;
DROP VIEW IF EXISTS ${database}.memo_fill_mv SYNC;
CREATE MATERIALIZED VIEW ${database}.memo_fill_codes_mv TO ${database}.verdict_memo AS SELECT
    xxh3_128(k8s_cluster_name, raw_dest, raw_ip, memo_gen) AS h,
    (k + 8 * (t - 1) + 64 * (n - 1), tupleElement(verdict, 3)) AS v
FROM (SELECT *, indexOf(['pod', 'service', 'node', 'remote-node', 'loopback', 'world'], tupleElement(verdict, 1)) AS k,
        indexOf(['', 'pod_cidr', 'service_cidr', 'node_cidr', 'remote_node_cidr'], tupleElement(verdict, 2)) AS t,
        indexOf(['', 'private', 'shared', 'cloud-metadata', 'link-local', 'unique-local', 'multicast', 'documentation', 'reserved', 'public', 'hostname', 'invalid'], tupleElement(verdict, 4)) AS n
      FROM ${database}.classify_peers)
WHERE k > 0 AND t > 0 AND n > 0;
CREATE MATERIALIZED VIEW ${database}.memo_hit_codes_mv TO ${database}.network_raw AS SELECT
    timestamp, k8s_cluster_name, src, if(dest = '', dest_ip, dest) AS dest, dest_ip, protocol, duration_ns, is_error,
    arrayElement(['pod', 'service', 'node', 'remote-node', 'loopback', 'world'], tupleElement(m, 1) % 8) AS kind,
    toUInt8(tupleElement(m, 1) % 8 = 6) AS is_external,
    arrayElement(['', 'pod_cidr', 'service_cidr', 'node_cidr', 'remote_node_cidr'], intDiv(tupleElement(m, 1), 8) % 8 + 1) AS matched_type,
    tupleElement(m, 2) AS matched_cidr,
    arrayElement(['', 'private', 'shared', 'cloud-metadata', 'link-local', 'unique-local', 'multicast', 'documentation', 'reserved', 'public', 'hostname', 'invalid'], intDiv(tupleElement(m, 1), 64) + 1) AS hint
FROM ${database}.memo_stream_codes WHERE hit;
CREATE MATERIALIZED VIEW ${database}.classify_misses_codes_mv TO ${database}.classify_stage1 AS SELECT
    k8s_cluster_name, dest AS raw_dest, dest_ip AS raw_ip, groupArray((timestamp, src, protocol, duration_ns, is_error)) AS spans
FROM ${database}.memo_stream_codes WHERE NOT hit AND NOT (dest = '' AND dest_ip = '') GROUP BY k8s_cluster_name, dest, dest_ip;
CREATE MATERIALIZED VIEW ${database}.memo_probe_codes_mv TO ${database}.memo_stream_codes AS SELECT *, tupleElement(m, 1) != 0 AS hit
FROM (SELECT *,
        if(getSetting('insert_deduplication_token') = '',
           joinGet('${database}.verdict_memo', 'v', xxh3_128(k8s_cluster_name, dest, dest_ip, tupleElement(joinGet('${database}.peer_memo', 'v', toUInt64(0)), 2))),
           CAST((0, ''), 'Tuple(code UInt16, matched_cidr String)')) AS m
      FROM ${database}.span_stream);
DROP VIEW IF EXISTS ${database}.memo_probe_mv SYNC;
