-- Stage 2: network_raw -> network_connections, aggregated per inserted block.
CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.network_connections_mv ${on_cluster}
TO ${database}.network_connections
AS SELECT
    toDateTime(toStartOfMinute(timestamp), 'UTC') AS minute,
    k8s_cluster_name, src, dest, protocol, kind, is_external,
    count() AS calls,
    sum(is_error) AS errors,
    sum(duration_ns) AS duration_sum_ns
FROM ${database}.network_raw
GROUP BY minute, k8s_cluster_name, src, dest, protocol, kind, is_external;
