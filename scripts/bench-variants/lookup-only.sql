-- Written for the schema before sql/0024 (peer_memo, memo_stream,
-- memo_probe_mv): it does not apply to a newer one. To run it again, use
-- scripts/bench and sql/ as of commit 4bc344a.
--
-- Not kept (BENCHMARKS.md, "Re-measured on 2026-12-01"): for scale only, NOT
-- the rule. One view per span that does nothing but the trie lookup of a
-- bare dest_ip and the cluster's entry in it: no trimming, no address
-- forms, no names, no hints. 103% of the no-classification chain with
-- 100,000-span inserts (sql/0018: 77%): the lookup is not what costs.
--
--   scripts/bench --insert-cidrs 100 --variant scripts/bench-variants/lookup-only.sql ...
--
-- Applied on top of netmap's schema (apply-schema + push); ${database} is the
-- database. Its edges differ from netmap's (it is not the rule): the bench's
-- check says so.
-- Replaces what feeds on span_stream: 0018's stage 1, or since sql/0022 the memo's probe.
DROP VIEW IF EXISTS ${database}.classify_stage1_mv SYNC;
DROP VIEW IF EXISTS ${database}.memo_probe_mv SYNC;
CREATE MATERIALIZED VIEW ${database}.classify_bare TO ${database}.network_raw AS SELECT timestamp, k8s_cluster_name, src, if(dest = '', dest_ip, dest) AS dest, dest_ip, protocol, duration_ns, is_error,
  if(e = '', 'world', 'pod') AS kind, toUInt8(e = '') AS is_external, '' AS matched_type, e AS matched_cidr, '' AS hint
FROM (SELECT *, ${database}_entry_at(dictGet('${database}.cidr_trie_dict', 'entries', toIPv6OrDefault(dest_ip)), concat(',', hex(k8s_cluster_name), ':')) AS e FROM ${database}.span_stream WHERE NOT (dest = '' AND dest_ip = ''));
