-- One row per (cluster, version) pushed: the marker that publishes a version.
-- Written after all of the version's rows are in cluster_network_config.
CREATE TABLE IF NOT EXISTS ${database}.cluster_config_versions ${on_cluster}
(
    cluster_name String,
    version UInt64,
    pushed_at DateTime64(3, 'UTC'),
    row_count UInt64
)
ENGINE = ${replicated}MergeTree
ORDER BY (cluster_name, version);
