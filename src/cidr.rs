//! CIDR configuration: the records that say what "inside" means for each
//! cluster, how they are read and checked, and the per-cluster lookup tables.
//!
//! Owns: `NetworkType` (Cilium's order is its `Ord`), `CidrRecord`, parsing of
//! `--cidrs` files (CSV with header, JSON array, JSON lines), and `CidrConfig`,
//! which answers "which of cluster C's prefixes cover this address".
//! Files are read as a stream (`for_each_cidr_record`), checked as UTF-8 line
//! by line; `load_cidr_config` feeds the records straight into a
//! `CidrConfigBuilder`, so 200,000 CIDRs never exist as 200,000 `CidrRecord`s.
//! Leaves the verdict (kinds, hints, names) to `rule.rs`.
//!
//! Invariant: lookups never scan the CIDR list. Each cluster keeps one hash map
//! per distinct prefix length, keyed by the masked address, and every entry is
//! *flattened*: it already carries the winner (first type in Cilium order, most
//! specific prefix within it) over every prefix of that cluster that contains it.
//! So a lookup is one longest-prefix match — the same shape as the IP_TRIE
//! dictionary in `sql/`, which is what makes the two agree. IPv4 lives in the
//! IPv4-mapped part of one 128-bit space (`10.0.0.0/8` is `::ffff:10.0.0.0/104`),
//! exactly as ClickHouse's IP_TRIE stores it.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::net::{IpAddr, Ipv6Addr};
use std::path::Path;
use std::str::FromStr;

use hashbrown::HashMap;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::{Deserialize, Serialize};

use crate::error::{display_path, Error, Origin, Result};
use crate::input::lines::{describe, record_line, LineCounter};

/// The four kinds of CIDR a cluster declares, in Cilium's lookup order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NetworkType {
    /// `pod_cidr`: addresses of pods (checked first).
    #[serde(rename = "pod_cidr")]
    Pod,
    /// `service_cidr`: ClusterIPs.
    #[serde(rename = "service_cidr")]
    Service,
    /// `node_cidr`: this cluster's nodes.
    #[serde(rename = "node_cidr")]
    Node,
    /// `remote_node_cidr`: nodes of cluster-mesh peers.
    #[serde(rename = "remote_node_cidr")]
    RemoteNode,
}

impl NetworkType {
    /// All types in Cilium's order.
    pub const ALL: [NetworkType; 4] =
        [NetworkType::Pod, NetworkType::Service, NetworkType::Node, NetworkType::RemoteNode];

    /// The name used in files and in ClickHouse (`pod_cidr`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            NetworkType::Pod => "pod_cidr",
            NetworkType::Service => "service_cidr",
            NetworkType::Node => "node_cidr",
            NetworkType::RemoteNode => "remote_node_cidr",
        }
    }

    /// 1-based rank in Cilium's order (the code the SQL trie stores).
    pub fn rank(self) -> u8 {
        self as u8 + 1
    }

    /// The type with `rank` (1..=4).
    pub fn from_rank(rank: u8) -> Option<NetworkType> {
        NetworkType::ALL.get(usize::from(rank).checked_sub(1)?).copied()
    }
}

impl fmt::Display for NetworkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for NetworkType {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let t = s.trim().to_ascii_lowercase().replace('-', "_");
        let found = match t.as_str() {
            "pod_cidr" | "pod" => Some(NetworkType::Pod),
            "service_cidr" | "service" => Some(NetworkType::Service),
            "node_cidr" | "node" => Some(NetworkType::Node),
            "remote_node_cidr" | "remote_node" => Some(NetworkType::RemoteNode),
            _ => None,
        };
        found.ok_or_else(|| {
            format!(
                "network_type {s:?} is not one of pod_cidr, service_cidr, node_cidr, remote_node_cidr"
            )
        })
    }
}

/// Parse a CIDR or a bare address (a bare address is a /32 or /128).
///
/// Host bits must be zero: `10.0.0.5/24` is refused with the network it
/// probably meant. An IPv6 prefix inside `::ffff:0:0/96` is the IPv4 network
/// it maps (`::ffff:10.0.0.0/104` is `10.0.0.0/8`).
pub fn parse_cidr(s: &str) -> std::result::Result<IpNet, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("cidr_block is empty".to_string());
    }
    let net = if t.contains('/') {
        IpNet::from_str(t).map_err(|_| format!("{t:?} is not a CIDR (expected e.g. 10.0.0.0/8 or fd00::/64)"))?
    } else {
        let ip = IpAddr::from_str(t)
            .map_err(|_| format!("{t:?} is not a CIDR or an IP address"))?;
        IpNet::from(ip)
    };
    if net.trunc() != net {
        return Err(format!(
            "{t:?} has host bits set; did you mean {}?",
            net.trunc()
        ));
    }
    Ok(unmap_net(net))
}

/// An IPv6 network inside `::ffff:0:0/96` as the IPv4 network it maps.
fn unmap_net(net: IpNet) -> IpNet {
    if let IpNet::V6(n) = net {
        if n.prefix_len() >= 96 {
            if let Some(v4) = n.network().to_ipv4_mapped() {
                if let Ok(v) = Ipv4Net::new(v4, n.prefix_len() - 96) {
                    return IpNet::V4(v);
                }
            }
        }
    }
    net
}

/// An address as a key in the unified 128-bit space (IPv4 → `::ffff:a.b.c.d`).
pub fn ip_key(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// A network as (masked key, prefix length) in the unified 128-bit space.
pub fn net_key(net: IpNet) -> (u128, u8) {
    let (addr, len) = match net {
        IpNet::V4(n) => (u128::from(n.network().to_ipv6_mapped()), n.prefix_len() + 96),
        IpNet::V6(n) => (u128::from(n.network()), n.prefix_len()),
    };
    (addr & mask(len), len)
}

fn mask(len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len))
    }
}

/// The network a (key, length) pair stands for, written the way users write it.
pub fn key_net(key: u128, len: u8) -> IpNet {
    let v6 = Ipv6Addr::from(key);
    if len >= 96 {
        if let Some(v4) = v6.to_ipv4_mapped() {
            return IpNet::V4(Ipv4Net::new(v4, len - 96).expect("len - 96 <= 32"));
        }
    }
    IpNet::V6(Ipv6Net::new(v6, len).expect("len <= 128"))
}

/// One CIDR record, as stored in ClickHouse's `cluster_network_config`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CidrRecord {
    /// The cluster these CIDRs belong to.
    pub cluster_name: String,
    /// Which kind of range it is.
    pub network_type: NetworkType,
    /// The network (host bits zero; IPv4-mapped IPv6 normalised to IPv4).
    pub cidr: IpNet,
    /// Inactive records are kept in files but ignored by the rule.
    pub is_active: bool,
    /// Where the record came from (`node/x spec.podCIDRs`), if known.
    pub source: String,
    /// File and line it was read from.
    pub origin: Origin,
}

/// The raw, string-typed form of a record as it appears in any input format.
#[derive(Debug, Default, Deserialize)]
struct RawRecord {
    cluster_name: Option<String>,
    network_type: Option<String>,
    cidr_block: Option<String>,
    #[serde(default, deserialize_with = "de_loose_string")]
    is_active: Option<String>,
    #[serde(default)]
    source: Option<String>,
}

/// Accept `is_active` as a JSON number, bool or string.
fn de_loose_string<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<String>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match v {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(other) => Some(other.to_string()),
    })
}

