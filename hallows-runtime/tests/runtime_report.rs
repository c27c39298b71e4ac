//! At shutdown the runtime writes its per-core counters as report records
//! (docs/REPORT_FORMAT.md) into `$HALLOWS_REPORT_DIR/runtime-<pid>.jsonl`.
//! One test per binary: it sets a process-wide environment variable.

use hallows_runtime::{spawn, Runtime};

#[cfg_attr(miri, ignore = "writes files; Miri isolates the file system")]
#[test]
fn shutdown_writes_one_record_per_worker_plus_a_total() {
    let dir = std::env::temp_dir().join(format!("hallows-report-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::env::set_var("HALLOWS_REPORT_DIR", &dir);
    for _ in 0..2 {
        let rt = Runtime::builder().workers(2).build().unwrap();
        rt.block_on(async {
            let hs: Vec<_> = (0..100).map(|i| spawn(async move { i })).collect();
            for h in hs {
                h.await;
            }
        });
    }
    std::env::remove_var("HALLOWS_REPORT_DIR");
    let path = dir.join(format!("runtime-{}.jsonl", std::process::id()));
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // Two runtimes, each 2 workers + 1 total.
    assert_eq!(lines.len(), 6, "{text}");
    for line in &lines {
        assert!(line.starts_with("{\"schema\":1,\"producer\":\"runtime\",\"pass\":\"scheduler\","));
        assert!(line.contains("\"action\":\"counters\""));
        assert!(line.contains("\"data\":{"));
        assert!(line.contains("\"steals\":"));
        assert!(line.contains("\"migrations\":"));
        assert!(line.contains("\"transitions\":"));
    }
    assert!(lines[0].contains("\"function\":\"worker-0\""));
    assert!(lines[2].contains("\"function\":\"runtime\""));
    assert!(
        lines[2].contains("\"crate\":\"runtime_report\""),
        "{}",
        lines[2]
    );
    // No temporary files are left behind.
    let leftovers = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(leftovers, 1);
    std::fs::remove_dir_all(&dir).unwrap();
}
