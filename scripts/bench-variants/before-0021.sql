-- The chain as it was before sql/0021: 0018's stage 3 and stage 5 views created
-- again and 0021's dropped. For before/after runs (BENCHMARKS.md, runs 11 and 12):
--   scripts/bench --insert-cidrs 100 --variant scripts/bench-variants/before-0021.sql ...
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
DROP VIEW IF EXISTS ${database}.classify_key_mv SYNC;
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
DROP VIEW IF EXISTS ${database}.classify_texts_mv SYNC;
