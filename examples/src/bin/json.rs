//! `json`: parse, summarise and re-serialise generated JSON documents with serde_json.
//!
//! Models the request-handling core of a web service: each document is an e-commerce order
//! (customer, line items with tags, optional note and free-form `extra` data), in the shape of
//! the JSON benchmarks of Langdale & Lemire ("Parsing Gigabytes of JSON per Second", VLDB
//! Journal 2019) and the `json-benchmark` corpus used by serde_json. Every document is parsed
//! twice with serde_json (into typed structs through `#[derive(Deserialize)]` and into a generic
//! `Value` tree), summarised, and re-serialised. The input mixes common shapes with rare ones —
//! escaped and non-ASCII strings, exponent numbers, nested `extra` objects — and one document
//! in 500 is malformed and goes through serde_json's error path, so the branch profile is
//! skewed the way real traffic is.

use hallows_examples::checksum::Checksum;
use hallows_examples::cli::{self, timed, Options, Report, Workload};
use hallows_examples::rng::Rng;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt::Write as _;
use std::process::ExitCode;

/// One document in this many is deliberately malformed.
const MALFORMED_ONE_IN: u64 = 500;

const WORKLOAD: Workload = Workload {
    name: "json",
    about: "serde_json parse (typed and Value), summarise and re-serialise order documents",
    size_unit: "documents",
    small_size: 200,
    default_size: || 100_000,
    min_size: 1,
    max_size: 1 << 24,
    size_power_of_two: false,
    has_prefetch_variant: false,
};