impl RawRecord {
    fn into_record(self, origin: Origin) -> Result<CidrRecord> {
        let need = |v: Option<String>, col: &str| -> Result<String> {
            match v {
                Some(s) if !s.trim().is_empty() => Ok(s),
                _ => Err(Error::input(origin.clone(), format!("column {col} is missing or empty"))),
            }
        };
        let cluster_name = need(self.cluster_name, "cluster_name")?;
        let network_type = need(self.network_type, "network_type")?
            .parse::<NetworkType>()
            .map_err(|m| Error::input(origin.clone(), m))?;
        let block = need(self.cidr_block, "cidr_block")?;
        let cidr = parse_cidr(&block)
            .map_err(|m| Error::input(origin.clone(), format!("column cidr_block: {m}")))?;
        let is_active = match self.is_active.as_deref().map(str::trim) {
            None | Some("") | Some("1") | Some("true") => true,
            Some("0") | Some("false") => false,
            Some(other) => {
                return Err(Error::input(
                    origin,
                    format!("column is_active: {other:?} is not 0 or 1"),
                ))
            }
        };
        Ok(CidrRecord {
            cluster_name,
            network_type,
            cidr,
            is_active,
            source: self.source.unwrap_or_default(),
            origin,
        })
    }
}

/// One record as the streaming reader hands it over, borrowed from the
/// reader's buffers: nothing is allocated for it on the common path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordRef<'a> {
    /// The cluster these CIDRs belong to.
    pub cluster_name: &'a str,
    /// Which kind of range it is.
    pub network_type: NetworkType,
    /// The network (host bits zero; IPv4-mapped IPv6 normalised to IPv4).
    pub cidr: IpNet,
    /// Inactive records are kept in files but ignored by the rule.
    pub is_active: bool,
    /// Where the record came from (`node/x spec.podCIDRs`), empty if unknown.
    pub source: &'a str,
    /// The file (or `file[i]` for element i of a JSON array) it was read from.
    pub file: &'a str,
    /// Its 1-based line, 0 for JSON array elements.
    pub line: u64,
}

impl<'a> RecordRef<'a> {
    /// A borrowed view of a record.
    pub fn of(r: &'a CidrRecord) -> RecordRef<'a> {
        RecordRef {
            cluster_name: &r.cluster_name,
            network_type: r.network_type,
            cidr: r.cidr,
            is_active: r.is_active,
            source: &r.source,
            file: &r.origin.file,
            line: r.origin.line,
        }
    }

    /// Where it was read from.
    pub fn origin(&self) -> Origin {
        Origin::new(self.file, self.line)
    }

    /// An owned copy.
    pub fn to_record(&self) -> CidrRecord {
        CidrRecord {
            cluster_name: self.cluster_name.to_string(),
            network_type: self.network_type,
            cidr: self.cidr,
            is_active: self.is_active,
            source: self.source.to_string(),
            origin: self.origin(),
        }
    }
}

/// Read CIDR records from a file (`-` = stdin): CSV with a header, a JSON array
/// of objects, or JSON lines; the format comes from the extension or, failing
/// that, from the first non-blank character.
pub fn read_cidr_file(path: &Path) -> Result<Vec<CidrRecord>> {
    let mut out = Vec::new();
    for_each_cidr_record(path, |r| {
        out.push(r.to_record());
        Ok(())
    })?;
    Ok(out)
}

/// Read a CIDR file (`-` = stdin) straight into lookup tables: the records are
/// streamed into a [`CidrConfigBuilder`] one at a time, never all held at once.
/// Same records and same errors as [`read_cidr_file`] + [`CidrConfig::from_records`].
pub fn load_cidr_config(path: &Path) -> Result<CidrConfig> {
    let mut b = CidrConfigBuilder::default();
    for_each_cidr_record(path, |r| {
        b.add_record(&r);
        Ok(())
    })?;
    Ok(b.finish())
}

/// Hand each record of a CIDR file (`-` = stdin) to `each`, in file order,
/// reading the file as a stream. The first bad record (or invalid UTF-8, or
/// an error returned by `each`) stops the read and is returned.
pub fn for_each_cidr_record(path: &Path, mut each: impl FnMut(RecordRef<'_>) -> Result<()>) -> Result<()> {
    let name = display_path(path);
    if path.as_os_str() == "-" {
        let stdin = std::io::stdin();
        stream_records(Utf8Lines::new(stdin.lock(), &name, path), &mut each)
    } else {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        stream_records(Utf8Lines::new(BufReader::with_capacity(64 * 1024, file), &name, path), &mut each)
    }
}

/// Invalid UTF-8 in a CIDR file: the line and the byte in it where it starts.
fn utf8_error(name: &str, line: u64, at: usize) -> Error {
    Error::input(
        Origin::new(name, line),
        format!("invalid UTF-8 at byte {at} (CIDR files are UTF-8 text)"),
    )
}

/// Read CIDR records from text; `name` is used in messages.
pub fn read_cidr_text(text: &str, name: &str) -> Result<Vec<CidrRecord>> {
    let mut out = Vec::new();
    stream_records(Utf8Lines::new(text.as_bytes(), name, Path::new(name)), &mut |r| {
        out.push(r.to_record());
        Ok(())
    })?;
    Ok(out)
}

/// Bytes of a CIDR file, checked as UTF-8 one line at a time as they pass
/// (so errors name the line and the byte in it) and handed out in whole lines.
struct Utf8Lines<'n, R> {
    inner: R,
    /// The file as messages name it.
    name: &'n str,
    /// The file for I/O errors.
    path: &'n Path,
    /// Lines read (and checked) so far.
    read: u64,
    /// Lines handed out by [`Utf8Lines::next_line`] so far.
    served: u64,
    /// Checked bytes not yet handed out start at `pos`.
    buf: Vec<u8>,
    pos: usize,
    eof: bool,
    /// An error met while filling `buf`: returned once the bytes before it are out.
    error: Option<Error>,
}

/// How many bytes of whole lines [`Read::read`] gathers at a time.
const CHUNK: usize = 32 * 1024;

impl<'n, R: BufRead> Utf8Lines<'n, R> {
    fn new(inner: R, name: &'n str, path: &'n Path) -> Self {
        Utf8Lines { inner, name, path, read: 0, served: 0, buf: Vec::new(), pos: 0, eof: false, error: None }
    }

    /// Append the next line (with its `\n`) to `buf` and check it; `Ok(false)` at the end.
    fn read_line(&mut self) -> Result<bool> {
        if self.eof {
            return Ok(false);
        }
        let start = self.buf.len();
        let n = self.inner.read_until(b'\n', &mut self.buf).map_err(|e| Error::io(self.path, e))?;
        if n == 0 {
            self.eof = true;
            return Ok(false);
        }
        self.read += 1;
        if let Err(e) = std::str::from_utf8(&self.buf[start..]) {
            self.buf.truncate(start);
            return Err(utf8_error(self.name, self.read, e.valid_up_to()));
        }
        Ok(true)
    }

    /// The first non-blank character of the input (read ahead, nothing consumed).
    fn first_char(&mut self) -> Result<Option<char>> {
        loop {
            let text = std::str::from_utf8(&self.buf[self.pos..]).unwrap_or_default();
            if let Some(c) = text.trim_start().chars().next() {
                return Ok(Some(c));
            }
            if !self.read_line()? {
                return Ok(None);
            }
        }
    }

