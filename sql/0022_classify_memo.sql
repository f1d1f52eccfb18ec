-- A memo of verdicts per peer, across INSERTs: a peer (cluster, dest,
-- dest_ip) classified once is not classified again until the CIDRs or a
-- cluster domain change, as the offline memo in src/edges.rs does within
-- one run. Every view in an INSERT's path is analysed again on every INSERT
-- (ClickHouse 26.9), and the rule's seven views cost ~29 ms of analysis
-- per INSERT whatever its size plus ~20 ms for the rule on a 100,000-span
-- block's ~14,000 peers (BENCHMARKS.md). A view whose input block is empty
-- is not run at all, nor anything after it: when every peer of a block is
-- in the memo, the rule's views are skipped and a block costs one lookup
-- per span.
--
--   span_stream -> memo_probe_mv -> memo_stream (Null): each span and its
--                  memo entry, if any, and whether it may be used (`hit`)
--     memo_stream -> memo_hit_mv -> network_raw           hits: the entry's verdict
--     memo_stream -> classify_misses_mv -> classify_stage1  misses: 0018's
--        stages 1-5, unchanged -> classify_lookup_memo_mv -> classify_stage6m
--        -> classify_verdict_memo_mv -> classify_peers (Null): one row per peer
--          classify_peers -> classify_spans_out_mv -> network_raw   (ARRAY JOIN)
--          classify_peers -> memo_fill_mv -> peer_memo              (the memo)
--
-- The rule is unchanged: classify_lookup_memo_mv is 0018's stage 6 and
-- classify_verdict_memo_mv 0020's verdict, each with one column more
-- (memo_gen); the spans are put back as 0020's view did. A hit's network_raw
-- row is the one a miss gives for the same (cluster, dest, dest_ip), column
-- for column (tests/live/memo.rs inserts the parity corpus twice and compares).
--
-- When an entry may be used (memo_probe_mv, `hit`):
--   * its generation is the current one: the memo's entry for key 0 holds
--     the current generation (0 when there is none). `netmap push`, `push
--     --cluster-domain` and `apply-schema --refresh-dictionary` reload a
--     dictionary, then read the generation g, empty the memo and store g + 1
--     (src/clickhouse/memo.rs). An entry carries the generation read while
--     its lookup view was analysed, before the dictionaries were read, so it
--     was computed with that generation's dictionaries or newer ones, and a
--     newer reload is followed by a newer generation: a stale entry is never
--     used.
--     Reloading a dictionary by hand (SYSTEM RELOAD DICTIONARY) is not seen:
--     run `netmap apply-schema --refresh-dictionary` instead.
--   * the INSERT carries no insert_deduplication_token. A batch sent again
--     with its token (netmap replay's retries) must take the same views as
--     the first time: the dependent tables deduplicate a block by a token
--     derived from the views it went through, and a peer classified by the
--     first attempt would be a hit the second time. Such INSERTs always take
--     the rule's views (what they did before this migration; the probe does
--     not even look their spans up); they still fill the memo. An INSERT
--     without a token that is sent again may count the spans of peers that
--     were new in it twice (the first attempt memoised them); before this
--     migration such a retry was deduplicated when its block was identical.
--   * the entry is this peer's: the memo is keyed by cityHash64 of (cluster,
--     dest, dest_ip), and the entry keeps farmFingerprint64 of the same
--     three, which must match too (two 64-bit hashes; a clash of the first
--     alone costs a recomputation, never a wrong verdict).
-- A span with both dest and dest_ip empty never has an entry and is
-- dropped here as stage 2 drops it; one with only whitespace goes the
-- rule's way and stage 2 drops it there.
--
-- The memo is a Join table in memory (persistent = 0): a server restart
-- empties it (the first INSERTs after it take the rule's views). It stops
-- taking peers once it holds 1,000,000 entries (~155 bytes each: ~150 MB;
-- one INSERT may take it past that by its own new peers); after that new
-- peers are not memoised and take the rule's views on every INSERT, until a
-- push empties it (or TRUNCATE TABLE peer_memo).
--
-- Switching without losing a span, as 0018, 0020 and 0021 did: the new views
-- are created from the end of the chain back, each just before the old one
-- it replaces is dropped; an INSERT in such an instant is counted twice.

CREATE TABLE IF NOT EXISTS ${database}.peer_memo ${on_cluster}
(
    h1 UInt64,
    v Tuple(h2 UInt64, gen UInt64, kind String, matched_type String, matched_cidr String, hint String)
)
ENGINE = Join(ANY, LEFT, h1)
SETTINGS join_any_take_last_row = 1, persistent = 0;

-- 0018's stage 6 with the generation its lookup is made under.
CREATE TABLE IF NOT EXISTS ${database}.classify_stage6m ${on_cluster}
(
    k8s_cluster_name String,
    raw_dest String,
    raw_ip String,
    spans Array(Tuple(timestamp DateTime64(9, 'UTC'), src String, protocol String, duration_ns UInt64, is_error UInt8)),
    is_name UInt8,
    peer_name String,
    entry String,
    num UInt128,
    memo_gen UInt64
)
ENGINE = Null;

-- One row per classified peer: 0020's verdict, before the spans are put back.
CREATE TABLE IF NOT EXISTS ${database}.classify_peers ${on_cluster}
(
    k8s_cluster_name String,
    raw_dest String,
    raw_ip String,
    spans Array(Tuple(timestamp DateTime64(9, 'UTC'), src String, protocol String, duration_ns UInt64, is_error UInt8)),
    verdict Tuple(String, String, String, String),
    memo_gen UInt64
)
ENGINE = Null;

CREATE TABLE IF NOT EXISTS ${database}.memo_stream ${on_cluster}
(
    timestamp DateTime64(9, 'UTC'),
    k8s_cluster_name String,
    src String,
    dest String,
    dest_ip String,
    protocol String,
    duration_ns UInt64,
    is_error UInt8,
    m Tuple(h2 UInt64, gen UInt64, kind String, matched_type String, matched_cidr String, hint String),
    hit UInt8
)
ENGINE = Null;

-- The memo, filled with every verdict the rule gives, until it holds
-- 1,000,000 entries (the size read before this INSERT's are added).
CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.memo_fill_mv ${on_cluster}
TO ${database}.peer_memo
AS SELECT
    cityHash64(k8s_cluster_name, raw_dest, raw_ip) AS h1,
    (farmFingerprint64(k8s_cluster_name, raw_dest, raw_ip), memo_gen,
     tupleElement(verdict, 1), tupleElement(verdict, 2), tupleElement(verdict, 3), tupleElement(verdict, 4)) AS v
FROM ${database}.classify_peers
WHERE (SELECT sum(total_rows) FROM system.tables WHERE database = '${database}' AND name = 'peer_memo') < 1000000;

-- Every span of a classified peer gets its verdict (0020's outer SELECT).
CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.classify_spans_out_mv ${on_cluster}
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
FROM ${database}.classify_peers
ARRAY JOIN spans AS span;

-- 0020's verdict, per peer.
CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.classify_verdict_memo_mv ${on_cluster}
TO ${database}.classify_peers
AS SELECT
    k8s_cluster_name, raw_dest, raw_ip, spans,
    multiIf(
        is_name, ${database}_name_verdict_in(peer_name, concat('.',
            dictGetOrDefault('${database}.cluster_domain_dict', 'cluster_domain', tuple(k8s_cluster_name), 'cluster.local'))),
        ${database}_is_loopback(num), ('loopback', '', '', ''),
        ${database}_entry_verdict(entry, num)) AS verdict,
    memo_gen
FROM ${database}.classify_stage6m;

-- 0018's stage 6, and the current generation, read (a scalar subquery runs
-- while the view is analysed) before the trie is.
CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.classify_lookup_memo_mv ${on_cluster}
TO ${database}.classify_stage6m
AS SELECT
    k8s_cluster_name, raw_dest, raw_ip, spans,
    isNull(key) AS is_name,
    peer_name,
    ${database}_entry_at(entries, concat(',', hex(k8s_cluster_name), ':')) AS entry,
    toUInt128(assumeNotNull(key)) AS num,
    (SELECT tupleElement(joinGet('${database}.peer_memo', 'v', toUInt64(0)), 2)) AS memo_gen
FROM
(
    SELECT *,
        if(isNull(key), ${database}_valid_name(host_nd), '') AS peer_name,
        if(isNull(key), '', ${database}_trie_entries(assumeNotNull(key))) AS entries
    FROM ${database}.classify_stage5
);
DROP VIEW IF EXISTS ${database}.classify_stage6_mv ${on_cluster} SYNC;
DROP VIEW IF EXISTS ${database}.classify_verdict_mv ${on_cluster} SYNC;
DROP TABLE IF EXISTS ${database}.classify_stage6 ${on_cluster} SYNC;

-- Hits: the entry's verdict, per span.
CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.memo_hit_mv ${on_cluster}
TO ${database}.network_raw
AS SELECT
    timestamp, k8s_cluster_name, src,
    if(dest = '', dest_ip, dest) AS dest,
    dest_ip, protocol, duration_ns, is_error,
    tupleElement(m, 3) AS kind,
    toUInt8(tupleElement(m, 3) = 'world') AS is_external,
    tupleElement(m, 4) AS matched_type,
    tupleElement(m, 5) AS matched_cidr,
    tupleElement(m, 6) AS hint
FROM ${database}.memo_stream
WHERE hit;

-- Misses: 0018's stage 1 (group by peer), from here instead of span_stream.
CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.classify_misses_mv ${on_cluster}
TO ${database}.classify_stage1
AS SELECT
    k8s_cluster_name,
    dest AS raw_dest,
    dest_ip AS raw_ip,
    groupArray((timestamp, src, protocol, duration_ns, is_error)) AS spans
FROM ${database}.memo_stream
WHERE NOT hit AND NOT (dest = '' AND dest_ip = '')
GROUP BY k8s_cluster_name, dest, dest_ip;

-- The probe. With a deduplication token the entry is not even looked up:
-- the condition is a constant, so the server folds the `if` away while it
-- analyses the view, m is the empty tuple and every span a miss.
CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.memo_probe_mv ${on_cluster}
TO ${database}.memo_stream
AS SELECT *,
    tupleElement(m, 3) != ''
        AND tupleElement(m, 1) = farmFingerprint64(k8s_cluster_name, dest, dest_ip)
        AND tupleElement(m, 2) = tupleElement(joinGet('${database}.peer_memo', 'v', toUInt64(0)), 2) AS hit
FROM
(
    SELECT *,
        if(getSetting('insert_deduplication_token') = '',
           joinGet('${database}.peer_memo', 'v', cityHash64(k8s_cluster_name, dest, dest_ip)),
           CAST((0, 0, '', '', '', ''), 'Tuple(h2 UInt64, gen UInt64, kind String, matched_type String, matched_cidr String, hint String)')) AS m
    FROM ${database}.span_stream
);
DROP VIEW IF EXISTS ${database}.classify_stage1_mv ${on_cluster} SYNC;
