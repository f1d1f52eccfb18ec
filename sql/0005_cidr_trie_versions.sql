-- Published trie versions. The dictionary reads the rows of the highest
-- version listed here, so a half-written version is never loaded.
-- config_versions: the (cluster, version) pairs the trie was built from,
-- so `push` can tell a stale trie from a current one.
CREATE TABLE IF NOT EXISTS ${database}.cidr_trie_versions ${on_cluster}
(
    version UInt64,
    built_at DateTime64(3, 'UTC'),
    prefixes UInt64,
    config_versions String
)
ENGINE = ${replicated}MergeTree
ORDER BY version;
