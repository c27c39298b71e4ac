//! The merged access-pattern profile: what `hallows-prefetch` reads from
//! `HALLOWS_PREFETCH_PROFILE`.
//!
//! Raw files (one per profiled process, see `raw.rs`) are merged per site and analysed once
//! (see `pattern.rs`), so the pass only parses small text. The format is line based, UTF-8:
//!
//! ```text
//! hallows-prefetch-profile 1
//! machine line=64 l1d=32768 l2=1048576 llc=33554432 llc_ns=14.1 dram_ns=96.3 mlp=16.2
//! runs 2
//! site 5f0c1e2d3b4a6978 fn=0a1b2c3d4e5f6071 execs=4000000 entries=1 pattern=irregular footprint=67108864 iter_ns=4.2 miss=0.98 miss_ns=95.1
//! end 1 9a8b7c6d5e4f3021
//! ```
//!
//! `end` gives the number of site lines and the FNV-1a hash of every byte before the `end`
//! line, so truncated or edited files are detected. `iter_ns` is `-` when the run was too short
//! to time; `entries` is 0 when the loop entries were not counted. `mlp` (the measured
//! memory-level parallelism) is optional: profiles written before it was measured read as
//! [`MEMORY_LEVEL_PARALLELISM`](super::distance::MEMORY_LEVEL_PARALLELISM).

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use super::cache::CacheModel;
use super::pattern::{self, AddressPattern};
use super::raw::{RawProfile, Sample};
use super::site::fnv1a;

/// First line of every merged profile (the number is the format version).
pub const PROFILE_HEADER: &str = "hallows-prefetch-profile 1";

/// Everything known about one site after merging.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteProfile {
    /// Site id.
    pub id: u64,
    /// Stem hash of the function's symbol.
    pub function: u64,
    /// Executions over all runs.
    pub execs: u64,
    /// Loop entries over all runs (0 = unknown).
    pub entries: u64,
    /// Address pattern.
    pub pattern: AddressPattern,
    /// Estimated bytes touched.
    pub footprint: u64,
    /// Measured time per execution (one loop iteration) in ns, instrumentation included.
    pub iter_ns: Option<f64>,
    /// Estimated fraction of executions missing L2.
    pub miss_rate: f64,
    /// Estimated latency of such a miss in ns.
    pub miss_latency_ns: f64,
}

impl SiteProfile {
    /// Average iterations per loop entry, when entries were counted.
    pub fn trip_count(&self) -> Option<f64> {
        (self.entries > 0).then(|| self.execs as f64 / self.entries as f64)
    }
}

/// A merged profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// The cache model of the profiled machine.
    pub machine: CacheModel,
    /// Number of raw files merged.
    pub runs: u32,
    /// Sites by id.
    pub sites: BTreeMap<u64, SiteProfile>,
}

/// Why a merged profile could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileError {
    /// 1-based line number (0 for whole-file problems).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "line {}: ", self.line)?;
        }
        write!(
            f,
            "{}; re-create it with `cargo hallows profile`",
            self.message
        )
    }
}

impl std::error::Error for ProfileError {}

fn err(line: usize, message: impl Into<String>) -> ProfileError {
    ProfileError {
        line,
        message: message.into(),
    }
}

