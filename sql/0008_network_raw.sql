-- Stage 1 output: one row per classified span (client/producer calls with a
-- peer). `dest` is the destination shown on the edge: the span's dest, or
-- its dest_ip when dest is empty. The verdict columns are those of
-- `netmap classify --per-row`; '' stands for "none".
CREATE TABLE IF NOT EXISTS ${database}.network_raw ${on_cluster}
(
    timestamp DateTime64(9, 'UTC'),
    k8s_cluster_name LowCardinality(String),
    src LowCardinality(String),
    dest String,
    dest_ip String,
    protocol LowCardinality(String),
    duration_ns UInt64,
    is_error UInt8,
    kind LowCardinality(String),
    is_external UInt8,
    matched_type LowCardinality(String),
    matched_cidr LowCardinality(String),
    hint LowCardinality(String)
)
ENGINE = ${replicated}MergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (k8s_cluster_name, src, dest, timestamp);