    /// The next line without its line ending, with its number; `None` at the end.
    fn next_line(&mut self) -> Result<Option<(u64, &str)>> {
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
            if !self.read_line()? {
                return Ok(None);
            }
        }
        let rest = &self.buf[self.pos..];
        let len = rest.iter().position(|&b| b == b'\n').map_or(rest.len(), |i| i + 1);
        let start = self.pos;
        self.pos += len;
        self.served += 1;
        let mut line = &self.buf[start..start + len];
        if let Some(l) = line.strip_suffix(b"\n") {
            line = l.strip_suffix(b"\r").unwrap_or(l);
        }
        // Checked by read_line; a failure here would be a bug, reported as bad input all the same.
        let text = std::str::from_utf8(line).map_err(|e| utf8_error(self.name, self.served, e.valid_up_to()))?;
        Ok(Some((self.served, text)))
    }

    /// Everything not yet handed out, as text.
    fn rest_to_string(&mut self) -> Result<String> {
        while self.read_line()? {}
        let bytes = std::mem::take(&mut self.buf).split_off(self.pos);
        self.pos = 0;
        String::from_utf8(bytes).map_err(|e| utf8_error(self.name, self.served + 1, e.utf8_error().valid_up_to()))
    }
}

impl<R: BufRead> Read for Utf8Lines<'_, R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
            while self.buf.len() < CHUNK && self.error.is_none() {
                match self.read_line() {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(e) => self.error = Some(e),
                }
            }
            if self.buf.is_empty() {
                // The caller sees an I/O error; `stream_records` returns the stored one.
                return match &self.error {
                    Some(e) => Err(std::io::Error::other(e.to_string())),
                    None => Ok(0),
                };
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Pick the format and hand each record to `each`.
fn stream_records<R: BufRead>(
    mut src: Utf8Lines<'_, R>,
    each: &mut dyn FnMut(RecordRef<'_>) -> Result<()>,
) -> Result<()> {
    let name = src.name;
    let lower = name.to_ascii_lowercase();
    let first = src.first_char()?;
    if lower.ends_with(".csv") || (!lower.ends_with(".json") && !lower.ends_with(".jsonl") && !matches!(first, Some('[') | Some('{'))) {
        return stream_csv(src, each);
    }
    if first == Some('[') {
        let text = src.rest_to_string()?;
        let values: Vec<serde_json::Value> = serde_json::from_str(&text).map_err(|e| {
            Error::input(Origin::new(name, e.line() as u64), format!("invalid JSON: {e}"))
        })?;
        drop(text);
        // JSON arrays carry no line per element; count elements instead.
        for (i, v) in values.into_iter().enumerate() {
            let origin = Origin::new(format!("{name}[{i}]"), 0);
            let raw: RawRecord = serde_json::from_value(v)
                .map_err(|e| Error::input(origin.clone(), format!("invalid record: {e}")))?;
            each(RecordRef::of(&raw.into_record(origin)?))?;
        }
        return Ok(());
    }
    while let Some((n, line)) = src.next_line()? {
        if line.trim().is_empty() {
            continue;
        }
        let origin = Origin::new(name, n);
        let raw: RawRecord = serde_json::from_str(line)
            .map_err(|e| Error::input(origin.clone(), format!("invalid JSON: {e}")))?;
        each(RecordRef::of(&raw.into_record(origin)?))?;
    }
    Ok(())
}

/// Column positions of a CSV header, for the fast path (each name at most once).
#[derive(Debug, Clone, Copy)]
struct Columns {
    cluster_name: usize,
    network_type: usize,
    cidr_block: usize,
    is_active: Option<usize>,
    source: Option<usize>,
}

impl Columns {
    /// `None` when a known column appears twice: then every record takes the slow path.
    fn of(headers: &csv::StringRecord) -> Option<Columns> {
        let find = |col: &str| -> Option<Option<usize>> {
            let mut at = headers.iter().enumerate().filter(|(_, h)| *h == col).map(|(i, _)| i);
            let first = at.next();
            at.next().is_none().then_some(first)
        };
        Some(Columns {
            cluster_name: find("cluster_name")??,
            network_type: find("network_type")??,
            cidr_block: find("cidr_block")??,
            is_active: find("is_active")?,
            source: find("source")?,
        })
    }

    /// The record when every field is in its plain form (what almost every
    /// file holds): a cluster name, a type by its exact name, an IPv4 CIDR in
    /// dotted-quad form, `is_active` empty, 0, 1, true or false. `None` sends
    /// the record to the slow path (serde + [`parse_cidr`]), which decides and
    /// words any error: both paths give the same record for the same fields.
    fn fast<'r>(&self, row: &'r csv::StringRecord) -> Option<(&'r str, NetworkType, IpNet, bool, &'r str)> {
        let field = |i: usize| row.get(i).map(str::trim);
        let cluster = field(self.cluster_name)?;
        if cluster.is_empty() {
            return None;
        }
        let name = field(self.network_type)?;
        let t = NetworkType::ALL.into_iter().find(|t| t.as_str() == name)?;
        let cidr = fast_ipv4_cidr(field(self.cidr_block)?.as_bytes())?;
        let active = match self.is_active.map_or(Some(""), field)? {
            "" | "1" | "true" => true,
            "0" | "false" => false,
            _ => return None,
        };
        let source = self.source.map_or(Some(""), field)?;
        Some((cluster, t, cidr, active, source))
    }
}

/// `a.b.c.d/len` or `a.b.c.d` in plain form (decimal octets without leading
/// zeros, no spaces) with the host bits zero, as [`parse_cidr`] reads it;
/// `None` for anything else, which `parse_cidr` then decides.
fn fast_ipv4_cidr(s: &[u8]) -> Option<IpNet> {
    /// A decimal number of 1 to 3 digits at `s[*i..]`, no leading zero, at most `max`.
    fn number(s: &[u8], i: &mut usize, max: u32) -> Option<u32> {
        let start = *i;
        let mut v = 0u32;
        while *i < s.len() && s[*i].is_ascii_digit() && *i - start < 3 {
            v = v * 10 + u32::from(s[*i] - b'0');
            *i += 1;
        }
        let n = *i - start;
        (n > 0 && v <= max && !(n > 1 && s[start] == b'0')).then_some(v)
    }
    let mut i = 0;
    let mut octets = [0u8; 4];
    for (k, o) in octets.iter_mut().enumerate() {
        *o = u8::try_from(number(s, &mut i, 255)?).ok()?;
        if k < 3 {
            if s.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
    }
    let len = match s.get(i) {
        None => 32,
        Some(b'/') => {
            i += 1;
            let l = number(s, &mut i, 32)?;
            if i != s.len() {
                return None;
            }
            u8::try_from(l).ok()?
        }
        Some(_) => return None,
    };
    let net = Ipv4Net::new(std::net::Ipv4Addr::from(octets), len).ok()?;
    (net.trunc() == net).then_some(IpNet::V4(net))
}

fn stream_csv<R: BufRead>(mut src: Utf8Lines<'_, R>, each: &mut dyn FnMut(RecordRef<'_>) -> Result<()>) -> Result<()> {
    let name = src.name;
    // Fields are trimmed here (str::trim, as csv::Trim::All does for string
    // records) rather than by the reader, which would copy every record.
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::None)
        .comment(Some(b'#'))
        .from_reader(LineCounter::new(&mut src));
    let mut headers = match rdr.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            return Err(rdr.get_mut().get_mut().error.take().unwrap_or_else(|| {
                Error::input(Origin::new(name, 1), format!("invalid CSV header: {}", describe(&e)))
            }))
        }
    };
    let header_line = record_line(&mut rdr, headers.as_byte_record());
    headers.trim();
    for col in ["cluster_name", "network_type", "cidr_block"] {
        if !headers.iter().any(|h| h == col) {
            return Err(Error::input(
                Origin::new(name, header_line),
                format!(
                    "CSV header has no column {col} (expected cluster_name,network_type,cidr_block[,is_active][,source], found {:?})",
                    headers.iter().collect::<Vec<_>>().join(",")
                ),
            ));
        }
    }
    let columns = Columns::of(&headers);
    let mut row = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut row) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                if let Some(err) = rdr.get_mut().get_mut().error.take() {
                    return Err(err);
                }
                let line = record_line(&mut rdr, row.as_byte_record());
                return Err(Error::input(Origin::new(name, line), format!("invalid CSV record: {}", describe(&e))));
            }
        }
        let line = record_line(&mut rdr, row.as_byte_record());
        if let Some((cluster_name, network_type, cidr, is_active, source)) = columns.and_then(|c| c.fast(&row)) {
            each(RecordRef { cluster_name, network_type, cidr, is_active, source, file: name, line })?;
            continue;
        }
        row.trim();
        let origin = Origin::new(name, line);
        let raw: RawRecord = row
            .deserialize(Some(&headers))
            .map_err(|e| Error::input(origin.clone(), format!("invalid CSV record: {}", describe(&e))))?;
        each(RecordRef::of(&raw.into_record(origin)?))?;
    }
    match rdr.get_mut().get_mut().error.take() {
        Some(err) => Err(err),
        None => Ok(()),
    }
}