/// Merges raw profiles: per site, executions and entries add up, and the samples of each run
/// are analysed on their own (deltas never span two processes).
pub fn merge(raws: &[RawProfile], machine: CacheModel) -> Profile {
    struct Acc {
        function: u64,
        execs: u64,
        entries: u64,
        runs: Vec<(u32, Vec<Sample>, Option<f64>)>,
    }
    let mut acc: BTreeMap<u64, Acc> = BTreeMap::new();
    for raw in raws {
        for site in &raw.sites {
            let a = acc.entry(site.id).or_insert_with(|| Acc {
                function: site.function,
                execs: 0,
                entries: 0,
                runs: Vec::new(),
            });
            a.execs = a.execs.saturating_add(site.execs);
            a.entries = a.entries.saturating_add(site.entries);
            a.runs
                .push((site.period, site.samples.clone(), raw.tsc_per_ns));
        }
    }
    let sites = acc
        .into_iter()
        .map(|(id, a)| {
            // The pattern of the run with the most samples decides; a strided pattern must
            // not be diluted by a short run.
            let best = a.runs.iter().max_by_key(|(_, s, _)| s.len());
            let pattern = best.map_or(AddressPattern::Unknown, |(p, s, _)| {
                pattern::classify(s, *p, machine.line_bytes)
            });
            // Runs of a deterministic program repeat the same samples, which would look like
            // collisions: the footprint comes from the largest run alone.
            let (footprint, miss) = best.map_or(
                (0, pattern::estimate_misses(pattern, 0, &machine)),
                |(_, s, _)| pattern::estimate_site(pattern, s, &machine),
            );
            let mut times: Vec<f64> = a
                .runs
                .iter()
                .filter_map(|(p, s, rate)| Some(pattern::ticks_per_execution(s, *p)? / (*rate)?))
                .collect();
            times.sort_by(f64::total_cmp);
            let iter_ns = times.get(times.len() / 2).copied();
            let site = SiteProfile {
                id,
                function: a.function,
                execs: a.execs,
                entries: a.entries,
                pattern,
                footprint,
                iter_ns,
                miss_rate: miss.miss_rate,
                miss_latency_ns: miss.miss_latency_ns,
            };
            (id, site)
        })
        .collect();
    Profile {
        machine,
        runs: raws.len() as u32,
        sites,
    }
}

impl Profile {
    /// Writes the text form.
    pub fn to_text(&self) -> String {
        let m = &self.machine;
        let mut out = String::new();
        let _ = writeln!(out, "{PROFILE_HEADER}");
        let _ = writeln!(
            out,
            "machine line={} l1d={} l2={} llc={} llc_ns={:.3} dram_ns={:.3} mlp={:.2}",
            m.line_bytes,
            m.l1d_bytes,
            m.l2_bytes,
            m.llc_bytes,
            m.llc_latency_ns,
            m.dram_latency_ns,
            m.memory_parallelism
        );
        let _ = writeln!(out, "runs {}", self.runs);
        for s in self.sites.values() {
            let iter = s
                .iter_ns
                .map_or_else(|| "-".to_string(), |t| format!("{t:.4}"));
            let _ = writeln!(
                out,
                "site {:016x} fn={:016x} execs={} entries={} pattern={} footprint={} iter_ns={} miss={:.4} miss_ns={:.3}",
                s.id,
                s.function,
                s.execs,
                s.entries,
                s.pattern.label(),
                s.footprint,
                iter,
                s.miss_rate,
                s.miss_latency_ns
            );
        }
        let sum = fnv1a(out.as_bytes());
        let _ = writeln!(out, "end {} {sum:016x}", self.sites.len());
        out
    }

    /// Parses the text form; any damage is an error naming the line.
    pub fn parse(text: &str) -> Result<Self, ProfileError> {
        let end_at = text.trim_end_matches('\n').rfind('\n').map_or(0, |i| i + 1);
        let body = &text[..end_at];
        let mut lines = body.lines().enumerate().map(|(i, l)| (i + 1, l));
        match lines.next() {
            Some((_, PROFILE_HEADER)) => {}
            Some((_, l)) if l.starts_with("hallows-prefetch-profile ") => {
                return Err(err(
                    1,
                    format!("unsupported profile version `{l}` (expected `{PROFILE_HEADER}`)"),
                ))
            }
            _ => return Err(err(1, "not a Hallows prefetch profile (missing header)")),
        }
        let (n, machine_line) = lines
            .next()
            .ok_or_else(|| err(0, "profile is truncated after its header"))?;
        let machine = parse_machine(n, machine_line)?;
        let (n, runs_line) = lines
            .next()
            .ok_or_else(|| err(0, "profile is truncated after its machine line"))?;
        let runs = runs_line
            .strip_prefix("runs ")
            .and_then(|r| r.parse().ok())
            .ok_or_else(|| err(n, format!("expected `runs <n>`, found `{runs_line}`")))?;
        let mut sites = BTreeMap::new();
        let mut count = 0usize;
        for (n, line) in lines {
            let site = parse_site(n, line)?;
            count += 1;
            sites.insert(site.id, site);
        }
        let end_line = text[end_at..].trim_end_matches('\n');
        let mut end = end_line.split(' ');
        let (Some("end"), Some(declared), Some(sum), None) =
            (end.next(), end.next(), end.next(), end.next())
        else {
            return Err(err(0, "profile is truncated (no `end` line)"));
        };
        if declared.parse::<usize>().ok() != Some(count) {
            return Err(err(
                0,
                format!(
                    "profile is truncated or edited: `end` says {declared} sites, found {count}"
                ),
            ));
        }
        if u64::from_str_radix(sum, 16).ok() != Some(fnv1a(body.as_bytes())) {
            return Err(err(
                0,
                "profile checksum does not match its contents (corrupt or edited)",
            ));
        }
        Ok(Self {
            machine,
            runs,
            sites,
        })
    }
}

