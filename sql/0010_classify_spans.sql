-- Stage 1: the rule of src/rule.rs (Classifier::classify_span) applied to
-- every span, built from the functions of 0007. Each step is a column of its
-- own subquery, computed once and passed on by name (ClickHouse inlines a
-- SQL function at every use of a parameter: nesting them instead would make
-- every insert re-analyse a huge expression). Innermost first:
--   1. trim dest and dest_ip (str::trim). A row where both are blank has no
--      peer: not an edge, dropped here (the Rust readers reject it).
--   2. the peer string parse_peer sees: dest, or dest_ip when dest is blank;
--      whether it is a URL; what of dest_ip / dest must be an address.
--   3. dest_ip as an address (parse_ip); dest as one; the host: the URL's
--      host or the peer itself.
--   4. the URL host as an address candidate; `host:port` -> host.
--   5. the address classified (dest_ip's, else dest's, else the URL host's);
--      one trailing dot dropped from the host.
--   6. no address: the host as a DNS name ('' when invalid); an address: the
--      one dictionary lookup.
--   7. the cluster's own winner in the entries; the address as a number.
--   8. the verdict: a name's rule, or loopback, or the cluster's CIDR, or
--      world with a hint.
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
    SELECT *, multiIf(
        isNull(key), ${database}_name_verdict(peer_name),
        ${database}_is_loopback(num), ('loopback', '', '', ''),
        ${database}_entry_verdict(entry, num)) AS verdict
    FROM
    (
        SELECT *,
            ${database}_entry_at(entries, concat(',', hex(k8s_cluster_name), ':')) AS entry,
            toUInt128(assumeNotNull(key)) AS num
        FROM
        (
            SELECT *,
                if(isNull(key), ${database}_valid_name(host_nd), '') AS peer_name,
                if(isNull(key), '', ${database}_trie_entries(assumeNotNull(key))) AS entries
            FROM
            (
                SELECT *,
                    coalesce(key_ip, key_dest, if(is_url, ${database}_ip_of(url_text, url_family), NULL)) AS key,
                    ${database}_strip_dot(host_np) AS host_nd
                FROM
                (
                    SELECT *,
                        ${database}_ip_text(url_t) AS url_text,
                        ${database}_ip_family(url_t) AS url_family,
                        ${database}_strip_port(host) AS host_np
                    FROM
                    (
                        SELECT *,
                            ${database}_ip_of(ip_text, ip_family) AS key_ip,
                            if(isNull(key_ip), ${database}_ip_of(dest_text, dest_family), NULL) AS key_dest,
                            if(is_url, ${database}_url_host(peer), peer) AS host,
                            if(is_url, ${database}_trim(${database}_url_host(peer)), '') AS url_t
                        FROM
                        (
                            SELECT *,
                                if(t_dest = '', t_ip, t_dest) AS peer,
                                position(peer, '://') > 0 AS is_url,
                                ${database}_ip_text(t_ip) AS ip_text,
                                ${database}_ip_family(t_ip) AS ip_family,
                                ${database}_ip_text(t_dest) AS dest_text,
                                ${database}_ip_family(t_dest) AS dest_family
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
                )
            )
        )
    )
);
