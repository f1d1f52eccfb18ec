-- Not the current schema: the feeder as it was before sql/0025, for a
-- before/after in one run (BENCHMARKS.md, "sql/0025"): spans ->
-- spans_to_stream -> span_stream -> span_stream_probe_mv (sql/0024's probe,
-- stated with sql/0025's functions) -> probed_spans, one view more than
-- netmap's spans -> spans_probe_mv -> probed_spans. The rule, the memo and
-- the edges are netmap's (the bench's check compares them).
--
--   scripts/bench --insert-cidrs 3,100,1000 --steady 30 --variant scripts/bench-variants/before-0025.sql ...
--
-- Applied on top of netmap's schema (apply-schema + push); ${database} is the database.
CREATE MATERIALIZED VIEW ${database}.spans_to_stream TO ${database}.span_stream
AS SELECT timestamp, k8s_cluster_name, src, dest, dest_ip, protocol, duration_ns, is_error
FROM ${database}.spans;
DROP VIEW IF EXISTS ${database}.spans_probe_mv SYNC;
