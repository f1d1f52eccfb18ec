-- The verdict's closed sets as Enum8, in network_raw and in the memo, so
-- that a memo hit copies three bytes and one String instead of four Strings
-- and network_raw stores numbers instead of hashing three Strings per span
-- into LowCardinality dictionaries (BENCHMARKS.md, "sql/0024"). Same rows as
-- text: an Enum8 column reads, prints and compares (`kind = 'pod'`) as its
-- names. Comparing with a name it does not have is an error, not false.
--
-- The values are src/rule.rs's Kind and Hint and src/cidr.rs's NetworkType,
-- in their order, plus '' (no CIDR matched, no hint; the SQL rule's
-- `[...][digit]` gives '' for a digit out of range). Every String the SQL
-- rule can give is one of them (a unit test in src/clickhouse/migrate.rs
-- checks the Rust names against this file), so the rule's views convert
-- their Strings on the way in. A value missing here would fail the INSERT,
-- never be stored wrong.
--
-- network_raw's three columns change type in place (ALTER: existing parts
-- are rewritten in the background by a mutation). The memo of sql/0022 is
-- built again with the new types under new names, because a view names its
-- tables, and replaced the way 0018-0022 replaced views: each new object is
-- created before the old one it replaces is dropped, so an INSERT in that
-- instant may be counted twice and none is lost.
--
--   span_stream -> probe_mv -> probed_spans (Null): each span, its entry's
--                  verdict as columns, and `hit` (sql/0022's rule for it)
--     probed_spans -> probed_hits_mv -> network_raw
--     probed_spans -> probed_misses_mv -> classify_stage1 -> ... the rule
--        -> classify_lookup_gen_mv (stage 6, generation of verdict_memo)
--        -> ... classify_peers -> verdict_memo_fill_mv -> verdict_memo
--
-- verdict_memo is peer_memo with Enum8s. Its generation starts one above
-- peer_memo's, so an entry made by an INSERT still running on the old views
-- (marked with an old generation) is never used.

ALTER TABLE ${database}.network_raw ${on_cluster}
    MODIFY COLUMN kind Enum8('' = 0, 'pod' = 1, 'service' = 2, 'node' = 3, 'remote-node' = 4, 'loopback' = 5, 'world' = 6),
    MODIFY COLUMN matched_type Enum8('' = 0, 'pod_cidr' = 1, 'service_cidr' = 2, 'node_cidr' = 3, 'remote_node_cidr' = 4),
    MODIFY COLUMN hint Enum8('' = 0, 'private' = 1, 'shared' = 2, 'cloud-metadata' = 3, 'link-local' = 4, 'unique-local' = 5,
                             'multicast' = 6, 'documentation' = 7, 'reserved' = 8, 'public' = 9, 'hostname' = 10, 'invalid' = 11);

CREATE TABLE IF NOT EXISTS ${database}.verdict_memo ${on_cluster}
(
    h1 UInt64,
    v Tuple(
        h2 UInt64,
        gen UInt64,
        kind Enum8('' = 0, 'pod' = 1, 'service' = 2, 'node' = 3, 'remote-node' = 4, 'loopback' = 5, 'world' = 6),
        matched_type Enum8('' = 0, 'pod_cidr' = 1, 'service_cidr' = 2, 'node_cidr' = 3, 'remote_node_cidr' = 4),
        matched_cidr String,
        hint Enum8('' = 0, 'private' = 1, 'shared' = 2, 'cloud-metadata' = 3, 'link-local' = 4, 'unique-local' = 5,
                   'multicast' = 6, 'documentation' = 7, 'reserved' = 8, 'public' = 9, 'hostname' = 10, 'invalid' = 11))
)
ENGINE = Join(ANY, LEFT, h1)
SETTINGS join_any_take_last_row = 1, persistent = 0;

INSERT INTO ${database}.verdict_memo
SELECT 0, (0, tupleElement(joinGet('${database}.peer_memo', 'v', toUInt64(0)), 2) + 1, '', '', '', '');

CREATE TABLE IF NOT EXISTS ${database}.probed_spans ${on_cluster}
(
    timestamp DateTime64(9, 'UTC'),
    k8s_cluster_name String,
    src String,
    dest String,
    dest_ip String,
    protocol String,
    duration_ns UInt64,
    is_error UInt8,
    kind Enum8('' = 0, 'pod' = 1, 'service' = 2, 'node' = 3, 'remote-node' = 4, 'loopback' = 5, 'world' = 6),
    matched_type Enum8('' = 0, 'pod_cidr' = 1, 'service_cidr' = 2, 'node_cidr' = 3, 'remote_node_cidr' = 4),
    matched_cidr String,
    hint Enum8('' = 0, 'private' = 1, 'shared' = 2, 'cloud-metadata' = 3, 'link-local' = 4, 'unique-local' = 5,
               'multicast' = 6, 'documentation' = 7, 'reserved' = 8, 'public' = 9, 'hostname' = 10, 'invalid' = 11),
    hit UInt8
)
ENGINE = Null;

-- 0022's stage 6, reading the generation of verdict_memo.
CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.classify_lookup_gen_mv ${on_cluster}
TO ${database}.classify_stage6m
AS SELECT
    k8s_cluster_name, raw_dest, raw_ip, spans,
    isNull(key) AS is_name,
    peer_name,
    ${database}_entry_at(entries, concat(',', hex(k8s_cluster_name), ':')) AS entry,
    toUInt128(assumeNotNull(key)) AS num,
    (SELECT tupleElement(joinGet('${database}.verdict_memo', 'v', toUInt64(0)), 2)) AS memo_gen
FROM
(
    SELECT *,
        if(isNull(key), ${database}_valid_name(host_nd), '') AS peer_name,
        if(isNull(key), '', ${database}_trie_entries(assumeNotNull(key))) AS entries
    FROM ${database}.classify_stage5
);
DROP VIEW IF EXISTS ${database}.classify_lookup_memo_mv ${on_cluster} SYNC;

-- The memo, filled as 0022's memo_fill_mv filled peer_memo.
CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.verdict_memo_fill_mv ${on_cluster}
TO ${database}.verdict_memo
AS SELECT
    cityHash64(k8s_cluster_name, raw_dest, raw_ip) AS h1,
    (farmFingerprint64(k8s_cluster_name, raw_dest, raw_ip), memo_gen,
     tupleElement(verdict, 1), tupleElement(verdict, 2), tupleElement(verdict, 3), tupleElement(verdict, 4)) AS v
FROM ${database}.classify_peers
WHERE (SELECT sum(total_rows) FROM system.tables WHERE database = '${database}' AND name = 'verdict_memo') < 1000000;

-- Hits: the entry's verdict, per span.
CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.probed_hits_mv ${on_cluster}
TO ${database}.network_raw
AS SELECT
    timestamp, k8s_cluster_name, src,
    if(dest = '', dest_ip, dest) AS dest,
    dest_ip, protocol, duration_ns, is_error,
    kind,
    toUInt8(kind = 'world') AS is_external,
    matched_type, matched_cidr, hint
FROM ${database}.probed_spans
WHERE hit;

-- Misses: 0018's stage 1 (group by peer).
CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.probed_misses_mv ${on_cluster}
TO ${database}.classify_stage1
AS SELECT
    k8s_cluster_name,
    dest AS raw_dest,
    dest_ip AS raw_ip,
    groupArray((timestamp, src, protocol, duration_ns, is_error)) AS spans
FROM ${database}.probed_spans
WHERE NOT hit AND NOT (dest = '' AND dest_ip = '')
GROUP BY k8s_cluster_name, dest, dest_ip;

-- The probe: 0022's, with the verdict as columns (no tuple carried on).
CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.probe_mv ${on_cluster}
TO ${database}.probed_spans
AS WITH
    if(getSetting('insert_deduplication_token') = '',
       joinGet('${database}.verdict_memo', 'v', cityHash64(k8s_cluster_name, dest, dest_ip)),
       CAST((0, 0, '', '', '', '') AS Tuple(
            h2 UInt64,
            gen UInt64,
            kind Enum8('' = 0, 'pod' = 1, 'service' = 2, 'node' = 3, 'remote-node' = 4, 'loopback' = 5, 'world' = 6),
            matched_type Enum8('' = 0, 'pod_cidr' = 1, 'service_cidr' = 2, 'node_cidr' = 3, 'remote_node_cidr' = 4),
            matched_cidr String,
            hint Enum8('' = 0, 'private' = 1, 'shared' = 2, 'cloud-metadata' = 3, 'link-local' = 4, 'unique-local' = 5,
                       'multicast' = 6, 'documentation' = 7, 'reserved' = 8, 'public' = 9, 'hostname' = 10, 'invalid' = 11)))) AS m
SELECT
    timestamp, k8s_cluster_name, src, dest, dest_ip, protocol, duration_ns, is_error,
    tupleElement(m, 3) AS kind,
    tupleElement(m, 4) AS matched_type,
    tupleElement(m, 5) AS matched_cidr,
    tupleElement(m, 6) AS hint,
    kind != ''
        AND tupleElement(m, 1) = farmFingerprint64(k8s_cluster_name, dest, dest_ip)
        AND tupleElement(m, 2) = tupleElement(joinGet('${database}.verdict_memo', 'v', toUInt64(0)), 2) AS hit
FROM ${database}.span_stream;
DROP VIEW IF EXISTS ${database}.memo_probe_mv ${on_cluster} SYNC;

DROP VIEW IF EXISTS ${database}.memo_hit_mv ${on_cluster} SYNC;
DROP VIEW IF EXISTS ${database}.classify_misses_mv ${on_cluster} SYNC;
DROP VIEW IF EXISTS ${database}.memo_fill_mv ${on_cluster} SYNC;
DROP TABLE IF EXISTS ${database}.memo_stream ${on_cluster} SYNC;
DROP TABLE IF EXISTS ${database}.peer_memo ${on_cluster} SYNC;
