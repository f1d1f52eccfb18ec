-- Each cluster's DNS domain (kubelet's clusterDomain; kubeadm's
-- networking.dnsDomain), for the name step of the rule: a name ending in
-- `.<domain>` is a service of the cluster (src/rule.rs, classify_name).
-- Until this migration the SQL rule knew only cluster.local (0007's
-- name_verdict), so on a cluster with another domain SQL and Rust disagreed
-- on every such name.
--
-- `netmap push --cluster-domain DOMAIN` writes one row per cluster it
-- pushes; the newest row of a cluster wins. A cluster without a row has
-- cluster.local (the dictionary's default), as before.
CREATE TABLE IF NOT EXISTS ${database}.cluster_domains ${on_cluster}
(
    cluster_name String,
    cluster_domain String,
    updated_at DateTime64(3, 'UTC')
)
ENGINE = ${replicated}MergeTree
ORDER BY (cluster_name, updated_at);

-- The lookup the views use (0020): cluster name -> domain. It logs in with
-- the connection's credentials, as the trie dictionary does since 0017;
-- `push` reloads it, `apply-schema --refresh-dictionary` creates it again.
CREATE OR REPLACE DICTIONARY ${database}.cluster_domain_dict ${on_cluster}
(
    cluster_name String,
    cluster_domain String DEFAULT 'cluster.local'
)
PRIMARY KEY cluster_name
SOURCE(CLICKHOUSE(QUERY 'SELECT d.cluster_name AS cluster_name, argMax(d.cluster_domain, d.updated_at) AS cluster_domain FROM ${database}.cluster_domains AS d GROUP BY d.cluster_name' ${dictionary_auth}))
LAYOUT(COMPLEX_KEY_HASHED())
LIFETIME(0);