fn fields<'a>(
    n: usize,
    line: &'a str,
    tag: &str,
) -> Result<BTreeMap<&'a str, &'a str>, ProfileError> {
    let rest = line.strip_prefix(tag).ok_or_else(|| {
        err(
            n,
            format!("expected a `{}` line, found `{line}`", tag.trim()),
        )
    })?;
    rest.split(' ')
        .filter(|f| !f.is_empty())
        .map(|f| {
            f.split_once('=')
                .ok_or_else(|| err(n, format!("expected `key=value`, found `{f}`")))
        })
        .collect()
}

fn get<T: std::str::FromStr>(
    n: usize,
    map: &BTreeMap<&str, &str>,
    key: &str,
) -> Result<T, ProfileError> {
    let v = map
        .get(key)
        .ok_or_else(|| err(n, format!("missing `{key}=`")))?;
    v.parse()
        .map_err(|_| err(n, format!("bad value `{v}` for `{key}`")))
}

fn parse_machine(n: usize, line: &str) -> Result<CacheModel, ProfileError> {
    let f = fields(n, line, "machine ")?;
    let m = CacheModel {
        line_bytes: get(n, &f, "line")?,
        l1d_bytes: get(n, &f, "l1d")?,
        l2_bytes: get(n, &f, "l2")?,
        llc_bytes: get(n, &f, "llc")?,
        llc_latency_ns: get(n, &f, "llc_ns")?,
        dram_latency_ns: get(n, &f, "dram_ns")?,
        memory_parallelism: if f.contains_key("mlp") {
            get(n, &f, "mlp")?
        } else {
            CacheModel::default().memory_parallelism
        },
    };
    let sane_ns = |x: f64| x.is_finite() && x > 0.0 && x < 1e6;
    let sane_mlp = m.memory_parallelism.is_finite() && (1.0..=1e3).contains(&m.memory_parallelism);
    if !m.line_bytes.is_power_of_two()
        || !sane_ns(m.llc_latency_ns)
        || !sane_ns(m.dram_latency_ns)
        || !sane_mlp
    {
        return Err(err(n, "implausible machine model"));
    }
    Ok(m)
}

fn parse_site(n: usize, line: &str) -> Result<SiteProfile, ProfileError> {
    let rest = line
        .strip_prefix("site ")
        .ok_or_else(|| err(n, format!("expected a `site` line, found `{line}`")))?;
    let (id_text, kv) = rest.split_once(' ').unwrap_or((rest, ""));
    let f = fields(n, kv, "")?;
    let id =
        u64::from_str_radix(id_text, 16).map_err(|_| err(n, format!("bad site id `{id_text}`")))?;
    let function_text: &str = f.get("fn").copied().unwrap_or("");
    let function = u64::from_str_radix(function_text, 16)
        .map_err(|_| err(n, format!("bad function hash `{function_text}`")))?;
    let pattern_text: &str = f.get("pattern").copied().unwrap_or("");
    let pattern = AddressPattern::parse(pattern_text)
        .ok_or_else(|| err(n, format!("bad pattern `{pattern_text}`")))?;
    let iter_ns = match f.get("iter_ns").copied() {
        Some("-") => None,
        _ => Some(get::<f64>(n, &f, "iter_ns")?),
    };
    let site = SiteProfile {
        id,
        function,
        execs: get(n, &f, "execs")?,
        entries: get(n, &f, "entries")?,
        pattern,
        footprint: get(n, &f, "footprint")?,
        iter_ns,
        miss_rate: get(n, &f, "miss")?,
        miss_latency_ns: get(n, &f, "miss_ns")?,
    };
    let finite = site.iter_ns.is_none_or(|t| t.is_finite() && t >= 0.0);
    if !(0.0..=1.0).contains(&site.miss_rate) || !finite || !site.miss_latency_ns.is_finite() {
        return Err(err(n, "implausible site numbers"));
    }
    Ok(site)
}

