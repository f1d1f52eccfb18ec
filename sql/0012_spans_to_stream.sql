-- spans -> span_stream: netmap's own table feeds the rule unchanged.
CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.spans_to_stream ${on_cluster}
TO ${database}.span_stream
AS SELECT timestamp, k8s_cluster_name, src, dest, dest_ip, protocol, duration_ns, is_error
FROM ${database}.spans;
