//! The CPU topology as Linux describes it under `/sys/devices/system/cpu`, and the neighbourhoods
//! the cellular scheduler derives from it.
//!
//! For every usable CPU we read:
//!
//! * `cpuN/topology/thread_siblings_list` — SMT siblings (hyper-threads sharing one core's L1/L2);
//! * `cpuN/cache/indexK/{level,type,shared_cpu_list}` — which CPUs share the unified or data
//!   cache at each level (L2 and L3 matter to us);
//! * `/sys/devices/system/node/nodeM/cpulist` — the NUMA node.
//!
//! The files' formats are the kernel's ABI (`Documentation/ABI/stable/sysfs-devices-system-cpu`,
//! `Documentation/ABI/testing/sysfs-devices-system-cpu`): CPU lists such as `0-3,8,10-11`.
//!
//! From that, [`Distance`] classifies how far apart two CPUs are, and gives a rough cost of
//! moving one cache line of a task's working set between them. The numbers are order-of-magnitude
//! estimates of a cache-to-cache transfer (Intel Optimization Reference Manual, "Cache hierarchy"
//! latency tables; AMD's Zen software optimization guide gives similar cross-CCX figures): they
//! only have to rank moves, not predict them exactly.
//!
//! When `/sys` cannot be read (containers, non-Linux, Miri's isolation) the topology is *flat*:
//! every CPU is treated as sharing the last-level cache with every other, which is the
//! conservative choice (no move looks cheaper than it is relative to another).

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The root the kernel exposes CPU topology under.
const SYSFS_CPU_ROOT: &str = "/sys/devices/system/cpu";
/// The root the kernel exposes NUMA nodes under.
const SYSFS_NODE_ROOT: &str = "/sys/devices/system/node";
/// Upper bound on CPU numbers we accept from a CPU list, so a corrupt file cannot make us
/// allocate gigabytes (Linux's `NR_CPUS` maximum is 8192).
const MAX_CPU_NUMBER: usize = 8192;

/// An error reading or parsing the topology.
#[derive(Debug)]
pub enum TopologyError {
    /// A sysfs file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
    /// A CPU list (such as `0-3,8`) was malformed.
    BadCpuList {
        /// The text that did not parse.
        text: String,
        /// Why.
        reason: &'static str,
    },
}

impl fmt::Display for TopologyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TopologyError::Io { path, source } => {
                write!(f, "failed to read {}: {source}", path.display())
            }
            TopologyError::BadCpuList { text, reason } => {
                write!(
                    f,
                    "malformed CPU list `{text}`: {reason} (expected e.g. `0-3,8`)"
                )
            }
        }
    }
}

impl std::error::Error for TopologyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TopologyError::Io { source, .. } => Some(source),
            TopologyError::BadCpuList { .. } => None,
        }
    }
}

/// Parses a kernel CPU list such as `0-3,8,10-11` into sorted, deduplicated CPU numbers.
///
/// An empty (or all-whitespace) list is valid and means no CPUs.
///
/// ```
/// use hallows_runtime::scheduler::topology::parse_cpu_list;
/// assert_eq!(parse_cpu_list("0-2,8\n").unwrap(), vec![0, 1, 2, 8]);
/// assert!(parse_cpu_list("3-1").is_err());
/// ```
pub fn parse_cpu_list(text: &str) -> Result<Vec<usize>, TopologyError> {
    let bad = |reason| TopologyError::BadCpuList {
        text: text.trim().to_owned(),
        reason,
    };
    let mut cpus = Vec::new();
    for part in text.trim().split(',') {
        let part = part.trim();
        if part.is_empty() {
            if text.trim().is_empty() {
                continue;
            }
            return Err(bad("empty element"));
        }
        let (lo, hi) = match part.split_once('-') {
            Some((lo, hi)) => (lo.trim(), hi.trim()),
            None => (part, part),
        };
        let lo: usize = lo.parse().map_err(|_| bad("not a CPU number"))?;
        let hi: usize = hi.parse().map_err(|_| bad("not a CPU number"))?;
        if lo > hi {
            return Err(bad("range runs backwards"));
        }
        if hi >= MAX_CPU_NUMBER {
            return Err(bad("CPU number above the kernel's maximum of 8191"));
        }
        cpus.extend(lo..=hi);
    }
    cpus.sort_unstable();
    cpus.dedup();
    Ok(cpus)
}

