-- Stage 1, restructured for speed: the same rule as 0010 (the functions of
-- 0007, the same steps in the same order), now applied once per distinct
-- (cluster, dest, dest_ip) of an insert instead of once per span, by seven
-- materialized views chained through Null tables:
--
--   span_stream -> classify_stage1_mv -> classify_stage1 (Null)  group by peer
--               -> classify_stage2_mv -> classify_stage2 (Null)  trim
--               -> classify_stage3_mv -> classify_stage3 (Null)  address texts
--               -> classify_stage4_mv -> classify_stage4 (Null)  addresses, host
--               -> classify_stage5_mv -> classify_stage5 (Null)  the key
--               -> classify_stage6_mv -> classify_stage6 (Null)  the lookup
--               -> classify_stage7_mv -> network_raw             verdict, spans
--
-- and 0010's classify_spans (the same rule, per span) is dropped.
--
-- Why (BENCHMARKS.md, "In ClickHouse", has the numbers):
--   * Spans repeat their peers: an insert of 100,000 spans has ~14,000
--     distinct (cluster, dest, dest_ip). Stage 1 groups the block by them
--     (groupArray keeps every span's own columns as a tuple) and the last
--     stage puts the spans back with ARRAY JOIN, so the rule runs on the
--     distinct peers.
--   * One view of eight nested subqueries was slow twice over: ClickHouse
--     evaluates if/multiIf branches lazily and recomputes a column shared by
--     several lazy branches once per branch (the insert ran 3-7x slower than
--     with short_circuit_function_evaluation = disable, a setting a view
--     cannot carry); and analysing it cost ~0.2 s per INSERT (in the
--     analyzer's LogicalExpressionOptimizer pass, each AND/OR over a column
--     of a nested subquery cost ~3 ms). A view's output is a materialised
--     block: each stage computes its columns once, and each reads a table,
--     so analysis stays small (~40 ms for the seven).
--   * Grouping is a stage of its own: expressions over a GROUP BY's output in
--     the same view cost in proportion to the spans in the arrays (2-4x
--     slower on 250,000-500,000-span inserts), over a table in proportion
--     to the peers.
--
-- Switching without losing a span: the views are created in chain order, so
-- the chain is complete only when stage 7 exists; until then spans entering
-- it stop in a Null table and 0010's view, still there, classifies them.
-- 0010's view is dropped right after. An INSERT uses the views that existed
-- when it started, so an insert running in the instant between the last two
-- statements is classified twice (counted twice in network_raw), never
-- lost. (ALTER TABLE classify_spans MODIFY QUERY would switch atomically,
-- but on ClickHouse 26.9 a view altered that way derives other
-- deduplication tokens before and after a server restart, so a batch
-- retried across a restart was stored twice: tests/live/replay.rs.)

-- 1. Group the block by peer, and nothing else: every span's own columns
--    ride along, one tuple per span, in `spans`.
CREATE TABLE IF NOT EXISTS ${database}.classify_stage1 ${on_cluster}
(
    k8s_cluster_name String,
    raw_dest String,
    raw_ip String,
    spans Array(Tuple(timestamp DateTime64(9, 'UTC'), src String, protocol String, duration_ns UInt64, is_error UInt8))
)
ENGINE = Null;

CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.classify_stage1_mv ${on_cluster}
TO ${database}.classify_stage1
AS SELECT
    k8s_cluster_name,
    dest AS raw_dest,
    dest_ip AS raw_ip,
    groupArray((timestamp, src, protocol, duration_ns, is_error)) AS spans
FROM ${database}.span_stream
GROUP BY k8s_cluster_name, dest, dest_ip;

-- 2. Trim dest and dest_ip (str::trim). A peer with both blank is not an
--    edge: dropped here, as in 0010 (the Rust readers reject it).
CREATE TABLE IF NOT EXISTS ${database}.classify_stage2 ${on_cluster}
(
    k8s_cluster_name String,
    raw_dest String,
    raw_ip String,
    spans Array(Tuple(timestamp DateTime64(9, 'UTC'), src String, protocol String, duration_ns UInt64, is_error UInt8)),
    t_dest String,
    t_ip String
)
ENGINE = Null;

CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.classify_stage2_mv ${on_cluster}
TO ${database}.classify_stage2
AS SELECT *
FROM
(
    SELECT
        k8s_cluster_name, raw_dest, raw_ip, spans,
        ${database}_trim(raw_dest) AS t_dest,
        ${database}_trim(raw_ip) AS t_ip
    FROM ${database}.classify_stage1
)
WHERE NOT (t_dest = '' AND t_ip = '');

-- 3. The peer string parse_peer sees (dest, or dest_ip when dest is blank);
--    whether it is a URL; what of dest_ip / dest must be an address, and of
--    which family.
CREATE TABLE IF NOT EXISTS ${database}.classify_stage3 ${on_cluster}
(
    k8s_cluster_name String,
    raw_dest String,
    raw_ip String,
    spans Array(Tuple(timestamp DateTime64(9, 'UTC'), src String, protocol String, duration_ns UInt64, is_error UInt8)),
    peer String,
    is_url UInt8,
    ip_text String,
    ip_family String,
    dest_text String,
    dest_family String
)
ENGINE = Null;

CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.classify_stage3_mv ${on_cluster}
TO ${database}.classify_stage3
AS SELECT
    k8s_cluster_name, raw_dest, raw_ip, spans,
    peer,
    position(peer, '://') > 0 AS is_url,
    ${database}_ip_text(t_ip) AS ip_text,
    ${database}_ip_family(t_ip) AS ip_family,
    ${database}_ip_text(t_dest) AS dest_text,
    ${database}_ip_family(t_dest) AS dest_family
FROM
(
    SELECT *, if(t_dest = '', t_ip, t_dest) AS peer
    FROM ${database}.classify_stage2
);

-- 4. dest_ip as an address (parse_ip), else dest as one; the host: the
--    URL's host or the peer itself.
CREATE TABLE IF NOT EXISTS ${database}.classify_stage4 ${on_cluster}
(
    k8s_cluster_name String,
    raw_dest String,
    raw_ip String,
    spans Array(Tuple(timestamp DateTime64(9, 'UTC'), src String, protocol String, duration_ns UInt64, is_error UInt8)),
    is_url UInt8,
    key_ip Nullable(IPv6),
    key_dest Nullable(IPv6),
    host String,
    url_t String
)
ENGINE = Null;

CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.classify_stage4_mv ${on_cluster}
TO ${database}.classify_stage4
AS SELECT
    k8s_cluster_name, raw_dest, raw_ip, spans,
    is_url,
    ${database}_ip_of(ip_text, ip_family) AS key_ip,
    if(isNull(key_ip), ${database}_ip_of(dest_text, dest_family), NULL) AS key_dest,
    if(is_url, ${database}_url_host(peer), peer) AS host,
    if(is_url, ${database}_trim(${database}_url_host(peer)), '') AS url_t
FROM ${database}.classify_stage3;

-- 5. The URL host as an address; `host:port` -> host; the address to look
--    up (dest_ip's, else dest's, else the URL host's); one trailing dot off.
CREATE TABLE IF NOT EXISTS ${database}.classify_stage5 ${on_cluster}
(
    k8s_cluster_name String,
    raw_dest String,
    raw_ip String,
    spans Array(Tuple(timestamp DateTime64(9, 'UTC'), src String, protocol String, duration_ns UInt64, is_error UInt8)),
    key Nullable(IPv6),
    host_nd String
)
ENGINE = Null;

CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.classify_stage5_mv ${on_cluster}
TO ${database}.classify_stage5
AS SELECT
    k8s_cluster_name, raw_dest, raw_ip, spans,
    coalesce(key_ip, key_dest, if(is_url, ${database}_ip_of(url_text, url_family), NULL)) AS key,
    ${database}_strip_dot(host_np) AS host_nd
FROM
(
    SELECT *,
        ${database}_ip_text(url_t) AS url_text,
        ${database}_ip_family(url_t) AS url_family,
        ${database}_strip_port(host) AS host_np
    FROM ${database}.classify_stage4
);

-- 6. No address: the host as a DNS name ('' when invalid); an address: the
--    one dictionary lookup, the cluster's own winner in it, the address as
--    a number.
CREATE TABLE IF NOT EXISTS ${database}.classify_stage6 ${on_cluster}
(
    k8s_cluster_name String,
    raw_dest String,
    raw_ip String,
    spans Array(Tuple(timestamp DateTime64(9, 'UTC'), src String, protocol String, duration_ns UInt64, is_error UInt8)),
    is_name UInt8,
    peer_name String,
    entry String,
    num UInt128
)
ENGINE = Null;

CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.classify_stage6_mv ${on_cluster}
TO ${database}.classify_stage6
AS SELECT
    k8s_cluster_name, raw_dest, raw_ip, spans,
    isNull(key) AS is_name,
    peer_name,
    ${database}_entry_at(entries, concat(',', hex(k8s_cluster_name), ':')) AS entry,
    toUInt128(assumeNotNull(key)) AS num
FROM
(
    SELECT *,
        if(isNull(key), ${database}_valid_name(host_nd), '') AS peer_name,
        if(isNull(key), '', ${database}_trie_entries(assumeNotNull(key))) AS entries
    FROM ${database}.classify_stage5
);

-- 7. The verdict: a name's rule, or loopback, or the cluster's CIDR, or
--    world with a hint; then every span of the peer gets it back. A span's
--    elements are taken by position, in stage 1's order (by name they
--    would exist only through the Null table's type, not when the stages'
--    SELECTs are composed into one query, as scripts/bench does).
CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.classify_stage7_mv ${on_cluster}
TO ${database}.network_raw
AS SELECT
    tupleElement(span, 1) AS timestamp,
    k8s_cluster_name,
    tupleElement(span, 2) AS src,
    if(raw_dest = '', raw_ip, raw_dest) AS dest,
    raw_ip AS dest_ip,
    tupleElement(span, 3) AS protocol,
    tupleElement(span, 4) AS duration_ns,
    tupleElement(span, 5) AS is_error,
    tupleElement(verdict, 1) AS kind,
    toUInt8(tupleElement(verdict, 1) = 'world') AS is_external,
    tupleElement(verdict, 2) AS matched_type,
    tupleElement(verdict, 3) AS matched_cidr,
    tupleElement(verdict, 4) AS hint
FROM
(
    SELECT *, multiIf(
        is_name, ${database}_name_verdict(peer_name),
        ${database}_is_loopback(num), ('loopback', '', '', ''),
        ${database}_entry_verdict(entry, num)) AS verdict
    FROM ${database}.classify_stage6
)
ARRAY JOIN spans AS span;

-- The chain is complete: 0010's per-span view goes.
DROP VIEW IF EXISTS ${database}.classify_spans ${on_cluster} SYNC;
