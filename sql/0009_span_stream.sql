-- The canonical span stream every source feeds (netmap's own `spans`, or
-- SigNoz's trace table with --source signoz). A Null table: it stores
-- nothing; the rule view (0010) classifies each inserted block.
CREATE TABLE IF NOT EXISTS ${database}.span_stream ${on_cluster}
(
    timestamp DateTime64(9, 'UTC'),
    k8s_cluster_name String,
    src String,
    dest String,
    dest_ip String,
    protocol String,
    duration_ns UInt64,
    is_error UInt8
)
ENGINE = Null;