/// What one CPU shares with others.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CpuPlace {
    /// The CPU number (as used by `sched_setaffinity`).
    pub cpu: usize,
    /// CPUs on the same physical core (including `cpu`).
    pub smt_siblings: Vec<usize>,
    /// CPUs sharing this CPU's L2 cache (including `cpu`); empty if unknown.
    pub l2_shared: Vec<usize>,
    /// CPUs sharing this CPU's L3 cache (including `cpu`); empty if unknown or absent.
    pub l3_shared: Vec<usize>,
    /// The NUMA node (0 when unknown).
    pub node: usize,
}

/// How far apart two CPUs are, nearest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Distance {
    /// The same CPU.
    SameCpu,
    /// Two hardware threads of one core (they share L1 and L2).
    SmtSibling,
    /// Different cores sharing an L2 cache (e.g. Intel E-core clusters).
    SharedL2,
    /// Different cores sharing the last-level L3 cache.
    SharedL3,
    /// Same NUMA node, different last-level caches (e.g. two AMD CCXs).
    SameNode,
    /// Different NUMA nodes.
    RemoteNode,
}

impl Distance {
    /// Rough cost in nanoseconds of pulling one 64-byte line of a task's working set from a cache
    /// at this distance once the task has moved (a cache-to-cache transfer, or a DRAM access for
    /// a remote node).
    pub const fn line_transfer_ns(self) -> u64 {
        match self {
            // Same cache: nothing to move.
            Distance::SameCpu | Distance::SmtSibling => 0,
            // Shared L2: an L1 miss that hits L2, ~4-5 ns.
            Distance::SharedL2 => 4,
            // Shared L3: ~40-70 cycles for an L3 hit/snoop.
            Distance::SharedL3 => 15,
            // Other LLC on the same node: cross-CCX transfer, ~100 ns on Zen 2/3.
            Distance::SameNode => 60,
            // Remote node: remote DRAM or remote cache, ~130+ ns.
            Distance::RemoteNode => 130,
        }
    }

    /// A short lowercase name used in reports.
    pub const fn name(self) -> &'static str {
        match self {
            Distance::SameCpu => "same-cpu",
            Distance::SmtSibling => "smt-sibling",
            Distance::SharedL2 => "shared-l2",
            Distance::SharedL3 => "shared-l3",
            Distance::SameNode => "same-node",
            Distance::RemoteNode => "remote-node",
        }
    }
}

/// The CPUs this process may run on, with what each shares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topology {
    places: Vec<CpuPlace>,
    /// True when read from sysfs, false for the flat fallback.
    detected: bool,
}

impl Topology {
    /// Reads the topology of the CPUs this process may run on from `/sys`.
    ///
    /// Never fails: if sysfs is unreadable the result is [`Topology::flat`] over the CPUs
    /// [`std::thread::available_parallelism`] reports.
    ///
    /// ```
    /// let topo = hallows_runtime::scheduler::topology::Topology::detect();
    /// assert!(topo.len() >= 1);
    /// ```
    pub fn detect() -> Topology {
        let allowed = allowed_cpus();
        match Topology::from_sysfs(
            Path::new(SYSFS_CPU_ROOT),
            Path::new(SYSFS_NODE_ROOT),
            allowed.as_deref(),
        ) {
            Ok(topo) if !topo.places.is_empty() => topo,
            _ => {
                let n = std::thread::available_parallelism().map_or(1, |n| n.get());
                match allowed {
                    Some(cpus) if !cpus.is_empty() => Topology::flat_over(cpus),
                    _ => Topology::flat(n),
                }
            }
        }
    }

