-- Written for the schema before sql/0024 (peer_memo, memo_stream,
-- memo_probe_mv): it does not apply to a newer one. To run it again, use
-- scripts/bench and sql/ as of commit 4bc344a.
--
-- Not kept (BENCHMARKS.md, "Re-measured on 2026-12-01"): four views instead
-- of sql/0018's seven, with the address forms read by one replaceRegexpOne
-- (ip_mark) instead of 0007's ip_text / ip_family expansions. 85% of the
-- no-classification chain against 84% for sql/0018 side by side: analysis
-- 34.8 -> 26.7 ms per insert, execution 36.5 -> 45.7 ms (each
-- replaceRegexpOne over ~14,000 peers costs 4-5 ms, whatever the pattern).
-- Written as a migration would be (it replaces 0018's stages 2-6, keeping
-- stage 1 and stage 7; since sql/0021 it drops 0021's stage 3 and 5 views
-- too, and names its lookup view classify_lookup_mv, as 0021 took classify_key_mv;
-- since sql/0022 it writes 0022's stage 6 table, with the memo's generation,
-- and drops 0022's lookup view: the memo stays in front of it);
-- applied on top of netmap's schema.
--
-- ip_mark is 0007's ip_text + ip_family (same precedence) as one rewrite of
-- a trimmed string: `[a]`, `[a]:port`, `[a%zone]`, `a%zone` -> \x01 a \x01
-- (IPv6 only); `a:port` -> \x01\x01 a (IPv4 only); anything else unchanged
-- (either family). A \x01 in the input is made \x02 first, so marks are ours.
CREATE OR REPLACE FUNCTION ${database}_ip_mark ${on_cluster} AS (s) -> replaceRegexpOne(
    replaceAll(s, '\x01', '\x02'),
    '^\\[([^\\]%]*)(?:%[^\\]]+)?\\](?::(?:[0-9]{1,4}|[0-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?$|^([^\\[%][^%]*)%(?s:.+)$|^([^:\\[%]*):(?:[0-9]{1,4}|[0-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$',
    '\x01\\1\\2\x01\\3');
-- The text and the family ('6', '4', 'a', as 0007's ip_family) of a marked string.
CREATE OR REPLACE FUNCTION ${database}_marked_text ${on_cluster} AS (m) -> replaceAll(m, '\x01', '');
CREATE OR REPLACE FUNCTION ${database}_marked_family ${on_cluster} AS (m) ->
    multiIf(startsWith(m, '\x01\x01'), '4', startsWith(m, '\x01'), '6', 'a');

-- 2. Trim; drop blank peers; the peer string; dest_ip's, dest's and the
--    URL host's address texts and families; the name host (URL host or
--    peer, `host:port` -> host, one trailing dot off).
CREATE TABLE IF NOT EXISTS ${database}.classify_peer ${on_cluster}
(
    k8s_cluster_name String,
    raw_dest String,
    raw_ip String,
    spans Array(Tuple(timestamp DateTime64(9, 'UTC'), src String, protocol String, duration_ns UInt64, is_error UInt8)),
    ip_text String,
    ip_family String,
    dest_text String,
    dest_family String,
    url_text String,
    url_family String,
    host_nd String
)
ENGINE = Null;

-- 3. The address to look up (dest_ip's, else dest's, else the URL host's);
--    no address: the host as a DNS name ('' when invalid); an address: the
--    one dictionary lookup and the cluster's own winner in it. Writes into
--    0022's stage 6 table, whose view gives the verdict.
CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.classify_lookup_mv ${on_cluster}
TO ${database}.classify_stage6m
AS SELECT
    k8s_cluster_name, raw_dest, raw_ip, spans,
    isNull(key) AS is_name,
    if(isNull(key), ${database}_valid_name(host_nd), '') AS peer_name,
    ${database}_entry_at(entries, concat(',', hex(k8s_cluster_name), ':')) AS entry,
    toUInt128(assumeNotNull(key)) AS num,
    (SELECT tupleElement(joinGet('${database}.peer_memo', 'v', toUInt64(0)), 2)) AS memo_gen
FROM
(
    SELECT *, if(isNull(key), '', ${database}_trie_entries(assumeNotNull(key))) AS entries
    FROM
    (
        SELECT *,
            coalesce(${database}_ip_of(ip_text, ip_family),
                     ${database}_ip_of(dest_text, dest_family),
                     ${database}_ip_of(url_text, url_family)) AS key
        FROM ${database}.classify_peer
    )
);

-- Created last: from here on both chains feed classify_stage6m.
CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.classify_peer_mv ${on_cluster}
TO ${database}.classify_peer
AS SELECT
    k8s_cluster_name, raw_dest, raw_ip, spans,
    ${database}_marked_text(ip_m) AS ip_text,
    ${database}_marked_family(ip_m) AS ip_family,
    ${database}_marked_text(dest_m) AS dest_text,
    ${database}_marked_family(dest_m) AS dest_family,
    ${database}_marked_text(url_m) AS url_text,
    ${database}_marked_family(url_m) AS url_family,
    ${database}_strip_dot(host_np) AS host_nd
FROM
(
    SELECT *,
        ${database}_ip_mark(t_ip) AS ip_m,
        ${database}_ip_mark(t_dest) AS dest_m,
        ${database}_ip_mark(${database}_trim(${database}_url_host(peer))) AS url_m,
        ${database}_strip_port(if(position(peer, '://') > 0, ${database}_url_host(peer), peer)) AS host_np
    FROM
    (
        SELECT *, if(t_dest = '', t_ip, t_dest) AS peer
        FROM
        (
            SELECT k8s_cluster_name, raw_dest, raw_ip, spans,
                ${database}_trim(raw_dest) AS t_dest,
                ${database}_trim(raw_ip) AS t_ip
            FROM ${database}.classify_stage1
        )
        WHERE NOT (t_dest = '' AND t_ip = '')
    )
);

-- 0018's stages 2 to 6 go: the entry first (spans stop feeding them), then
-- the rest of that chain and its Null tables.
DROP VIEW IF EXISTS ${database}.classify_stage2_mv ${on_cluster} SYNC;
DROP VIEW IF EXISTS ${database}.classify_stage3_mv ${on_cluster} SYNC;
DROP VIEW IF EXISTS ${database}.classify_texts_mv ${on_cluster} SYNC;
DROP VIEW IF EXISTS ${database}.classify_stage4_mv ${on_cluster} SYNC;
DROP VIEW IF EXISTS ${database}.classify_stage5_mv ${on_cluster} SYNC;
DROP VIEW IF EXISTS ${database}.classify_key_mv ${on_cluster} SYNC;
DROP VIEW IF EXISTS ${database}.classify_stage6_mv ${on_cluster} SYNC;
DROP VIEW IF EXISTS ${database}.classify_lookup_memo_mv ${on_cluster} SYNC;
DROP TABLE IF EXISTS ${database}.classify_stage2 ${on_cluster} SYNC;
DROP TABLE IF EXISTS ${database}.classify_stage3 ${on_cluster} SYNC;
DROP TABLE IF EXISTS ${database}.classify_stage4 ${on_cluster} SYNC;
DROP TABLE IF EXISTS ${database}.classify_stage5 ${on_cluster} SYNC;
