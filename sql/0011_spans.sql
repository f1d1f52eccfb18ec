-- netmap's own source table: canonical span rows (`netmap replay` writes
-- here when there is no SigNoz). Every insert flows on to span_stream (0012).
CREATE TABLE IF NOT EXISTS ${database}.spans ${on_cluster}
(
    timestamp DateTime64(9, 'UTC'),
    k8s_cluster_name LowCardinality(String),
    src LowCardinality(String),
    dest String,
    dest_ip String,
    protocol LowCardinality(String),
    duration_ns UInt64,
    is_error UInt8
)
ENGINE = ${replicated}MergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (k8s_cluster_name, src, timestamp);
