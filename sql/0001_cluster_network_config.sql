-- The CIDR records of every cluster, every version ever pushed (append-only).
-- A cluster's current set is the rows whose version is the cluster's latest
-- version in cluster_config_versions (0002); `netmap push` writes a new
-- version's rows first and its marker last, so a reader sees the old set or
-- the new one, never a mix and never an empty set.
CREATE TABLE IF NOT EXISTS ${database}.cluster_network_config ${on_cluster}
(
    cluster_name String,
    network_type LowCardinality(String),
    cidr_block String,
    is_active UInt8,
    source String,
    version UInt64,
    pushed_at DateTime64(3, 'UTC')
)
ENGINE = ${replicated}MergeTree
ORDER BY (cluster_name, version, network_type, cidr_block);