/// The winner for an address: the first type in Cilium's order whose prefixes
/// contain it, and the most specific such prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CidrMatch {
    /// The type that matched.
    pub network_type: NetworkType,
    /// The most specific prefix of that type containing the address.
    pub cidr: IpNet,
}

/// One cluster's prefixes, indexed for longest-prefix match.
#[derive(Debug, Default, Clone)]
pub struct ClusterCidrs {
    /// One table per distinct prefix length, longest first: masked key → the
    /// flattened winner for addresses under that prefix.
    tables: Vec<(u8, HashMap<u128, Winner>)>,
    /// The active records per type (by `NetworkType as usize`), in input order,
    /// de-duplicated (for explain and export; winners point into them).
    by_type: [Vec<IpNet>; 4],
}

/// A flattened winner as a table stores it: its type and its place in that
/// type's list (an entry is 32 bytes with its key, half a full `CidrMatch`'s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Winner {
    network_type: NetworkType,
    index: usize,
}

impl ClusterCidrs {
    fn build(by_type: [Vec<IpNet>; 4]) -> ClusterCidrs {
        // One table per length, sized by a first pass.
        let mut count = [0usize; 129];
        for net in by_type.iter().flatten() {
            count[usize::from(net_key(*net).1)] += 1;
        }
        let mut slot = [usize::MAX; 129];
        let mut tables: Vec<(u8, HashMap<u128, Winner>)> = Vec::new();
        for len in (0..=128u8).rev() {
            if count[usize::from(len)] > 0 {
                slot[usize::from(len)] = tables.len();
                tables.push((len, HashMap::with_capacity(count[usize::from(len)])));
            }
        }
        // Each distinct prefix's own winner: the first type in Cilium's order
        // listing it (types come in that order, so the first insert wins).
        for (t, nets) in NetworkType::ALL.into_iter().zip(&by_type) {
            for (index, &net) in nets.iter().enumerate() {
                let (key, len) = net_key(net);
                tables[slot[usize::from(len)]].1.entry(key).or_insert(Winner { network_type: t, index });
            }
        }
        // Flatten, shortest prefixes first: a prefix's winner over itself and
        // every prefix covering it is the better of its own and the (already
        // flattened) winner of its longest covering prefix. Better: the lower
        // type; within a type the longer prefix, which is always its own.
        for j in (0..tables.len()).rev() {
            let (head, shorter) = tables.split_at_mut(j + 1);
            for (&key, own) in head[j].1.iter_mut() {
                let parent = shorter.iter().find_map(|(l, m)| m.get(&(key & mask(*l))).copied());
                if let Some(p) = parent {
                    if p.network_type < own.network_type {
                        *own = p;
                    }
                }
            }
        }
        ClusterCidrs { tables, by_type }
    }

    fn matched(&self, w: Winner) -> CidrMatch {
        CidrMatch { network_type: w.network_type, cidr: self.by_type[w.network_type as usize][w.index] }
    }

    /// The winner for `ip`, or `None` (world).
    pub fn lookup(&self, ip: IpAddr) -> Option<CidrMatch> {
        let key = ip_key(ip);
        self.tables
            .iter()
            .find_map(|(l, m)| m.get(&(key & mask(*l))))
            .map(|w| self.matched(*w))
    }

    /// The winner for every address under the prefix `(key, len)`, when all
    /// of them share one: the flattened entry of the longest own prefix that
    /// contains the whole prefix. Since every prefix of this cluster covering
    /// an address under it either covers the whole prefix or is longer, this
    /// is exactly what [`lookup`](Self::lookup) answers for an address whose
    /// longest match over *all* clusters' prefixes is `(key, len)` — the
    /// property the SQL trie (`sql/0004_cidr_trie.sql`) is built on.
    pub fn lookup_prefix(&self, key: u128, len: u8) -> Option<CidrMatch> {
        self.tables
            .iter()
            .filter(|(l, _)| *l <= len)
            .find_map(|(l, m)| m.get(&(key & mask(*l))))
            .map(|w| self.matched(*w))
    }

    /// The distinct active prefixes of this cluster, as `(key, len)` in the unified space.
    pub fn prefixes(&self) -> impl Iterator<Item = (u128, u8)> + '_ {
        self.tables.iter().flat_map(|(l, m)| m.keys().map(move |&k| (k, *l)))
    }

    /// The active prefixes of one type, in input order.
    pub fn of_type(&self, t: NetworkType) -> &[IpNet] {
        &self.by_type[t as usize]
    }

    /// The most specific prefix of type `t` containing `ip` (a linear scan: for `--explain` only).
    pub fn scan_type(&self, t: NetworkType, ip: IpAddr) -> Option<IpNet> {
        let key = ip_key(ip);
        self.of_type(t)
            .iter()
            .filter(|n| {
                let (k, l) = net_key(**n);
                key & mask(l) == k
            })
            .max_by_key(|n| net_key(**n).1)
            .copied()
    }

    /// Number of distinct active prefixes.
    pub fn len(&self) -> usize {
        self.by_type.iter().map(Vec::len).sum()
    }

    /// True when the cluster has no active prefix.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// All clusters' CIDRs, ready for lookups.
#[derive(Debug, Default, Clone)]
pub struct CidrConfig {
    clusters: BTreeMap<String, ClusterCidrs>,
    empty: ClusterCidrs,
}

impl CidrConfig {
    /// Build the lookup tables from records; inactive records are ignored,
    /// duplicates collapse.
    pub fn from_records(records: &[CidrRecord]) -> CidrConfig {
        let mut b = CidrConfigBuilder::default();
        for r in records {
            b.add_record(&RecordRef::of(r));
        }
        b.finish()
    }

    /// The cluster's tables (empty when the cluster is unknown: everything is world).
    pub fn cluster(&self, name: &str) -> &ClusterCidrs {
        self.clusters.get(name).unwrap_or(&self.empty)
    }

    /// True when `name` has at least one active record.
    pub fn knows(&self, name: &str) -> bool {
        self.clusters.contains_key(name)
    }

