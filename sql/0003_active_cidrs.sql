-- The active CIDRs of every cluster: its latest published version, is_active = 1.
-- What readers use (`netmap classify --clickhouse`, dashboards).
CREATE VIEW IF NOT EXISTS ${database}.active_cidrs ${on_cluster} AS
SELECT c.cluster_name AS cluster_name, c.network_type AS network_type, c.cidr_block AS cidr_block,
       c.source AS source, c.version AS version, c.pushed_at AS pushed_at
FROM ${database}.cluster_network_config AS c
INNER JOIN
(
    SELECT cluster_name, max(version) AS version
    FROM ${database}.cluster_config_versions
    GROUP BY cluster_name
) AS v ON c.cluster_name = v.cluster_name AND c.version = v.version
WHERE c.is_active = 1;
