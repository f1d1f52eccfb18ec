//! Hubble flow input (being written: see issue 2).

use std::io::BufRead;

use super::{ReadOpts, Sink};
use crate::error::{Error, Result};

/// Read Hubble flows.
pub fn read(_r: &mut dyn BufRead, opts: &ReadOpts, _sink: &mut Sink<'_>) -> Result<()> {
    Err(Error::Other(format!("{}: Hubble input is not implemented yet", opts.name)))
}
