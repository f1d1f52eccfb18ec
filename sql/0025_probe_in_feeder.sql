-- The memo's probe moves into the view that feeds the rule, so that a block
-- goes through one view less on every INSERT (BENCHMARKS.md, "sql/0025"):
--
--   before: spans -> spans_to_stream -> span_stream -> probe_mv -> probed_spans
--   after:  spans -> spans_probe_mv -> probed_spans
--
-- ClickHouse analyses and plans every view of an INSERT's path again for
-- every block (~2 ms each here), and spans_to_stream did nothing but copy
-- the block (measured side by side: about 1 point of (a)'s throughput in the
-- steady state, within the noise of one run). The probe itself is sql/0022's
-- rule for `hit`, as sql/0024 wrote it, now stated once, as two functions:
--
--   ${database}_memo_entry(cluster, dest, dest_ip): the memo's entry for the
--     peer, or, for an INSERT with an insert_deduplication_token, the entry
--     of key 0 (the generation's: its kind is '', so never a hit; a token's
--     INSERT takes the rule's views, sql/0022 says why). The `if` is folded
--     while the view is analysed.
--   ${database}_memo_hit(entry, cluster, dest, dest_ip): the entry is this
--     peer's (its second hash matches) and of the current generation, and
--     has a verdict.
--
-- span_stream stays, with its probe rebuilt on these functions
-- (span_stream_probe_mv), for sources that feed it: sql/0015's SigNoz view,
-- until sql/0026 moves its probe too, and any view a user points at it.
--
-- Switched as 0018-0024 switched views: each new view is created before the
-- old one it replaces is dropped, so an INSERT in that instant may be
-- counted twice and none is lost.

CREATE OR REPLACE FUNCTION ${database}_memo_entry ${on_cluster} AS (c, d, i) ->
    joinGet('${database}.verdict_memo', 'v',
            if(getSetting('insert_deduplication_token') = '', cityHash64(c, d, i), toUInt64(0)));

CREATE OR REPLACE FUNCTION ${database}_memo_hit ${on_cluster} AS (m, c, d, i) ->
    tupleElement(m, 3) != ''
        AND tupleElement(m, 1) = farmFingerprint64(c, d, i)
        AND tupleElement(m, 2) = tupleElement(joinGet('${database}.verdict_memo', 'v', toUInt64(0)), 2);

CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.spans_probe_mv ${on_cluster}
TO ${database}.probed_spans
AS WITH ${database}_memo_entry(k8s_cluster_name, dest, dest_ip) AS m
SELECT
    timestamp, k8s_cluster_name, src, dest, dest_ip, protocol, duration_ns, is_error,
    tupleElement(m, 3) AS kind,
    tupleElement(m, 4) AS matched_type,
    tupleElement(m, 5) AS matched_cidr,
    tupleElement(m, 6) AS hint,
    ${database}_memo_hit(m, k8s_cluster_name, dest, dest_ip) AS hit
FROM ${database}.spans;
DROP VIEW IF EXISTS ${database}.spans_to_stream ${on_cluster} SYNC;

CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.span_stream_probe_mv ${on_cluster}
TO ${database}.probed_spans
AS WITH ${database}_memo_entry(k8s_cluster_name, dest, dest_ip) AS m
SELECT
    timestamp, k8s_cluster_name, src, dest, dest_ip, protocol, duration_ns, is_error,
    tupleElement(m, 3) AS kind,
    tupleElement(m, 4) AS matched_type,
    tupleElement(m, 5) AS matched_cidr,
    tupleElement(m, 6) AS hint,
    ${database}_memo_hit(m, k8s_cluster_name, dest, dest_ip) AS hit
FROM ${database}.span_stream;
DROP VIEW IF EXISTS ${database}.probe_mv ${on_cluster} SYNC;