    /// Reads the topology from a sysfs-shaped directory tree (`cpu_root` like
    /// `/sys/devices/system/cpu`, `node_root` like `/sys/devices/system/node`), keeping only
    /// `allowed` CPUs when given. Missing cache or node files are tolerated; a missing or
    /// malformed `online` list is an error.
    pub fn from_sysfs(
        cpu_root: &Path,
        node_root: &Path,
        allowed: Option<&[usize]>,
    ) -> Result<Topology, TopologyError> {
        let online = parse_cpu_list(&read(&cpu_root.join("online"))?)?;
        let cpus: Vec<usize> = online
            .into_iter()
            .filter(|c| allowed.is_none_or(|a| a.contains(c)))
            .collect();
        let nodes = read_nodes(node_root);
        let mut places = Vec::with_capacity(cpus.len());
        for &cpu in &cpus {
            let dir = cpu_root.join(format!("cpu{cpu}"));
            let smt_siblings = read(&dir.join("topology/thread_siblings_list"))
                .and_then(|t| parse_cpu_list(&t))
                .unwrap_or_else(|_| vec![cpu]);
            let (l2_shared, l3_shared) = read_caches(&dir.join("cache"));
            let node = nodes
                .iter()
                .find(|(_, list)| list.contains(&cpu))
                .map_or(0, |(n, _)| *n);
            places.push(CpuPlace {
                cpu,
                smt_siblings,
                l2_shared,
                l3_shared,
                node,
            });
        }
        Ok(Topology {
            places,
            detected: true,
        })
    }

    /// A flat topology of `n` CPUs numbered `0..n`, all sharing one last-level cache.
    pub fn flat(n: usize) -> Topology {
        Topology::flat_over((0..n.max(1)).collect())
    }

    fn flat_over(cpus: Vec<usize>) -> Topology {
        let places = cpus
            .iter()
            .map(|&cpu| CpuPlace {
                cpu,
                smt_siblings: vec![cpu],
                l2_shared: vec![cpu],
                l3_shared: cpus.clone(),
                node: 0,
            })
            .collect();
        Topology {
            places,
            detected: false,
        }
    }

    /// Builds a topology from explicit places (for tests and for describing other machines).
    pub fn from_places(places: Vec<CpuPlace>) -> Topology {
        Topology {
            places,
            detected: false,
        }
    }

    /// The usable CPUs, in increasing CPU number.
    pub fn places(&self) -> &[CpuPlace] {
        &self.places
    }

    /// Number of usable CPUs.
    pub fn len(&self) -> usize {
        self.places.len()
    }

    /// True when there are no usable CPUs (never the case for [`Topology::detect`]).
    pub fn is_empty(&self) -> bool {
        self.places.is_empty()
    }

    /// True when this topology was read from sysfs rather than assumed flat.
    pub fn is_detected(&self) -> bool {
        self.detected
    }

    /// The distance between the CPUs at indices `a` and `b` of [`Topology::places`].
    ///
    /// # Panics
    ///
    /// Panics if either index is out of range.
    pub fn distance(&self, a: usize, b: usize) -> Distance {
        let (pa, pb) = (&self.places[a], &self.places[b]);
        if pa.cpu == pb.cpu {
            Distance::SameCpu
        } else if pa.smt_siblings.contains(&pb.cpu) {
            Distance::SmtSibling
        } else if pa.l2_shared.contains(&pb.cpu) {
            Distance::SharedL2
        } else if pa.l3_shared.contains(&pb.cpu) {
            Distance::SharedL3
        } else if pa.node == pb.node {
            Distance::SameNode
        } else {
            Distance::RemoteNode
        }
    }
}

/// Which other workers count as a worker's neighbourhood (the cores it reads the cells of and
/// steals from first).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum NeighbourhoodShape {
    /// Workers on CPUs sharing a cache (SMT siblings, L2 or L3) with this worker's CPU. A worker
    /// with no such worker falls back to its nearest workers (so nobody is isolated).
    #[default]
    SharedCache,
    /// The `k` nearest workers by [`Distance`] (ties broken by worker index).
    Nearest(usize),
    /// Every other worker.
    All,
}

