-- The verdict stage of 0018 again, with each cluster's own domain (0019)
-- in the name step instead of 0007's fixed cluster.local: the same verdict,
-- name for name, where a cluster has no domain row.
--
-- classify_stage6 -> classify_verdict_mv -> network_raw replaces
-- classify_stage6 -> classify_stage7_mv -> network_raw. The new view is
-- created first and the old one dropped right after, so a span is never
-- lost; an insert running in the instant between the two is counted twice
-- (as when 0018 replaced 0010).

-- classify_name (src/rule.rs): localhost -> loopback; one label, *.svc,
-- *<dot_domain> -> service; any other valid name -> world (hostname);
-- '' (invalid) -> world (invalid). dot_domain is `.` and the domain.
CREATE OR REPLACE FUNCTION ${database}_name_verdict_in ${on_cluster} AS (n, dot_domain) -> multiIf(
    n = '', ('world', '', '', 'invalid'),
    n = 'localhost', ('loopback', '', '', ''),
    position(n, '.') = 0 OR endsWith(n, '.svc') OR endsWith(n, dot_domain), ('service', '', '', ''),
    ('world', '', '', 'hostname'));

CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.classify_verdict_mv ${on_cluster}
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
        is_name, ${database}_name_verdict_in(peer_name, concat('.',
            dictGetOrDefault('${database}.cluster_domain_dict', 'cluster_domain', tuple(k8s_cluster_name), 'cluster.local'))),
        ${database}_is_loopback(num), ('loopback', '', '', ''),
        ${database}_entry_verdict(entry, num)) AS verdict
    FROM ${database}.classify_stage6
)
ARRAY JOIN spans AS span;

DROP VIEW IF EXISTS ${database}.classify_stage7_mv ${on_cluster} SYNC;
