//! The raw sample file written by the instrumented program at exit.
//!
//! The writer is the IR runtime linked into every instrumented module (see
//! `prefetch/runtime.ll`); it dumps its in-memory site records as they are, so this layout is
//! the runtime's struct layout. All integers are little-endian (the runtime only exists on
//! x86_64 Linux).
//!
//! ```text
//! header (64 bytes)
//!   0  magic      b"HPFRAW01"
//!   8  version    u32 = 1
//!  12  site_size  u32 = bytes of one site record header (40)
//!  16  tsc_start  u64   cycle counter at the first sample
//!  24  ns_start   u64   CLOCK_MONOTONIC ns at the first sample
//!  32  tsc_end    u64   cycle counter when the file was written
//!  40  ns_end     u64   CLOCK_MONOTONIC ns when the file was written
//!  48  nsites     u64
//!  56  reserved   u64
//! per site
//!   0  id         u64   site id (see `site.rs`)
//!   8  function   u64   stem hash of the function's symbol (see `site.rs`)
//!  16  execs      u64   executions of the load (exact: sampling periods elapsed)
//!  24  entries    u64   entries into the load's loop from its preheader (0 = not counted)
//!  32  period     u32   executions between two consecutive samples
//!  36  nsamples   u32
//!  40  samples    nsamples x { addr: u64, tsc: u64 }
//! ```

use std::fmt;

/// Magic bytes at the start of every raw sample file.
pub const RAW_MAGIC: &[u8; 8] = b"HPFRAW01";
/// Raw format version understood here.
pub const RAW_VERSION: u32 = 1;
/// Size of the file header in bytes.
pub const RAW_HEADER_BYTES: usize = 64;
/// Size of a site record's fixed part in bytes.
pub const RAW_SITE_BYTES: usize = 40;
/// Upper bound on samples per site accepted when reading (the runtime keeps at most 1024).
pub const RAW_MAX_SAMPLES: u32 = 1 << 16;

/// One sampled execution of a load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// The address the load read.
    pub addr: u64,
    /// Cycle counter when the load ran.
    pub tsc: u64,
}

/// Everything one process recorded for one site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawSite {
    /// Site id.
    pub id: u64,
    /// Stem hash of the function's symbol.
    pub function: u64,
    /// Exact number of executions.
    pub execs: u64,
    /// Loop entries (0 when the loop had no preheader to count in).
    pub entries: u64,
    /// Executions between consecutive samples.
    pub period: u32,
    /// Samples in execution order.
    pub samples: Vec<Sample>,
}

/// One parsed raw file.
#[derive(Debug, Clone, PartialEq)]
pub struct RawProfile {
    /// Cycle-counter ticks per nanosecond, from the header's two clock readings (`None` when the
    /// run was too short to measure).
    pub tsc_per_ns: Option<f64>,
    /// Sites in file order.
    pub sites: Vec<RawSite>,
}

/// Why a raw file could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawError {
    /// The file is shorter than its header or than the records it announces.
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Byte offset where data ran out.
        offset: usize,
    },
    /// The file does not start with [`RAW_MAGIC`].
    BadMagic,
    /// A version this code does not know.
    UnsupportedVersion(u32),
    /// A value that cannot be right.
    Corrupt(String),
}

impl fmt::Display for RawError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { what, offset } => {
                write!(f, "raw prefetch profile is truncated: {what} ends at byte {offset}; re-run the instrumented program to completion")
            }
            Self::BadMagic => write!(f, "not a raw prefetch profile (missing `HPFRAW01` header)"),
            Self::UnsupportedVersion(v) => write!(
                f,
                "raw prefetch profile version {v} is not supported (expected {RAW_VERSION}); rebuild with this Hallows and profile again"
            ),
            Self::Corrupt(msg) => write!(f, "raw prefetch profile is corrupt: {msg}"),
        }
    }
}

impl std::error::Error for RawError {}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&[u8], RawError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let Some(end) = end else {
            return Err(RawError::Truncated {
                what,
                offset: self.bytes.len(),
            });
        };
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, RawError> {
        let b = self.take(8, what)?;
        Ok(u64::from_le_bytes(
            b.try_into().expect("take returned 8 bytes"),
        ))
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, RawError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes(
            b.try_into().expect("take returned 4 bytes"),
        ))
    }
}