/// Where one worker sits: its CPU, and the other workers ordered by distance, split into its
/// neighbourhood and the rest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerPlace {
    /// The CPU the worker is pinned to (when pinning is enabled).
    pub cpu: usize,
    /// Neighbouring workers, nearest first, with their distance.
    pub neighbours: Vec<(usize, Distance)>,
    /// All other workers, nearest first, with their distance.
    pub far: Vec<(usize, Distance)>,
}

/// Assigns `workers` workers to the topology's CPUs round-robin and computes each one's
/// neighbourhood according to `shape`.
///
/// ```
/// use hallows_runtime::scheduler::topology::{place_workers, NeighbourhoodShape, Topology};
/// let places = place_workers(&Topology::flat(4), 4, NeighbourhoodShape::Nearest(1));
/// assert_eq!(places[0].neighbours.len(), 1);
/// assert_eq!(places[0].far.len(), 2);
/// ```
pub fn place_workers(
    topology: &Topology,
    workers: usize,
    shape: NeighbourhoodShape,
) -> Vec<WorkerPlace> {
    let n_places = topology.len().max(1);
    let flat;
    let topology = if topology.is_empty() {
        flat = Topology::flat(1);
        &flat
    } else {
        topology
    };
    let index_of = |w: usize| w % n_places;
    (0..workers)
        .map(|w| {
            let mut others: Vec<(usize, Distance)> = (0..workers)
                .filter(|&o| o != w)
                .map(|o| (o, topology.distance(index_of(w), index_of(o))))
                .collect();
            // Nearest first; among equals, workers just "after" us first so that two hungry
            // workers do not all hit the same victim.
            others.sort_by_key(|&(o, d)| (d, (o + workers - w) % workers));
            let split = match shape {
                NeighbourhoodShape::All => others.len(),
                NeighbourhoodShape::Nearest(k) => k.min(others.len()),
                NeighbourhoodShape::SharedCache => {
                    let sharing = others
                        .iter()
                        .take_while(|(_, d)| *d <= Distance::SharedL3)
                        .count();
                    if sharing == 0 {
                        others.len().min(1)
                    } else {
                        sharing
                    }
                }
            };
            let far = others.split_off(split);
            WorkerPlace {
                cpu: topology.places[index_of(w)].cpu,
                neighbours: others,
                far,
            }
        })
        .collect()
}

fn read(path: &Path) -> Result<String, TopologyError> {
    fs::read_to_string(path).map_err(|source| TopologyError::Io {
        path: path.to_owned(),
        source,
    })
}

/// Reads `(l2_shared, l3_shared)` from a `cpuN/cache` directory; unknown levels are empty.
fn read_caches(cache_dir: &Path) -> (Vec<usize>, Vec<usize>) {
    let mut l2 = Vec::new();
    let mut l3 = Vec::new();
    let Ok(entries) = fs::read_dir(cache_dir) else {
        return (l2, l3);
    };
    for entry in entries.flatten() {
        let dir = entry.path();
        let is_index = dir
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("index"));
        if !is_index {
            continue;
        }
        let Ok(level) = read(&dir.join("level")) else {
            continue;
        };
        let kind = read(&dir.join("type")).unwrap_or_default();
        if kind.trim() == "Instruction" {
            continue;
        }
        let Ok(shared) = read(&dir.join("shared_cpu_list")).and_then(|t| parse_cpu_list(&t)) else {
            continue;
        };
        match level.trim() {
            "2" => l2 = shared,
            "3" => l3 = shared,
            _ => {}
        }
    }
    (l2, l3)
}

