//! Reading report records: de-duplication across re-split codegen units, filters, corrupt lines,
//! other schemas, and the table and JSON renderings.

use cargo_hallows::report::{self, Filter, Record, Reports};
use serde_json::json;
use std::path::PathBuf;

fn line(krate: &str, function: &str, pass: &str, symbol: &str, action: &str, ts_ms: u64) -> String {
    line_in(
        &format!("{krate}.cgu"),
        krate,
        function,
        pass,
        symbol,
        action,
        ts_ms,
    )
}

fn line_in(
    module: &str,
    krate: &str,
    function: &str,
    pass: &str,
    symbol: &str,
    action: &str,
    ts_ms: u64,
) -> String {
    json!({
        "schema": 1, "producer": "plugin", "pass": pass, "crate": krate, "module": module,
        "function": function, "symbol": symbol, "action": action, "reason": format!("{action} because"),
        "data": {"blocks": 3, "name": "x"}, "ts_ms": ts_ms, "future_field": true
    })
    .to_string()
}

fn reports(files: &[&[String]]) -> Reports {
    let mut reports = Reports::default();
    for (i, lines) in files.iter().enumerate() {
        reports.files.push(PathBuf::from(format!("f{i}.jsonl")));
        reports.add_text(i, &lines.join("\n"));
    }
    reports
}

fn functions(records: &[&Record]) -> Vec<String> {
    records
        .iter()
        .map(|r| format!("{}:{}:{}", r.function, r.action, r.ts_ms))
        .collect()
}

/// The functions of the records `filter` selects, in order.
fn matching(records: &[&Record], filter: &Filter) -> Vec<String> {
    records
        .iter()
        .filter(|r| filter.matches(r))
        .map(|r| r.function.clone())
        .collect()
}

#[test]
fn older_file_of_a_re_split_codegen_unit_is_dropped() {
    let sym = "_ZN3app1f17h0123456789abcdefE";
    let old = [
        line_in(
            "app.0123456789abcdef-cgu.1",
            "app",
            "app::f",
            "hallows-railway",
            sym,
            "unchanged",
            100,
        ),
        line_in(
            "app.0123456789abcdef-cgu.1",
            "app",
            "app::g",
            "hallows-railway",
            "g",
            "unchanged",
            100,
        ),
    ];
    let new = [line_in(
        "app.0123456789abcdef-cgu.0",
        "app",
        "app::f",
        "hallows-railway",
        sym,
        "reordered",
        200,
    )];
    let reports = reports(&[&old, &new]);
    let kept = reports.deduplicated();
    assert_eq!(
        functions(&kept),
        ["app::g:unchanged:100", "app::f:reordered:200"]
    );
}

#[test]
fn files_of_an_older_build_of_a_crate_are_dropped() {
    // One railway record in a module `<crate>.<hash>-cgu.0`, one file per module as the plugin writes.
    let rec = |krate: &str, hash: &str, function: &str, ts: u64| {
        let module = format!("{krate}.{hash}-cgu.0");
        [line_in(
            &module,
            krate,
            function,
            "hallows-railway",
            function,
            "done",
            ts,
        )]
    };
    let old = rec("app", "00000000000000aa", "app::gone", 100);
    let dep = rec("dep", "00000000000000dd", "dep::kept", 100);
    let new = rec("app", "00000000000000bb", "app::f", 300);
    // Another build of `app` within the latest run (other features) is kept.
    let sibling = rec("app", "00000000000000cc", "app::h", 250);
    let mut reports = reports(&[&old, &dep, &new, &sibling]);
    reports.build_start_ms = Some(200);
    assert_eq!(
        functions(&reports.deduplicated()),
        ["dep::kept:done:100", "app::f:done:300", "app::h:done:250"]
    );
    // Without knowing when the latest build started, nothing is dropped.
    reports.build_start_ms = None;
    assert_eq!(reports.deduplicated().len(), 4);
}

#[test]
fn crate_hashes_are_read_from_module_names() {
    assert_eq!(
        report::module_crate_hash("app.0123456789abcdef-cgu.3"),
        Some(("app", "0123456789abcdef"))
    );
    assert_eq!(
        report::module_crate_hash(
            "/t/release/deps/my_app-6e6763f78037a368.my_app.31f7fb8b94b9b2a8-cgu.0.rcgu.o"
        ),
        Some(("my_app", "31f7fb8b94b9b2a8"))
    );
    assert_eq!(report::module_crate_hash("probe.ll"), None);
    assert_eq!(report::module_crate_hash("x.nothexnothexnoth-cgu.0"), None);
    assert_eq!(report::module_crate_hash(""), None);
}

#[test]
fn several_records_of_one_function_in_the_newest_file_are_all_kept() {
    let file = [
        line("app", "app::f", "hallows-prefetch", "s", "inserted", 5),
        line("app", "app::f", "hallows-prefetch", "s", "skipped", 6),
    ];
    let reports = reports(&[&file]);
    assert_eq!(reports.deduplicated().len(), 2);
}

#[test]
fn same_function_for_other_passes_or_crates_is_kept() {
    let a = [line(
        "app",
        "app::f",
        "hallows-railway",
        "s",
        "reordered",
        1,
    )];
    let b = [
        line("app", "app::f", "hallows-inventory", "s", "analyzed", 2),
        line("lib", "app::f", "hallows-railway", "s", "unchanged", 3),
    ];
    assert_eq!(reports(&[&a, &b]).deduplicated().len(), 3);
}