/// An order, as the typed parse sees it.
#[derive(Debug, Serialize, Deserialize)]
struct Order {
    id: u64,
    customer: Customer,
    items: Vec<Item>,
    #[serde(default)]
    note: Option<String>,
    status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    extra: Option<Value>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Customer {
    name: String,
    email: String,
    vip: bool,
}

#[derive(Debug, Serialize, Deserialize)]
struct Item {
    sku: String,
    qty: u32,
    price: f64,
    #[serde(default)]
    tags: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum Status {
    Paid,
    Shipped,
    Pending,
    Refunded,
}

/// Totals over all documents; every field goes into the printed result.
#[derive(Default)]
struct Summary {
    bytes_in: u64,
    bytes_out: u64,
    errors: u64,
    items: u64,
    revenue_cents: u64,
    vip_orders: u64,
    value_nodes: u64,
    refunded: u64,
}

fn main() -> ExitCode {
    cli::main(&WORKLOAD, run)
}

fn run(options: &Options) -> Result<Report, String> {
    let documents = generate(options.size, options.seed);
    let ((summary, checksum), kernel) = timed(|| process(&documents));
    Ok(Report::new(checksum)
        .field("documents", documents.len())
        .field("bytes_in", summary.bytes_in)
        .field("bytes_out", summary.bytes_out)
        .field("errors", summary.errors)
        .field("items", summary.items)
        .field("revenue_cents", summary.revenue_cents)
        .field("vip", summary.vip_orders)
        .field("refunded", summary.refunded)
        .field("value_nodes", summary.value_nodes)
        .kernel_time(kernel))
}

fn process(documents: &[String]) -> (Summary, u64) {
    let mut summary = Summary::default();
    let mut sum = Checksum::new();
    let mut out = String::new();
    for doc in documents {
        summary.bytes_in += doc.len() as u64;
        match serde_json::from_str::<Order>(doc) {
            Ok(order) => {
                summary.items += order.items.len() as u64;
                for item in &order.items {
                    summary.revenue_cents +=
                        (item.price * 100.0).round() as u64 * u64::from(item.qty);
                }
                summary.vip_orders += u64::from(order.customer.vip);
                summary.refunded += u64::from(order.status == Status::Refunded);
                out.clear();
                // Serialising plain structs into a String cannot fail.
                if let Ok(text) = serde_json::to_string(&order) {
                    out = text;
                }
            }
            Err(error) => {
                summary.errors += 1;
                out.clear();
                let _ = write!(out, "{}:{}", error.line(), error.column());
            }
        }
        summary.bytes_out += out.len() as u64;
        sum.add_bytes(out.as_bytes());
        if let Ok(value) = serde_json::from_str::<Value>(doc) {
            summary.value_nodes += count_nodes(&value);
            let text = value.to_string();
            sum.add_u64(text.len() as u64);
        }
    }
    (summary, sum.finish())
}

fn count_nodes(value: &Value) -> u64 {
    1 + match value {
        Value::Array(items) => items.iter().map(count_nodes).sum(),
        Value::Object(map) => map.values().map(count_nodes).sum(),
        _ => 0,
    }
}

/// Writes `text` as a JSON string literal, escaping what JSON requires.
fn push_string(doc: &mut String, text: &str) {
    doc.push('"');
    for c in text.chars() {
        match c {
            '"' => doc.push_str("\\\""),
            '\\' => doc.push_str("\\\\"),
            '\n' => doc.push_str("\\n"),
            '\t' => doc.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(doc, "\\u{:04x}", c as u32);
            }
            c => doc.push(c),
        }
    }
    doc.push('"');
}

const FIRST_NAMES: [&str; 8] = [
    "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Niklaus",
];
const LAST_NAMES: [&str; 8] = [
    "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Wirth",
];
const TAGS: [&str; 6] = ["gift", "fragile", "express", "bulk", "sale", "eco"];
const NOTES: [&str; 5] = [
    "leave at the door",
    "call \"before\" delivery",
    "fragile:\nhandle with care",
    "Zürich office, 3rd floor",
    "tab\tseparated\\path",
];

/// Random order documents (about 1 in [`MALFORMED_ONE_IN`] malformed).
fn generate(n: usize, seed: u64) -> Vec<String> {
    let mut rng = Rng::new(seed);
    (0..n).map(|i| generate_one(&mut rng, i as u64)).collect()
}

fn generate_one(rng: &mut Rng, id: u64) -> String {
    let mut doc = String::with_capacity(512);
    let first = FIRST_NAMES[rng.below_usize(FIRST_NAMES.len())];
    let last = LAST_NAMES[rng.below_usize(LAST_NAMES.len())];
    let _ = write!(doc, "{{\"id\":{id},\"customer\":{{\"name\":");
    push_string(&mut doc, &format!("{first} {last}"));
    doc.push_str(",\"email\":");
    push_string(
        &mut doc,
        &format!(
            "{}.{}{}@example.org",
            first.to_lowercase(),
            last.to_lowercase(),
            rng.below(100)
        ),
    );
    let _ = write!(doc, ",\"vip\":{}}},\"items\":[", rng.chance(1, 10));
    let items = 1 + rng.below(6) + if rng.chance(1, 20) { rng.below(30) } else { 0 };
    for k in 0..items {
        if k > 0 {
            doc.push(',');
        }
        let _ = write!(
            doc,
            "{{\"sku\":\"{}{}-{:04}\",\"qty\":{},\"price\":",
            (b'A' + rng.below(26) as u8) as char,
            (b'A' + rng.below(26) as u8) as char,
            rng.below(10_000),
            {
                let bulk = rng.chance(1, 8);
                1 + rng.below(if bulk { 100 } else { 4 })
            }
        );
        let cents = 99 + rng.below(50_000);
        if rng.chance(1, 50) {
            // Rare: the same kind of number in exponent form.
            let _ = write!(doc, "{}e-2", cents);
        } else {
            let _ = write!(doc, "{}.{:02}", cents / 100, cents % 100);
        }
        if rng.chance(2, 3) {
            doc.push_str(",\"tags\":[");
            for t in 0..1 + rng.below(3) {
                if t > 0 {
                    doc.push(',');
                }
                push_string(&mut doc, TAGS[rng.below_usize(TAGS.len())]);
            }
            doc.push(']');
        }
        doc.push('}');
    }
    doc.push(']');
    if rng.chance(1, 4) {
        doc.push_str(",\"note\":");
        push_string(&mut doc, NOTES[rng.below_usize(NOTES.len())]);
    } else if rng.chance(1, 10) {
        doc.push_str(",\"note\":null");
    }
    let status = ["paid", "shipped", "pending", "refunded"][match rng.below(100) {
        0..=59 => 0,
        60..=89 => 1,
        90..=97 => 2,
        _ => 3,
    }];
    let _ = write!(doc, ",\"status\":\"{status}\"");
    if rng.chance(1, 30) {
        let _ = write!(doc, ",\"extra\":{{\"source\":\"api\",\"retries\":{},\"trace\":[{},{},null,true],\"geo\":{{\"lat\":{}.{},\"lon\":-{}.{}}}}}",
            rng.below(5), rng.below(1000), rng.below(1000), rng.below(90), rng.below(1000), rng.below(180), rng.below(1000));
    }
    doc.push('}');
    if rng.chance(1, MALFORMED_ONE_IN) {
        // Rare: a truncated or corrupted document.
        let cut = 1 + rng.below_usize(doc.len() - 1);
        doc.truncate(cut);
        while !doc.is_char_boundary(doc.len()) {
            doc.pop();
        }
        doc.push_str(if rng.chance(1, 2) { "" } else { ",}" });
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_documents_are_valid_json_except_the_malformed_ones() {
        let mut rng = Rng::new(9);
        let docs: Vec<String> = (0..2000).map(|i| generate_one(&mut rng, i)).collect();
        let valid = docs
            .iter()
            .filter(|d| serde_json::from_str::<Order>(d).is_ok())
            .count();
        let generic = docs
            .iter()
            .filter(|d| serde_json::from_str::<Value>(d).is_ok())
            .count();
        assert_eq!(valid, generic, "typed and generic parses disagree");
        assert!((1980..2000).contains(&valid), "{valid} of 2000 parsed");
    }

    #[test]
    fn escapes_round_trip() {
        let mut doc = String::new();
        push_string(&mut doc, "a\"b\\c\nd\te\u{1}Zürich");
        let back: String = serde_json::from_str(&doc).unwrap();
        assert_eq!(back, "a\"b\\c\nd\te\u{1}Zürich");
    }

    #[test]
    fn revenue_counts_every_item() {
        let doc = r#"{"id":1,"customer":{"name":"A","email":"a@b","vip":true},
            "items":[{"sku":"X","qty":2,"price":1.25},{"sku":"Y","qty":1,"price":1e1}],
            "status":"paid"}"#;
        let (summary, _) = process(&[doc.to_owned()]);
        assert_eq!(
            (summary.items, summary.revenue_cents, summary.vip_orders),
            (2, 1250, 1)
        );
    }
}