/// Reads `(node, cpus)` for every `nodeM` directory; empty when there is no NUMA information.
fn read_nodes(node_root: &Path) -> Vec<(usize, Vec<usize>)> {
    let Ok(entries) = fs::read_dir(node_root) else {
        return Vec::new();
    };
    let mut nodes = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(number) = name
            .to_str()
            .and_then(|n| n.strip_prefix("node"))
            .and_then(|n| n.parse::<usize>().ok())
        else {
            continue;
        };
        if let Ok(list) = read(&entry.path().join("cpulist")).and_then(|t| parse_cpu_list(&t)) {
            nodes.push((number, list));
        }
    }
    nodes
}

/// The CPUs the calling thread may run on (`sched_getaffinity`), or `None` where unknown.
#[cfg(all(target_os = "linux", not(miri)))]
pub fn allowed_cpus() -> Option<Vec<usize>> {
    // SAFETY: `cpu_set_t` is plain bytes; all-zero is a valid (empty) set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: [1] pid 0 means the calling thread; [2] the size passed is the size of `set`,
    // which the kernel writes at most that many bytes of.
    let rc =
        unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    if rc != 0 {
        return None;
    }
    let max = (8 * std::mem::size_of::<libc::cpu_set_t>()).min(MAX_CPU_NUMBER);
    // SAFETY: `set` is initialised and `c` is below the set's capacity in bits.
    Some(
        (0..max)
            .filter(|&c| unsafe { libc::CPU_ISSET(c, &set) })
            .collect(),
    )
}

/// The CPUs the calling thread may run on, or `None` where unknown.
#[cfg(not(all(target_os = "linux", not(miri))))]
pub fn allowed_cpus() -> Option<Vec<usize>> {
    None
}

/// Pins the calling thread to `cpu` with `sched_setaffinity`.
#[cfg(all(target_os = "linux", not(miri)))]
pub fn pin_current_thread(cpu: usize) -> io::Result<()> {
    if cpu >= 8 * std::mem::size_of::<libc::cpu_set_t>() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("CPU {cpu} is beyond the size of cpu_set_t"),
        ));
    }
    // SAFETY: all-zero is a valid empty `cpu_set_t`.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `cpu` was checked to be below the set's capacity just above.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: [1] pid 0 is the calling thread; [2] `set` is a valid `cpu_set_t` of the size passed.
    let rc = unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Pins the calling thread to `cpu`: unsupported on this platform (or under Miri).