#[test]
fn corrupt_lines_and_other_schemas_warn_and_are_skipped() {
    let file = [
        line("app", "app::f", "hallows-railway", "s", "reordered", 1),
        "{not json".to_string(),
        json!({"schema": 2, "whatever": 1}).to_string(),
        json!({"schema": 1, "pass": "x"}).to_string(),
    ];
    let reports = reports(&[&file]);
    assert_eq!(reports.records.len(), 1);
    assert_eq!(reports.warnings.len(), 3, "{:?}", reports.warnings);
    assert!(reports.warnings[0].contains("f0.jsonl:2") && reports.warnings[0].contains("corrupt"));
    assert!(reports.warnings[1].contains("schema 2"));
}

#[test]
fn filters_select_crate_function_and_pass() {
    let file = [
        line(
            "app",
            "app::parse_number",
            "hallows-railway",
            "a",
            "reordered",
            1,
        ),
        line("app", "app::main", "hallows-prefetch", "b", "inserted", 1),
        line("dep", "dep::parse", "hallows-railway", "c", "unchanged", 1),
    ];
    let reports = reports(&[&file]);
    let all = reports.deduplicated();
    let pick = |filter: Filter| matching(&all, &filter);
    assert_eq!(
        pick(Filter {
            krate: Some("app".into()),
            ..Filter::default()
        }),
        ["app::parse_number", "app::main"]
    );
    assert_eq!(
        pick(Filter {
            function: Some("parse".into()),
            ..Filter::default()
        }),
        ["app::parse_number", "dep::parse"]
    );
    assert_eq!(
        pick(Filter {
            pass: Some("railway".into()),
            ..Filter::default()
        }),
        ["app::parse_number", "dep::parse"]
    );
    assert_eq!(
        pick(Filter {
            pass: Some("hallows-prefetch".into()),
            ..Filter::default()
        }),
        ["app::main"]
    );
    assert!(pick(Filter {
        krate: Some("ap".into()),
        ..Filter::default()
    })
    .is_empty());
}

#[test]
fn crate_filter_includes_other_crates_functions_compiled_in_it() {
    let file = [
        line_in(
            "app.0123456789abcdef-cgu.2",
            "app",
            "app::run",
            "hallows-prefetch",
            "a",
            "inserted",
            1,
        ),
        // A generic instance of alloc's code, monomorphised in app's codegen unit.
        line_in(
            "app.0123456789abcdef-cgu.2",
            "alloc",
            "<alloc::vec::Vec<T>>::extend",
            "hallows-prefetch",
            "b",
            "inserted",
            1,
        ),
        line_in(
            "dep.fedcba9876543210-cgu.0",
            "dep",
            "dep::parse",
            "hallows-prefetch",
            "c",
            "skipped",
            1,
        ),
    ];
    let reports = reports(&[&file]);
    let mut all = reports.deduplicated();
    report::sort_for_display(&mut all);
    let pick = |krate: &str| {
        let filter = Filter {
            krate: Some(krate.into()),
            ..Filter::default()
        };
        matching(&all, &filter)
    };
    assert_eq!(pick("app"), ["<alloc::vec::Vec<T>>::extend", "app::run"]);
    assert_eq!(pick("alloc"), ["<alloc::vec::Vec<T>>::extend"]);
    assert_eq!(pick("dep"), ["dep::parse"]);
    let table = report::render_table(&all);
    assert!(
        table.lines().any(|l| l.starts_with("alloc (in app) ")),
        "{table}"
    );
    assert!(table.lines().any(|l| l.starts_with("app ")), "{table}");
}

#[test]
fn table_is_aligned_and_sorted() {
    let file = [
        line("zeta", "zeta::f", "hallows-railway", "a", "reordered", 1),
        line(
            "app",
            "app::a_rather_long_function_name",
            "hallows-inventory",
            "b",
            "analyzed",
            1,
        ),
    ];
    let reports = reports(&[&file]);
    let mut records = reports.deduplicated();
    report::sort_for_display(&mut records);
    let table = report::render_table(&records);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3);
    assert!(lines[0].starts_with("CRATE"));
    assert!(lines[1].starts_with("app "));
    assert!(lines[2].starts_with("zeta"));
    let column = |l: &str, word: &str| l.find(word).unwrap();
    assert_eq!(
        column(lines[0], "PASS"),
        column(lines[1], "hallows-inventory")
    );
    assert_eq!(
        column(lines[0], "PASS"),
        column(lines[2], "hallows-railway")
    );
    assert!(
        lines[2].contains("reordered because [blocks=3 name=x]"),
        "{table}"
    );
}

#[test]
fn json_output_is_one_record_per_line() {
    let file = [line(
        "app",
        "app::f",
        "hallows-railway",
        "a",
        "reordered",
        7,
    )];
    let reports = reports(&[&file]);
    let text = report::render_json(&reports.deduplicated()).unwrap();
    assert_eq!(text.lines().count(), 1);
    let back: Record = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(back.krate, "app");
    assert_eq!(back.ts_ms, 7);
    assert!(text.contains("\"crate\":\"app\""));
}

#[test]
fn long_function_names_are_shortened_in_the_middle() {
    let name = format!("app::{}::end", "x".repeat(100));
    let file = [line("app", &name, "hallows-railway", "a", "reordered", 1)];
    let reports = reports(&[&file]);
    let table = report::render_table(&reports.deduplicated());
    assert!(
        table.contains("app::xx") && table.contains("…") && table.contains("x::end"),
        "{table}"
    );
}