#[cfg(test)]
mod tests {
    use super::super::distance::MEMORY_LEVEL_PARALLELISM;
    use super::super::raw::RawSite;
    use super::*;

    fn raw_site(id: u64, addrs: impl IntoIterator<Item = u64>) -> RawSite {
        let samples: Vec<Sample> = addrs
            .into_iter()
            .enumerate()
            .map(|(i, addr)| Sample {
                addr,
                tsc: 3 * 64 * i as u64,
            })
            .collect();
        RawSite {
            id,
            function: 0xabc,
            execs: 64 * samples.len() as u64,
            entries: 2,
            period: 64,
            samples,
        }
    }

    fn example() -> Profile {
        let mut x = 12345u64;
        let random = (0..600).map(move |_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            0x7000_0000 + ((x >> 20) % (1 << 20)) * 64
        });
        let raw = RawProfile {
            tsc_per_ns: Some(3.0),
            sites: vec![
                raw_site(1, (0..100).map(|i| 0x1000 + i * 64 * 4)),
                raw_site(2, random),
            ],
        };
        merge(&[raw.clone(), raw], CacheModel::default())
    }

    #[test]
    fn merge_sums_counts_and_classifies() {
        let p = example();
        assert_eq!(p.runs, 2);
        let strided = &p.sites[&1];
        assert_eq!(strided.pattern, AddressPattern::Strided(4));
        assert_eq!(strided.execs, 2 * 6400);
        assert_eq!(strided.trip_count(), Some(3200.0));
        assert_eq!(strided.iter_ns, Some(1.0));
        assert_eq!(strided.miss_rate, 0.0);
        let random = &p.sites[&2];
        assert_eq!(random.pattern, AddressPattern::Irregular);
        assert!(random.miss_rate > 0.9, "{random:?}");
    }

    #[test]
    fn text_round_trips() {
        let p = example();
        let text = p.to_text();
        let q = Profile::parse(&text).unwrap();
        assert_eq!(q.sites.len(), 2);
        assert_eq!(q.sites[&1].pattern, p.sites[&1].pattern);
        assert_eq!(q.sites[&2].footprint, p.sites[&2].footprint);
        assert_eq!(q.to_text(), text, "printing is a fixed point");
        assert_eq!(q.machine.memory_parallelism, MEMORY_LEVEL_PARALLELISM);
        let measured = Profile {
            machine: CacheModel {
                memory_parallelism: 16.25,
                ..p.machine
            },
            ..p
        };
        let q = Profile::parse(&measured.to_text()).unwrap();
        assert_eq!(q.machine.memory_parallelism, 16.25);
    }

    /// Re-seals `body` (everything before the `end` line) with its site count and checksum.
    fn sealed(body: &str, sites: usize) -> String {
        format!("{body}end {sites} {:016x}\n", fnv1a(body.as_bytes()))
    }

    #[test]
    fn profiles_without_a_measured_parallelism_read_as_the_constant() {
        let text = example().to_text();
        let body = &text[..text.rfind("end ").unwrap()];
        let old = body.replace(" mlp=10.00", "");
        assert!(!old.contains("mlp="), "{old}");
        let p = Profile::parse(&sealed(&old, 2)).unwrap();
        assert_eq!(p.machine.memory_parallelism, MEMORY_LEVEL_PARALLELISM);
        for bad in ["mlp=0.5", "mlp=NaN", "mlp=lots"] {
            let damaged = sealed(&body.replace("mlp=10.00", bad), 2);
            assert!(Profile::parse(&damaged).is_err(), "{bad}");
        }
    }

    #[test]
    fn damage_is_reported_not_accepted() {
        let text = example().to_text();
        for cut in [0, 10, text.len() / 2, text.len() - 5] {
            assert!(Profile::parse(&text[..cut]).is_err(), "cut at {cut}");
        }
        let edited = text.replace("execs=", "execs=9");
        let e = Profile::parse(&edited).unwrap_err();
        assert!(e.message.contains("checksum"), "{e}");
        let v2 = text.replacen("profile 1", "profile 2", 1);
        assert!(Profile::parse(&v2)
            .unwrap_err()
            .message
            .contains("unsupported profile version"));
        assert!(Profile::parse("\u{0}\u{1}binary").is_err());
        let no_site_field = text.replace(" miss=", " mis=");
        assert!(Profile::parse(&no_site_field).is_err());
    }
}