#[cfg(not(all(target_os = "linux", not(miri))))]
pub fn pin_current_thread(cpu: usize) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        format!("cannot pin to CPU {cpu}: thread affinity is only supported on Linux"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_parse_ranges_singles_and_whitespace() {
        assert_eq!(parse_cpu_list("0").unwrap(), vec![0]);
        assert_eq!(
            parse_cpu_list("0-3,8,10-11\n").unwrap(),
            vec![0, 1, 2, 3, 8, 10, 11]
        );
        assert_eq!(parse_cpu_list("5,1-2,2").unwrap(), vec![1, 2, 5]);
        assert_eq!(parse_cpu_list("\n").unwrap(), Vec::<usize>::new());
    }

    #[test]
    fn malformed_cpu_lists_are_errors_with_the_text() {
        for bad in ["a", "1-", "3-1", "1,,2", "99999"] {
            let err = parse_cpu_list(bad).unwrap_err().to_string();
            assert!(err.contains(bad.trim()), "{err}");
        }
    }

    fn place(cpu: usize, smt: &[usize], l2: &[usize], l3: &[usize], node: usize) -> CpuPlace {
        CpuPlace {
            cpu,
            smt_siblings: smt.to_vec(),
            l2_shared: l2.to_vec(),
            l3_shared: l3.to_vec(),
            node,
        }
    }

    /// Two nodes; node 0 has two L3 domains of two SMT cores each... kept small: CPUs 0,1 are
    /// SMT siblings, 2 shares L3 with them, 3 is on another node.
    fn small_machine() -> Topology {
        Topology::from_places(vec![
            place(0, &[0, 1], &[0, 1], &[0, 1, 2], 0),
            place(1, &[0, 1], &[0, 1], &[0, 1, 2], 0),
            place(2, &[2], &[2], &[0, 1, 2], 0),
            place(3, &[3], &[3], &[3], 1),
        ])
    }

    #[test]
    fn distances_rank_smt_then_cache_then_node() {
        let t = small_machine();
        assert_eq!(t.distance(0, 0), Distance::SameCpu);
        assert_eq!(t.distance(0, 1), Distance::SmtSibling);
        assert_eq!(t.distance(0, 2), Distance::SharedL3);
        assert_eq!(t.distance(0, 3), Distance::RemoteNode);
        assert!(Distance::SharedL3.line_transfer_ns() < Distance::RemoteNode.line_transfer_ns());
    }

    #[test]
    fn shared_cache_neighbourhood_excludes_other_nodes() {
        let places = place_workers(&small_machine(), 4, NeighbourhoodShape::SharedCache);
        let ids = |v: &[(usize, Distance)]| v.iter().map(|p| p.0).collect::<Vec<_>>();
        assert_eq!(ids(&places[0].neighbours), vec![1, 2]);
        assert_eq!(ids(&places[0].far), vec![3]);
        // Worker 3 shares nothing: it falls back to its single nearest worker.
        assert_eq!(places[3].neighbours.len(), 1);
        assert_eq!(places[3].far.len(), 2);
    }

    #[test]
    fn more_workers_than_cpus_wrap_around() {
        let places = place_workers(&Topology::flat(2), 3, NeighbourhoodShape::All);
        assert_eq!(places[2].cpu, 0);
        assert_eq!(places[2].neighbours[0], (0, Distance::SameCpu));
    }

    #[test]
    #[cfg_attr(miri, ignore = "writes a directory tree; slow under Miri")]
    fn sysfs_tree_is_read_and_filtered_by_affinity() {
        let root = std::env::temp_dir().join(format!("hallows-topo-{}", std::process::id()));
        let cpu = root.join("cpu");
        let node = root.join("node");
        for c in 0..3 {
            let d = cpu.join(format!("cpu{c}"));
            fs::create_dir_all(d.join("topology")).unwrap();
            fs::write(d.join("topology/thread_siblings_list"), format!("{c}\n")).unwrap();
            for (i, (level, ty, list)) in [
                ("1", "Data", format!("{c}")),
                ("1", "Instruction", "0-2".to_owned()),
                ("2", "Unified", format!("{c}")),
                ("3", "Unified", "0-1".to_owned()),
            ]
            .iter()
            .enumerate()
            {
                let idx = d.join(format!("cache/index{i}"));
                fs::create_dir_all(&idx).unwrap();
                fs::write(idx.join("level"), level).unwrap();
                fs::write(idx.join("type"), ty).unwrap();
                fs::write(idx.join("shared_cpu_list"), list).unwrap();
            }
        }
        fs::write(cpu.join("online"), "0-2\n").unwrap();
        fs::create_dir_all(node.join("node0")).unwrap();
        fs::write(node.join("node0/cpulist"), "0-2\n").unwrap();

        let t = Topology::from_sysfs(&cpu, &node, Some(&[0, 1, 2])).unwrap();
        assert!(t.is_detected());
        assert_eq!(t.places()[0].l3_shared, vec![0, 1]);
        assert_eq!(t.places()[2].l2_shared, vec![2]);
        assert_eq!(t.distance(0, 1), Distance::SharedL3);
        assert_eq!(t.distance(0, 2), Distance::SameNode);

        let filtered = Topology::from_sysfs(&cpu, &node, Some(&[2])).unwrap();
        assert_eq!(filtered.len(), 1);
        assert_eq!(filtered.places()[0].cpu, 2);

        fs::remove_file(cpu.join("online")).unwrap();
        let err = Topology::from_sysfs(&cpu, &node, None).unwrap_err();
        assert!(err.to_string().contains("online"), "{err}");
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn detect_always_yields_at_least_one_cpu() {
        assert!(!Topology::detect().is_empty());
    }
}
