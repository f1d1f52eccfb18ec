//! The verdict memo of sql/0022 (`peer_memo`): reloading a dictionary starts
//! a new memo generation, so no verdict computed with the old CIDRs or
//! cluster domains is used again.
//!
//! Owns the one order that makes that hold ([`reload_dictionaries`]): reload
//! the dictionaries, then read the generation `g` (the memo's entry for key
//! 0), empty the memo, store `g + 1`. The views mark each memoised verdict
//! with the generation they read before looking anything up, and use an entry
//! only while its generation is the current one (the reasoning is in
//! sql/0022). A database whose schema predates 0022 has no memo: the
//! dictionaries are only reloaded.

use super::Ch;
use crate::error::Result;

/// Reload `dicts` (names in the netmap database), then start a new memo
/// generation. Returns the new generation, `None` without a memo.
pub async fn reload_dictionaries(ch: &Ch, dicts: &[&str]) -> Result<Option<u64>> {
    for dict in dicts {
        ch.exec("reloading the dictionary", &format!("SYSTEM RELOAD DICTIONARY {}.{dict}", ch.database())).await?;
    }
    if !ch.table_exists("peer_memo").await? {
        return Ok(None);
    }
    let g = generation(ch).await?;
    let db = ch.database();
    ch.exec("emptying the verdict memo", &format!("TRUNCATE TABLE {db}.peer_memo")).await?;
    let next = g + 1;
    let sql = format!("INSERT INTO {db}.peer_memo SELECT 0, (0, ?, '', '', '', '')");
    ch.run("starting a new memo generation", ch.client().query(&sql).bind(next).execute()).await?;
    Ok(Some(next))
}

/// The memo's current generation (0 after a server restart or before any push).
pub async fn generation(ch: &Ch) -> Result<u64> {
    let sql = format!("SELECT tupleElement(joinGet('{}.peer_memo', 'v', toUInt64(0)), 2)", ch.database());
    ch.run("reading the memo generation", ch.client().query(&sql).fetch_one::<u64>()).await
}

/// How many peers the memo holds (its generation entry not counted).
pub async fn entries(ch: &Ch) -> Result<u64> {
    let n: Option<u64> = ch
        .run(
            "reading the memo size",
            ch.server_client()
                .query("SELECT sum(total_rows) FROM system.tables WHERE database = ? AND name = 'peer_memo'")
                .bind(ch.database())
                .fetch_one::<Option<u64>>(),
        )
        .await?;
    let n = n.unwrap_or(0);
    Ok(if generation(ch).await? > 0 { n.saturating_sub(1) } else { n })
}