    /// Cluster names, sorted.
    pub fn cluster_names(&self) -> impl Iterator<Item = &str> {
        self.clusters.keys().map(String::as_str)
    }

    /// The flattened trie over every cluster at once: one row per distinct
    /// prefix of any cluster, sorted by `(key, len)`, carrying, for each
    /// cluster with a prefix covering it, that cluster's winner (first type in
    /// Cilium's order, most specific prefix within it) over all its prefixes
    /// covering it. A longest-prefix match over these rows, then the row's
    /// entry for cluster C, equals `self.cluster(C).lookup(ip)` for every
    /// address: the rows ClickHouse's IP_TRIE dictionary is loaded with.
    pub fn trie_rows(&self) -> Vec<TrieRow<'_>> {
        let mut keys: Vec<(u128, u8)> = self.clusters.values().flat_map(ClusterCidrs::prefixes).collect();
        keys.sort_unstable();
        keys.dedup();
        keys.into_iter()
            .map(|(key, len)| TrieRow {
                key,
                len,
                winners: self
                    .clusters
                    .iter()
                    .filter_map(|(c, cc)| cc.lookup_prefix(key, len).map(|m| (c.as_str(), m)))
                    .collect(),
            })
            .collect()
    }
}

/// Builds a [`CidrConfig`] from records handed over one at a time (as
/// [`for_each_cidr_record`] streams them): keeps, per cluster and type, only
/// the networks of active records; cluster names are stored once each.
#[derive(Debug, Default)]
pub struct CidrConfigBuilder {
    /// Cluster name → position in `clusters`.
    index: HashMap<String, usize>,
    /// Per cluster, its active networks per type (by `NetworkType as usize`), in input order.
    clusters: Vec<(String, [Vec<IpNet>; 4])>,
    /// The cluster of the previous record (files list one cluster after another).
    last: usize,
}

impl CidrConfigBuilder {
    /// Add an active record of `cluster` (inactive records are not passed here).
    pub fn add(&mut self, cluster: &str, network_type: NetworkType, cidr: IpNet) {
        let i = match self.clusters.get(self.last) {
            Some((name, _)) if name == cluster => self.last,
            _ => match self.index.get(cluster) {
                Some(&i) => i,
                None => {
                    self.index.insert(cluster.to_string(), self.clusters.len());
                    self.clusters.push((cluster.to_string(), Default::default()));
                    self.clusters.len() - 1
                }
            },
        };
        self.last = i;
        self.clusters[i].1[network_type as usize].push(cidr);
    }

    /// Add a record; inactive ones are ignored.
    pub fn add_record(&mut self, r: &RecordRef<'_>) {
        if r.is_active {
            self.add(r.cluster_name, r.network_type, r.cidr);
        }
    }

    /// The lookup tables; duplicates (same cluster, type and network) collapse
    /// to their first occurrence.
    pub fn finish(self) -> CidrConfig {
        drop(self.index);
        let mut seen: hashbrown::HashSet<IpNet> = hashbrown::HashSet::new();
        let clusters = self
            .clusters
            .into_iter()
            .map(|(name, mut by_type)| {
                for nets in &mut by_type {
                    seen.clear();
                    nets.retain(|n| seen.insert(*n));
                    nets.shrink_to_fit();
                }
                (name, ClusterCidrs::build(by_type))
            })
            .collect();
        CidrConfig { clusters, empty: ClusterCidrs::default() }
    }
}

/// One row of the all-clusters trie ([`CidrConfig::trie_rows`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrieRow<'a> {
    /// The prefix's masked key in the unified 128-bit space.
    pub key: u128,
    /// Its length in that space (IPv4 /p is p + 96).
    pub len: u8,
    /// Per cluster covering it (sorted by name), the cluster's winner.
    pub winners: Vec<(&'a str, CidrMatch)>,
}

