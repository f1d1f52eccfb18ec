-- A floor, NOT the rule (its edges all say `world`; the bench's check says
-- so): the memo's views (sql/0022, as sql/0024 and 0025 name them) with no
-- lookup and a constant verdict. The probe (since sql/0025 in the view that
-- reads spans) marks every span a hit, so a block takes spans -> probe ->
-- probed_spans -> hits -> network_raw (the misses' view runs, on nothing):
-- what the memo's structure costs against (a)'s spans -> spans_to_stream ->
-- span_stream -> one view. With floor-2 and floor-3 it takes apart the
-- steady state of `--steady`. Runs 25-28 had these floors as they were
-- before sql/0025 (the probe a view of its own after spans_to_stream: run
-- them at commit 4bc344a).
--
--   scripts/bench --insert-cidrs 100 --steady 30 --variant scripts/bench-variants/floor-1-memo-views.sql \
--       --variant scripts/bench-variants/floor-2-lookup.sql --variant scripts/bench-variants/floor-3-lookup-strings.sql ...
--
--   (a) -> floor-1: the memo's views; floor-1 -> floor-2: the probe's hashes and
--   lookup; floor-2 -> floor-3: the verdict's four Strings looked up and
--   carried; floor-3 -> (b): the real verdict written instead of a constant.
--
-- Applied on top of netmap's schema (apply-schema + push); ${database} is the database.
DROP VIEW IF EXISTS ${database}.spans_probe_mv SYNC;
CREATE MATERIALIZED VIEW ${database}.spans_probe_mv TO ${database}.probed_spans AS SELECT *,
    'world' AS kind, '' AS matched_type, '' AS matched_cidr, '' AS hint, toUInt8(1) AS hit
FROM ${database}.spans;
