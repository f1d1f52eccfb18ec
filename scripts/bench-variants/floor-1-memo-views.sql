-- A floor, NOT the rule (its edges all say `world`; the bench's check says
-- so): sql/0022's views with no lookup and a constant verdict. The probe
-- marks every span a hit, so a block takes span_stream -> probe ->
-- memo_stream -> hits -> network_raw (the misses' view runs, on nothing):
-- what the memo's structure costs against (a)'s one view. With floor-2 and
-- floor-3 it takes apart the steady state of `--steady`:
--
--   scripts/bench --insert-cidrs 100 --steady 30 --variant scripts/bench-variants/floor-1-memo-views.sql \
--       --variant scripts/bench-variants/floor-2-lookup.sql --variant scripts/bench-variants/floor-3-lookup-strings.sql ...
--
--   (a) -> floor-1: the three views; floor-1 -> floor-2: the probe's hashes and
--   lookup; floor-2 -> floor-3: the verdict's four Strings looked up and
--   carried; floor-3 -> (b): the real verdict written instead of a constant.
--
-- Applied on top of netmap's schema (apply-schema + push); ${database} is the database.
DROP VIEW IF EXISTS ${database}.memo_probe_mv SYNC;
CREATE MATERIALIZED VIEW ${database}.memo_probe_mv TO ${database}.memo_stream AS SELECT *,
    CAST((0, 0, 'world', '', '', ''), 'Tuple(h2 UInt64, gen UInt64, kind String, matched_type String, matched_cidr String, hint String)') AS m,
    toUInt8(1) AS hit
FROM ${database}.span_stream;