/// Parses one raw file.
pub fn parse_raw(bytes: &[u8]) -> Result<RawProfile, RawError> {
    let mut r = Reader { bytes, pos: 0 };
    if r.take(8, "magic")? != RAW_MAGIC {
        return Err(RawError::BadMagic);
    }
    let version = r.u32("version")?;
    if version != RAW_VERSION {
        return Err(RawError::UnsupportedVersion(version));
    }
    let site_size = r.u32("site size")?;
    if site_size as usize != RAW_SITE_BYTES {
        return Err(RawError::Corrupt(format!(
            "site record size {site_size}, expected {RAW_SITE_BYTES}"
        )));
    }
    let tsc_start = r.u64("tsc_start")?;
    let ns_start = r.u64("ns_start")?;
    let tsc_end = r.u64("tsc_end")?;
    let ns_end = r.u64("ns_end")?;
    let nsites = r.u64("site count")?;
    r.u64("reserved")?;
    let tsc_per_ns = if ns_end > ns_start && tsc_end > tsc_start && ns_end - ns_start >= 1_000_000 {
        Some((tsc_end - tsc_start) as f64 / (ns_end - ns_start) as f64)
    } else {
        None
    };
    let max_sites = (bytes.len() / RAW_SITE_BYTES) as u64;
    if nsites > max_sites {
        return Err(RawError::Truncated {
            what: "site records",
            offset: bytes.len(),
        });
    }
    let mut sites = Vec::with_capacity(nsites as usize);
    for _ in 0..nsites {
        let id = r.u64("site id")?;
        let function = r.u64("site function")?;
        let execs = r.u64("site executions")?;
        let entries = r.u64("site entries")?;
        let period = r.u32("site period")?;
        let nsamples = r.u32("site sample count")?;
        if id == 0 {
            return Err(RawError::Corrupt("site id 0".into()));
        }
        if period == 0 || nsamples > RAW_MAX_SAMPLES {
            return Err(RawError::Corrupt(format!(
                "site {id:016x}: period {period}, {nsamples} samples"
            )));
        }
        let mut samples = Vec::with_capacity(nsamples as usize);
        for _ in 0..nsamples {
            let addr = r.u64("sample address")?;
            let tsc = r.u64("sample time")?;
            samples.push(Sample { addr, tsc });
        }
        sites.push(RawSite {
            id,
            function,
            execs,
            entries,
            period,
            samples,
        });
    }
    if r.pos != bytes.len() {
        return Err(RawError::Corrupt(format!(
            "{} bytes after the last site record",
            bytes.len() - r.pos
        )));
    }
    Ok(RawProfile { tsc_per_ns, sites })
}

/// Serialises a raw profile in the runtime's layout (used by tests and fixtures).
pub fn encode_raw(tsc: [u64; 2], ns: [u64; 2], sites: &[RawSite]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(RAW_MAGIC);
    out.extend_from_slice(&RAW_VERSION.to_le_bytes());
    out.extend_from_slice(&(RAW_SITE_BYTES as u32).to_le_bytes());
    for v in [tsc[0], ns[0], tsc[1], ns[1], sites.len() as u64, 0] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for s in sites {
        for v in [s.id, s.function, s.execs, s.entries] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&s.period.to_le_bytes());
        out.extend_from_slice(&(s.samples.len() as u32).to_le_bytes());
        for smp in &s.samples {
            out.extend_from_slice(&smp.addr.to_le_bytes());
            out.extend_from_slice(&smp.tsc.to_le_bytes());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(id: u64, n: u64) -> RawSite {
        RawSite {
            id,
            function: 0xf00d,
            execs: n * 64,
            entries: 1,
            period: 64,
            samples: (0..n)
                .map(|i| Sample {
                    addr: 0x1000 + i * 512,
                    tsc: i * 100,
                })
                .collect(),
        }
    }

    #[test]
    fn round_trips() {
        let sites = vec![site(7, 3), site(9, 0)];
        let bytes = encode_raw([1000, 3_001_000], [0, 1_000_000], &sites);
        assert_eq!(bytes.len(), RAW_HEADER_BYTES + 2 * RAW_SITE_BYTES + 3 * 16);
        let p = parse_raw(&bytes).unwrap();
        assert_eq!(p.sites, sites);
        assert!((p.tsc_per_ns.unwrap() - 3.0).abs() < 1e-9);
    }

    #[test]
    fn rejects_truncation_at_every_length() {
        let bytes = encode_raw([0, 0], [0, 0], &[site(7, 3)]);
        for len in 0..bytes.len() {
            let err = parse_raw(&bytes[..len]).unwrap_err();
            assert!(
                matches!(err, RawError::Truncated { .. } | RawError::BadMagic),
                "len {len}: {err}"
            );
        }
    }

    #[test]
    fn rejects_bad_header_and_trailing_bytes() {
        let mut bytes = encode_raw([0, 0], [0, 0], &[site(7, 1)]);
        let mut wrong_version = bytes.clone();
        wrong_version[8] = 2;
        assert_eq!(
            parse_raw(&wrong_version),
            Err(RawError::UnsupportedVersion(2))
        );
        bytes.push(0);
        assert!(matches!(parse_raw(&bytes), Err(RawError::Corrupt(_))));
        assert_eq!(parse_raw(b"ELF\0\0\0\0\0garbage"), Err(RawError::BadMagic));
    }
}
