-- Insert deduplication for `netmap replay`: every batch carries an
-- insert_deduplication_token, and a batch sent again (a retry after a dropped
-- connection, a re-run after a failure) must not be counted twice anywhere in
-- the view chain. Non-replicated MergeTree tables remember no blocks unless
-- non_replicated_deduplication_window > 0; replicated tables already keep
-- replicated_deduplication_window blocks. 1000 blocks: the last ~100M rows at
-- replay's default batch size.
ALTER TABLE ${database}.spans ${on_cluster} MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE ${database}.network_raw ${on_cluster} MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE ${database}.network_connections ${on_cluster} MODIFY SETTING non_replicated_deduplication_window = 1000;
