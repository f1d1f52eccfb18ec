-- Stage 2 output: the network map, per minute. One row per
-- (minute, k8s_cluster_name, src, dest, protocol, kind, is_external) with
-- calls, errors, duration_sum_ns summed on merge; read it with sum() and
-- GROUP BY, since merges are eventual. is_external is in the key so it is
-- never summed.
CREATE TABLE IF NOT EXISTS ${database}.network_connections ${on_cluster}
(
    minute DateTime('UTC'),
    k8s_cluster_name LowCardinality(String),
    src LowCardinality(String),
    dest String,
    protocol LowCardinality(String),
    kind LowCardinality(String),
    is_external UInt8,
    calls UInt64,
    errors UInt64,
    duration_sum_ns UInt64
)
ENGINE = ${replicated}SummingMergeTree((calls, errors, duration_sum_ns))
PARTITION BY toYYYYMM(minute)
ORDER BY (k8s_cluster_name, src, dest, protocol, kind, is_external, minute);
