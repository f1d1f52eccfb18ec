//! OTLP/JSON trace input (being written: see issue 2).

use std::io::BufRead;

use super::{ReadOpts, Sink};
use crate::error::{Error, Result};

/// Read OTLP/JSON.
pub fn read(_r: &mut dyn BufRead, opts: &ReadOpts, _sink: &mut Sink<'_>) -> Result<()> {
    Err(Error::Other(format!("{}: OTLP input is not implemented yet", opts.name)))
}
