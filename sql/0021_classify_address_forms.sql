-- The same address forms as 0007's ip_text and ip_family (parse_ip, step 1),
-- told apart by regular expressions instead of position arithmetic, for the
-- fixed cost of an INSERT: ClickHouse analyses every view on every INSERT,
-- at a cost that grows with the query tree once SQL functions are expanded,
-- and ip_text expanded to 347 tree lines (bracket_ok, has_port, unzone and
-- is_port repeating their arguments), used three times by 0018's stages 3
-- and 5 (BENCHMARKS.md, "Re-measured on 2026-12-01"). What is an address is
-- still decided by 0007 (ip_of: is_v4, is_v6), unchanged.
--
-- Same contract, clause for clause (s is trimmed):
--   `[...]` : valid only as `[inner]` or `[inner]:port` (bracket_ok); the
--             text is inner up to its first `%` (unzone), '' when that `%`
--             ends inner; family '6'
--   `%` in s: the text before the first `%`, '' when that `%` ends s; '6'
--   `a:port`: the text before the first `:` when all after it is a port
--             (has_port: 1-5 digits, at most 65535); family '4'
--   else    : s itself; family 'a'
-- A port is 1-5 ASCII digits of value at most 65535 (is_port), here as one
-- pattern. match() patterns are compiled once per server, not per INSERT.
CREATE OR REPLACE FUNCTION ${database}_addr_text ${on_cluster} AS (s) -> multiIf(
    startsWith(s, '['),
        if(match(s, '^\\[[^\\]]*\\](?::(?:[0-9]{1,4}|[0-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?$')
           AND NOT match(s, '^\\[[^\\]%]*%\\]'),
           extract(s, '^\\[([^\\]%]*)'), ''),
    position(s, '%') > 0,
        if(position(s, '%') < length(s), substring(s, 1, position(s, '%') - 1), ''),
    match(s, '^[^:]*:(?:[0-9]{1,4}|[0-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$'),
        substring(s, 1, position(s, ':') - 1),
    s);
CREATE OR REPLACE FUNCTION ${database}_addr_family ${on_cluster} AS (s) -> multiIf(
    startsWith(s, '[') OR position(s, '%') > 0, '6',
    match(s, '^[^:]*:(?:[0-9]{1,4}|[0-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$'), '4',
    'a');

-- 0018's stage 5 and stage 3 again with addr_text / addr_family, into the
-- same tables. Each new view is created just before its old one is
-- dropped: an insert in that instant is counted twice, none is lost (as
-- when 0018 and 0020 replaced views).
CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.classify_key_mv ${on_cluster}
TO ${database}.classify_stage5
AS SELECT
    k8s_cluster_name, raw_dest, raw_ip, spans,
    coalesce(key_ip, key_dest, if(is_url, ${database}_ip_of(url_text, url_family), NULL)) AS key,
    ${database}_strip_dot(host_np) AS host_nd
FROM
(
    SELECT *,
        ${database}_addr_text(url_t) AS url_text,
        ${database}_addr_family(url_t) AS url_family,
        ${database}_strip_port(host) AS host_np
    FROM ${database}.classify_stage4
);
DROP VIEW IF EXISTS ${database}.classify_stage5_mv ${on_cluster} SYNC;

CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.classify_texts_mv ${on_cluster}
TO ${database}.classify_stage3
AS SELECT
    k8s_cluster_name, raw_dest, raw_ip, spans,
    peer,
    position(peer, '://') > 0 AS is_url,
    ${database}_addr_text(t_ip) AS ip_text,
    ${database}_addr_family(t_ip) AS ip_family,
    ${database}_addr_text(t_dest) AS dest_text,
    ${database}_addr_family(t_dest) AS dest_family
FROM
(
    SELECT *, if(t_dest = '', t_ip, t_dest) AS peer
    FROM ${database}.classify_stage2
);
DROP VIEW IF EXISTS ${database}.classify_stage3_mv ${on_cluster} SYNC;