impl TrieRow<'_> {
    /// The prefix as ClickHouse's IP_TRIE key: IPv6 text, IPv4 as `::ffff:a.b.c.d/(p+96)`.
    pub fn trie_prefix(&self) -> String {
        format!("{}/{}", Ipv6Addr::from(self.key), self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(c: &str, t: NetworkType, n: &str) -> CidrRecord {
        CidrRecord {
            cluster_name: c.into(),
            network_type: t,
            cidr: parse_cidr(n).unwrap(),
            is_active: true,
            source: String::new(),
            origin: Origin::new("t", 1),
        }
    }

    #[test]
    fn host_bits_suggest_network() {
        let e = parse_cidr("10.0.0.5/24").unwrap_err();
        assert!(e.contains("did you mean 10.0.0.0/24?"), "{e}");
        assert_eq!(parse_cidr("10.0.0.5").unwrap().to_string(), "10.0.0.5/32");
        assert_eq!(parse_cidr("fd00::1").unwrap().to_string(), "fd00::1/128");
        assert_eq!(parse_cidr("::ffff:10.0.0.0/104").unwrap().to_string(), "10.0.0.0/8");
        assert!(parse_cidr("10.0.0.0/33").is_err());
        assert!(parse_cidr("banana").is_err());
    }

    #[test]
    fn flattened_lookup_prefers_type_then_specific() {
        use NetworkType::*;
        let cfg = CidrConfig::from_records(&[
            rec("a", Node, "10.0.0.0/8"),
            rec("a", Pod, "10.244.0.0/16"),
            rec("a", Pod, "10.244.1.0/24"),
            rec("a", Service, "10.244.1.128/25"),
            rec("b", Pod, "10.244.0.0/16"),
        ]);
        let a = cfg.cluster("a");
        let m = a.lookup("10.244.1.200".parse().unwrap()).unwrap();
        assert_eq!((m.network_type, m.cidr.to_string().as_str()), (Pod, "10.244.1.0/24"));
        let m = a.lookup("10.1.1.1".parse().unwrap()).unwrap();
        assert_eq!(m.network_type, Node);
        assert!(a.lookup("11.0.0.1".parse().unwrap()).is_none());
        assert!(cfg.cluster("c").lookup("10.244.0.1".parse().unwrap()).is_none());
        assert_eq!(cfg.cluster("b").lookup("10.244.9.9".parse().unwrap()).unwrap().network_type, Pod);
    }

    #[test]
    fn trie_rows_answer_like_lookup() {
        use NetworkType::*;
        let cfg = CidrConfig::from_records(&[
            rec("a", Node, "10.0.0.0/8"),
            rec("a", Pod, "10.244.0.0/16"),
            rec("a", Service, "10.244.1.128/25"),
            rec("b", Pod, "10.244.0.0/16"),
            rec("b", Node, "10.244.1.130"),
            rec("c", Pod, "fd00::/8"),
        ]);
        let rows = cfg.trie_rows();
        let prefixes: Vec<String> = rows.iter().map(TrieRow::trie_prefix).collect();
        assert_eq!(
            prefixes,
            ["::ffff:10.0.0.0/104", "::ffff:10.244.0.0/112", "::ffff:10.244.1.128/121", "::ffff:10.244.1.130/128", "fd00::/8"]
        );
        // Longest match for 10.244.1.130 is the /32 of b; a's winner there is its pod /16.
        let last = &rows[3];
        let w: Vec<(&str, NetworkType, String)> = last.winners.iter().map(|(c, m)| (*c, m.network_type, m.cidr.to_string())).collect();
        assert_eq!(w, [("a", Pod, "10.244.0.0/16".to_string()), ("b", Pod, "10.244.0.0/16".to_string())]);
        // Brute force: for sampled addresses, longest trie row's entry == lookup.
        for ip in ["10.1.1.1", "10.244.1.129", "10.244.1.130", "10.244.1.200", "10.244.2.1", "11.0.0.1", "fd00::1", "fe00::1"] {
            let ip: IpAddr = ip.parse().unwrap();
            let k = ip_key(ip);
            let row = rows.iter().filter(|r| k & mask(r.len) == r.key).max_by_key(|r| r.len);
            for c in ["a", "b", "c", "d"] {
                let want = cfg.cluster(c).lookup(ip);
                let got = row.and_then(|r| r.winners.iter().find(|(n, _)| *n == c).map(|(_, m)| *m));
                assert_eq!(got, want, "{ip} {c}");
            }
        }
    }

    #[test]
    fn csv_and_json_inputs() {
        let csv = "cluster_name,network_type,cidr_block,is_active\nc1,pod_cidr,10.244.0.0/16,1\nc1,service_cidr,10.96.0.0/12,0\n";
        let r = read_cidr_text(csv, "x.csv").unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].origin.line, 3);
        assert!(!r[1].is_active);
        let bad = "cluster_name,network_type,cidr_block\nc1,pod_cidr,10.244.0.5/16\n";
        let e = read_cidr_text(bad, "x.csv").unwrap_err().to_string();
        assert_eq!(e, "x.csv:2: column cidr_block: \"10.244.0.5/16\" has host bits set; did you mean 10.244.0.0/16?");
        let j = r#"[{"cluster_name":"c","network_type":"node_cidr","cidr_block":"fd00::/64","is_active":1}]"#;
        assert_eq!(read_cidr_text(j, "x.json").unwrap()[0].cidr.to_string(), "fd00::/64");
        let jl = "{\"cluster_name\":\"c\",\"network_type\":\"pods\",\"cidr_block\":\"10.0.0.0/8\"}\n";
        let e = read_cidr_text(jl, "x.jsonl").unwrap_err().to_string();
        assert!(e.starts_with("x.jsonl:1: network_type \"pods\""), "{e}");
    }
    /// The reader before it streamed (whole file read and checked, every record
    /// built, then grouped), kept as the reference the streaming reader must
    /// agree with; its CSV line numbers are found the slow way ([`line_at`]),
    /// independently of `input::lines`.
    mod reference {
        use super::super::*;

        pub fn read(bytes: &[u8], name: &str) -> Result<Vec<CidrRecord>> {
            let text = String::from_utf8(bytes.to_vec()).map_err(|e| utf8_error(name, e.as_bytes(), e.utf8_error()))?;
            read_cidr_text(&text, name)
        }

        fn utf8_error(name: &str, bytes: &[u8], e: std::str::Utf8Error) -> Error {
            let at = e.valid_up_to();
            let line_start = bytes[..at].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            let line = 1 + bytes[..at].iter().filter(|&&b| b == b'\n').count() as u64;
            Error::input(
                Origin::new(name, line),
                format!("invalid UTF-8 at byte {} (CIDR files are UTF-8 text)", at - line_start),
            )
        }

        fn read_cidr_text(text: &str, name: &str) -> Result<Vec<CidrRecord>> {
            let lower = name.to_ascii_lowercase();
            let first = text.trim_start().chars().next();
            if lower.ends_with(".csv") || (!lower.ends_with(".json") && !lower.ends_with(".jsonl") && !matches!(first, Some('[') | Some('{'))) {
                return read_cidr_csv(text, name);
            }
            if first == Some('[') {
                let values: Vec<serde_json::Value> = serde_json::from_str(text).map_err(|e| {
                    Error::input(Origin::new(name, e.line() as u64), format!("invalid JSON: {e}"))
                })?;
                return values
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| {
                        let origin = Origin::new(format!("{name}[{i}]"), 0);
                        let raw: RawRecord = serde_json::from_value(v)
                            .map_err(|e| Error::input(origin.clone(), format!("invalid record: {e}")))?;
                        raw.into_record(origin)
                    })
                    .collect();
            }
            let mut out = Vec::new();
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let origin = Origin::new(name, i as u64 + 1);
                let raw: RawRecord = serde_json::from_str(line)
                    .map_err(|e| Error::input(origin.clone(), format!("invalid JSON: {e}")))?;
                out.push(raw.into_record(origin)?);
            }
            Ok(out)
        }

        /// The line a record whose csv position is `start` is on, found
        /// the slow way: skip what the parser skips (line ends, `#` comment
        /// lines) from `start`, then count the newlines before.
        fn line_at(text: &str, start: u64) -> u64 {
            let b = text.as_bytes();
            let mut i = usize::try_from(start).unwrap();
            loop {
                match b.get(i) {
                    Some(b'\r' | b'\n') => i += 1,
                    Some(b'#') => i += b[i..].iter().position(|&c| c == b'\n').map_or(b.len() - i, |n| n + 1),
                    _ => break,
                }
            }
            1 + b[..i].iter().filter(|&&c| c == b'\n').count() as u64
        }

        fn read_cidr_csv(text: &str, name: &str) -> Result<Vec<CidrRecord>> {
            let mut rdr = csv::ReaderBuilder::new()
                .flexible(false)
                .trim(csv::Trim::All)
                .comment(Some(b'#'))
                .from_reader(text.as_bytes());
            let headers = rdr
                .headers()
                .map_err(|e| Error::input(Origin::new(name, 1), format!("invalid CSV header: {}", describe(&e))))?
                .clone();
            let header_line = line_at(text, 0);
            for col in ["cluster_name", "network_type", "cidr_block"] {
                if !headers.iter().any(|h| h == col) {
                    return Err(Error::input(
                        Origin::new(name, header_line),
                        format!(
                            "CSV header has no column {col} (expected cluster_name,network_type,cidr_block[,is_active][,source], found {:?})",
                            headers.iter().collect::<Vec<_>>().join(",")
                        ),
                    ));
                }
            }
            let mut out = Vec::new();
            let mut row = csv::StringRecord::new();
            loop {
                match rdr.read_record(&mut row) {
                    Ok(false) => break,
                    Ok(true) => {}
                    Err(e) => {
                        let line = line_at(text, e.position().unwrap().byte());
                        return Err(Error::input(Origin::new(name, line), format!("invalid CSV record: {}", describe(&e))));
                    }
                }
                let origin = Origin::new(name, line_at(text, row.position().unwrap().byte()));
                let raw: RawRecord = row
                    .deserialize(Some(&headers))
                    .map_err(|e| Error::input(origin.clone(), format!("invalid CSV record: {}", describe(&e))))?;
                out.push(raw.into_record(origin)?);
            }
            Ok(out)
        }
    }

    /// The streaming reader over `bytes` (as if read from a file called `name`).
    fn streamed(bytes: &[u8], name: &str) -> Result<Vec<CidrRecord>> {
        let mut out = Vec::new();
        stream_records(Utf8Lines::new(bytes, name, Path::new(name)), &mut |r| {
            out.push(r.to_record());
            Ok(())
        })?;
        Ok(out)
    }

    /// Same records, or the same error message, as the reference reader.
    fn assert_same(bytes: &[u8], name: &str) -> std::result::Result<Vec<CidrRecord>, String> {
        let want = reference::read(bytes, name).map_err(|e| e.to_string());
        let got = streamed(bytes, name).map_err(|e| e.to_string());
        assert_eq!(got, want, "input {:?} as {name}", String::from_utf8_lossy(bytes));
        got
    }

    /// Lookups, per-type lists and cluster names of two configurations agree.
    fn assert_same_config(a: &CidrConfig, b: &CidrConfig, probes: &[IpAddr]) {
        assert_eq!(a.cluster_names().collect::<Vec<_>>(), b.cluster_names().collect::<Vec<_>>());
        assert_eq!(a.trie_rows(), b.trie_rows());
        for c in a.cluster_names() {
            for t in NetworkType::ALL {
                assert_eq!(a.cluster(c).of_type(t), b.cluster(c).of_type(t), "{c} {t}");
            }
            for &ip in probes {
                assert_eq!(a.cluster(c).lookup(ip), b.cluster(c).lookup(ip), "{c} {ip}");
            }
        }
    }

    const GOOD: &str = "cluster_name,network_type,cidr_block,is_active,source\n\
        # a comment\n\
        c1,pod_cidr,10.244.0.0/16,1,node/a spec.podCIDRs\n\
        c1 , Service-CIDR ,10.96.0.0/12,true,\n\
        c1,node_cidr,192.168.1.7,,\n\
        c1,node_cidr,192.168.1.7/32,1,\"dup, quoted\"\n\
        c2,pod_cidr,fd00:10:244::/56,1,\n\
        c2,remote_node_cidr,::ffff:172.16.0.0/108,0,\n\
        c1,pod_cidr,10.244.1.0/24,false,\n\
        c3,node_cidr,0.0.0.0/0,0,\n\
        \n\
        c2,node_cidr,172.16.0.1,1,\n";

    #[test]
    fn streaming_reader_gives_the_same_records() {
        let recs = assert_same(GOOD.as_bytes(), "x.csv").unwrap();
        assert_eq!(recs.len(), 9);
        assert_eq!(recs[1].cluster_name, "c1");
        assert_eq!(recs[1].network_type, NetworkType::Service);
        assert_eq!(recs[3].source, "dup, quoted");
        assert_eq!(recs[5].cidr.to_string(), "172.16.0.0/12");
        // Physical lines, comment and blank lines included (the csv crate's
        // own count said 11).
        assert_eq!(recs[8].origin, Origin::new("x.csv", 12));
        // CRLF, other column orders, missing optional columns, no extension.
        assert_same(b"cidr_block,cluster_name,network_type\r\n10.0.0.0/8,c,pod\r\n\r\n10.1.0.0/16,c,node\r\n", "cidrs").unwrap();
        assert_same(b"cluster_name,network_type,cidr_block,extra\nc,pod_cidr,10.0.0.0/8,x\n", "x.csv").unwrap();
        // JSON lines and JSON arrays.
        let jl = "\n{\"cluster_name\":\"c\",\"network_type\":\"pod_cidr\",\"cidr_block\":\"10.0.0.0/8\",\"is_active\":1}\r\n\n{\"cluster_name\":\"c\",\"network_type\":\"node\",\"cidr_block\":\"fd00::1\",\"is_active\":false,\"source\":\"s\"}";
        assert_eq!(assert_same(jl.as_bytes(), "x.jsonl").unwrap()[1].origin.line, 4);
        assert_same(jl.as_bytes(), "stdin").unwrap();
        let arr = " \n [{\"cluster_name\":\"c\",\"network_type\":\"pod_cidr\",\"cidr_block\":\"10.0.0.0/8\"},\n {\"cluster_name\":\"d\",\"network_type\":\"node_cidr\",\"cidr_block\":\"10.0.0.1\",\"is_active\":\"0\"}]";
        assert_eq!(assert_same(arr.as_bytes(), "x.json").unwrap()[1].origin, Origin::new("x.json[1]", 0));
        assert_same(arr.as_bytes(), "-").unwrap();
        assert_same(b"", "x.csv").unwrap_err();
        assert_same(b"", "x.jsonl").unwrap();
        assert_same(b"  \n\n", "x.json").unwrap();
    }

    #[test]
    fn streaming_reader_gives_the_same_errors() {
        let head = "cluster_name,network_type,cidr_block,is_active\n";
        let cases = [
            // A bad CIDR on line 4, with the "did you mean".
            format!("{head}c,pod_cidr,10.0.0.0/8,1\nc,pod_cidr,10.1.0.0/16,1\nc,node_cidr,10.244.0.5/16,1\n"),
            format!("{head}c,pod_cidr,10.0.0.0/33,1\n"),
            format!("{head}c,pod_cidr,::ffff:300.1.1.1,1\n"),
            format!("{head}c,pods,10.0.0.0/8,1\n"),
            format!("{head}c,pod_cidr,,1\n"),
            format!("{head}\u{a0},pod_cidr,10.0.0.0/8,1\n"),
            format!("{head}c,pod_cidr,10.0.0.0/8,yes\n"),
            format!("{head}c,pod_cidr,10.0.0.0/8,1,extra\n"),
            format!("{head}c,pod_cidr,\"10.0.0.0/8\n"),
            "cluster_name,network_type\nc,pod_cidr\n".to_string(),
            "cluster_name,network_type,cidr_block,cidr_block\nc,pod_cidr,10.0.0.0/8,10.0.0.0/8\n".to_string(),
            "{\"cluster_name\":\"c\",\"network_type\":\"pod_cidr\",\"cidr_block\":\"10.0.0.5/8\"}\n{oops\n".to_string(),
            "{\"cluster_name\":\"c\"}\n".to_string(),
            "[{\"cluster_name\":\"c\",\"network_type\":\"pod_cidr\",\"cidr_block\":\"10.0.0.0/8\"},\n 3]".to_string(),
            "[{\"cluster_name\":\"c\",\n".to_string(),
        ];
        for (i, text) in cases.iter().enumerate() {
            let name = if text.starts_with('{') { "x.jsonl" } else if text.starts_with('[') { "x.json" } else { "x.csv" };
            assert!(assert_same(text.as_bytes(), name).is_err(), "case {i}");
        }
        let e = streamed(cases[0].as_bytes(), "x.csv").unwrap_err().to_string();
        assert_eq!(e, "x.csv:4: column cidr_block: \"10.244.0.5/16\" has host bits set; did you mean 10.244.0.0/16?");
    }

    #[test]
    fn invalid_utf8_names_line_and_byte() {
        let mut bad = b"cluster_name,network_type,cidr_block\nc,pod_cidr,10.0.0.0/8\nc,n\xffde_cidr,10.1.0.0/16\n".to_vec();
        let jsonl = b"{\"cluster_name\":\"c\",\"network_type\":\"pod_cidr\",\"cidr_block\":\"10.0.0.0/8\"}\n\n{\"\xff\"}\n";
        let json = b"[{\"cluster_name\":\"c\",\"network_type\":\"pod_cidr\",\n\"cidr_block\":\"10.0.0.0/8\"},\n\"\xff\"]";
        for (bytes, name, at) in [(&bad[..], "x.csv", 3), (&bad[..], "x", 3), (&jsonl[..], "x.jsonl", 2), (&jsonl[..], "y", 2), (&json[..], "x.json", 1)] {
            let e = assert_same(bytes, name).unwrap_err();
            assert_eq!(e, format!("{name}:3: invalid UTF-8 at byte {at} (CIDR files are UTF-8 text)"));
        }
        // In a comment, in the header, and in the first line of JSON.
        assert_same(b"cluster_name,network_type,cidr_block\n# caf\xe9\nc,pod_cidr,10.0.0.0/8\n", "x.csv").unwrap_err();
        assert_same(b"cluster\xc3_name,network_type,cidr_block\n", "x.csv").unwrap_err();
        assert_same(b"\xef\xbb{}\n", "x").unwrap_err();
        // Far beyond the first chunk the reader hands to the CSV parser.
        let mut big = String::from("cluster_name,network_type,cidr_block\n");
        for i in 0..5000u32 {
            big.push_str(&format!("c{},node_cidr,10.{}.{}.1\n", i % 7, i / 256, i % 256));
        }
        let mut big = big.into_bytes();
        big.extend_from_slice(b"c,pod_cidr,10.0.0.0/8 \xe2\x82\n");
        let e = assert_same(&big, "big.csv").unwrap_err();
        assert_eq!(e, "big.csv:5002: invalid UTF-8 at byte 22 (CIDR files are UTF-8 text)");
        // Errors come in file order now: a bad record before the bad byte is
        // reported first (the reference checked the whole file before any record).
        bad.splice(37..37, b"c,pod_cidr,10.0.0.1/8\n".iter().copied());
        let e = streamed(&bad, "x.csv").unwrap_err().to_string();
        assert!(e.starts_with("x.csv:2: column cidr_block: \"10.0.0.1/8\" has host bits set"), "{e}");
        assert!(reference::read(&bad, "x.csv").unwrap_err().to_string().starts_with("x.csv:4: invalid UTF-8"));
    }

    #[test]
    fn loaded_config_equals_config_from_records() {
        let probes: Vec<IpAddr> = ["10.244.1.1", "10.244.2.1", "10.96.0.1", "192.168.1.7", "172.16.0.1", "172.16.0.2", "fd00:10:244::1", "8.8.8.8"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let dir = std::env::temp_dir().join(format!("netmap-cidr-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("cidrs.csv");
        std::fs::write(&path, GOOD).unwrap();
        let loaded = load_cidr_config(&path).unwrap();
        let from = CidrConfig::from_records(&reference::read(GOOD.as_bytes(), "x.csv").unwrap());
        assert_same_config(&loaded, &from, &probes);
        // c3 has only inactive records: unknown. The duplicate /32 collapsed.
        assert!(!loaded.knows("c3"));
        assert_eq!(loaded.cluster("c1").of_type(NetworkType::Node).len(), 1);
        assert_eq!(read_cidr_file(&path).unwrap(), reference::read(GOOD.as_bytes(), &path.display().to_string()).unwrap());
        // Errors from a file name it.
        std::fs::write(&path, b"cluster_name,network_type,cidr_block\nc,pod_cidr,10.0.0.0/8\nc,pod_cidr,\xff\n").unwrap();
        let e = load_cidr_config(&path).unwrap_err().to_string();
        assert_eq!(e, format!("{}:3: invalid UTF-8 at byte 11 (CIDR files are UTF-8 text)", path.display()));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn fast_ipv4_parse_agrees_with_parse_cidr() {
        for s in ["10.0.0.0/8", "0.0.0.0/0", "255.255.255.255", "255.255.255.255/32", "1.2.3.4", "172.16.0.0/12", "10.244.1.0/24"] {
            assert_eq!(fast_ipv4_cidr(s.as_bytes()), Some(parse_cidr(s).unwrap()), "{s}");
        }
        // Left to parse_cidr (which accepts some, refuses others).
        for s in ["10.0.0.5/8", "010.0.0.0/8", "10.0.0.0/08", "10.0.0.0/", "10.0.0.0/33", "256.0.0.0/8", "1.2.3", "1.2.3.4.5", " 1.2.3.4", "1.2.3.4/8x", "1.2.3.4/123", "1234.1.1.1", "::1", ""] {
            assert_eq!(fast_ipv4_cidr(s.as_bytes()), None, "{s}");
        }
    }

    mod stream_prop {
        use super::*;
        use proptest::prelude::*;

        const CLUSTERS: &[&str] = &["c1", " c2 ", "", "\u{a0}", "ç", "\"q,1\""];
        const TYPES: &[&str] = &["pod_cidr", "Pod", "node-cidr", "service_cidr", "remote_node_cidr", "pods", "", " node_cidr"];
        const CIDRS: &[&str] = &[
            "10.0.0.0/8", "10.0.0.5/24", "010.0.0.0/8", "10.0.0.0/08", "1.2.3.4", "::ffff:10.0.0.0/104", "fd00::/64",
            " 10.1.0.0/16 ", "10.0.0.0/33", "300.1.1.1", "", "0.0.0.0/0", "255.255.255.255/32", "1.2.3.4/", "1.2.3", "10.0.0.0/8",
        ];
        const ACTIVE: &[&str] = &["", "1", "0", "true", "false", "01", "-0", "1.0", "TRUE", "yes", " 1", "+1"];

        proptest! {
            /// Random files from tricky field values: the streaming reader and
            /// the reference give the same records or the same error, and the
            /// streamed tables equal the tables built from the records.
            #[test]
            fn streaming_equals_reference(
                order in prop::sample::select(vec![
                    "cluster_name,network_type,cidr_block,is_active,source",
                    "source,cidr_block,is_active,network_type,cluster_name",
                    "cluster_name,network_type,cidr_block",
                    "cluster_name,network_type,cidr_block,is_active",
                ]),
                rows in prop::collection::vec((0..CLUSTERS.len(), 0..TYPES.len(), 0..CIDRS.len(), 0..ACTIVE.len(), 0u8..11), 0..12),
            ) {
                let cols: Vec<&str> = order.split(',').collect();
                let mut text = format!("{order}\n");
                for (c, t, n, a, extra) in rows {
                    let line: Vec<&str> = cols.iter().map(|col| match *col {
                        "cluster_name" => CLUSTERS[c],
                        "network_type" => TYPES[t],
                        "cidr_block" => CIDRS[n],
                        "is_active" => ACTIVE[a],
                        _ if extra % 3 == 0 => "\"two\nlines\"",
                        _ => "src",
                    }).collect();
                    text.push_str(&line.join(","));
                    text.push_str(match extra { 0 => ",x\n", 1 => "\n\n", 2 => "\n# note\n", 8 => "\r\n", 9 => "\r\n\r\n# c\r\n", 10 => "\n\n\n# a\n\n# b\n", _ => "\n" });
                }
                let got = streamed(text.as_bytes(), "p.csv").map_err(|e| e.to_string());
                let want = reference::read(text.as_bytes(), "p.csv").map_err(|e| e.to_string());
                prop_assert_eq!(&got, &want, "{}", text);
                if let Ok(recs) = got {
                    let mut b = CidrConfigBuilder::default();
                    stream_records(Utf8Lines::new(text.as_bytes(), "p.csv", Path::new("p.csv")), &mut |r| { b.add_record(&r); Ok(()) }).unwrap();
                    let probes: Vec<IpAddr> = ["10.0.0.1", "1.2.3.4", "10.1.2.3", "255.255.255.255", "fd00::1"].iter().map(|s| s.parse().unwrap()).collect();
                    assert_same_config(&b.finish(), &CidrConfig::from_records(&recs), &probes);
                }
            }

            #[test]
            fn fast_ipv4_never_disagrees(s in "[0-9./]{1,19}", a in any::<u32>(), l in 0u8..=33) {
                for s in [s, format!("{}/{l}", std::net::Ipv4Addr::from(a))] {
                    if let Some(n) = fast_ipv4_cidr(s.as_bytes()) {
                        prop_assert_eq!(Ok(n), parse_cidr(&s), "{}", s);
                    }
                }
            }
        }
    }
}
