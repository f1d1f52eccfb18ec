-- Stage 1: the rule of src/rule.rs (Classifier::classify_span), applied to
-- every span, built from the functions of 0007. Each step is a column of its
-- own subquery, computed once:
--   1. trim dest and dest_ip; a row where both are blank has no peer: it is
--      not an edge and is dropped here (the Rust readers reject it).
--   2. dest_ip as an address; dest as an address; the peer string (dest, or
--      dest_ip when dest is blank).
--   3. the address classified: dest_ip's, else dest's, else a URL host's;
--      for no address, the peer as a DNS name ('' when invalid).
--   4. the verdict: loopback / the cluster's own CIDRs (one dictionary
--      lookup) / world with a hint; or the name rule.
CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.classify_spans ${on_cluster}
TO ${database}.network_raw
AS SELECT
    timestamp,
    k8s_cluster_name,
    src,
    if(raw_dest = '', raw_ip, raw_dest) AS dest,
    raw_ip AS dest_ip,
    protocol,
    duration_ns,
    is_error,
    tupleElement(verdict, 1) AS kind,
    toUInt8(tupleElement(verdict, 1) = 'world') AS is_external,
    tupleElement(verdict, 2) AS matched_type,
    tupleElement(verdict, 3) AS matched_cidr,
    tupleElement(verdict, 4) AS hint
FROM
(
    SELECT *,
        if(isNotNull(key),
           ${database}_ip_verdict(assumeNotNull(key), k8s_cluster_name),
           ${database}_name_verdict(peer_name)) AS verdict
    FROM
    (
        SELECT *,
            coalesce(key_ip, key_dest, ${database}_url_ip(peer)) AS key,
            if(isNull(key), ${database}_name(peer), '') AS peer_name
        FROM
        (
            SELECT *,
                ${database}_ip_key_trimmed(t_ip) AS key_ip,
                ${database}_ip_key_trimmed(t_dest) AS key_dest,
                if(t_dest = '', t_ip, t_dest) AS peer
            FROM
            (
                SELECT
                    timestamp, k8s_cluster_name, src, protocol, duration_ns, is_error,
                    dest AS raw_dest,
                    dest_ip AS raw_ip,
                    ${database}_trim(dest) AS t_dest,
                    ${database}_trim(dest_ip) AS t_ip
                FROM ${database}.span_stream
                WHERE NOT (t_dest = '' AND t_ip = '')
            )
        )
    )
);
