//! The order documents of the `json` and `rt_json` workloads: their serde types and a
//! deterministic generator of JSON text with a realistic, skewed mix of shapes (see the `json`
//! binary's docs for what it models). Shared so the sequential workload and its runtime port
//! parse exactly the same input.

use crate::cli::Report;
use crate::rng::Rng;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt::Write as _;

/// One document in this many is deliberately malformed.
pub const MALFORMED_ONE_IN: u64 = 500;

/// Totals over all documents; every field goes into the printed result.
#[derive(Default, Debug, PartialEq, Eq)]
pub struct Summary {
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub errors: u64,
    pub items: u64,
    pub revenue_cents: u64,
    pub vip_orders: u64,
    pub value_nodes: u64,
    pub refunded: u64,
}

impl Summary {
    /// Adds another part's totals to these.
    pub fn add(&mut self, other: &Summary) {
        self.bytes_in += other.bytes_in;
        self.bytes_out += other.bytes_out;
        self.errors += other.errors;
        self.items += other.items;
        self.revenue_cents += other.revenue_cents;
        self.vip_orders += other.vip_orders;
        self.value_nodes += other.value_nodes;
        self.refunded += other.refunded;
    }

    /// The result line of `documents` documents with these totals, in the order both the
    /// sequential workload and its runtime port print them.
    pub fn report(&self, checksum: u64, documents: usize) -> Report {
        Report::new(checksum)
            .field("documents", documents)
            .field("bytes_in", self.bytes_in)
            .field("bytes_out", self.bytes_out)
            .field("errors", self.errors)
            .field("items", self.items)
            .field("revenue_cents", self.revenue_cents)
            .field("vip", self.vip_orders)
            .field("refunded", self.refunded)
            .field("value_nodes", self.value_nodes)
    }
}

/// An order, as the typed parse sees it.
#[derive(Debug, Serialize, Deserialize)]
pub struct Order {
    pub id: u64,
    pub customer: Customer,
    pub items: Vec<Item>,
    #[serde(default)]
    pub note: Option<String>,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra: Option<Value>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Customer {
    pub name: String,
    pub email: String,
    pub vip: bool,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Item {
    pub sku: String,
    pub qty: u32,
    pub price: f64,
    #[serde(default)]
    pub tags: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Paid,
    Shipped,
    Pending,
    Refunded,
}

pub fn count_nodes(value: &Value) -> u64 {
    1 + match value {
        Value::Array(items) => items.iter().map(count_nodes).sum(),
        Value::Object(map) => map.values().map(count_nodes).sum(),
        _ => 0,
    }
}

/// Writes `text` as a JSON string literal, escaping what JSON requires.
pub fn push_string(doc: &mut String, text: &str) {
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

pub const FIRST_NAMES: [&str; 8] = [
    "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Niklaus",
];
pub const LAST_NAMES: [&str; 8] = [
    "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Wirth",
];
pub const TAGS: [&str; 6] = ["gift", "fragile", "express", "bulk", "sale", "eco"];
pub const NOTES: [&str; 5] = [
    "leave at the door",
    "call \"before\" delivery",
    "fragile:\nhandle with care",
    "Zürich office, 3rd floor",
    "tab\tseparated\\path",
];

/// Random order documents (about 1 in [`MALFORMED_ONE_IN`] malformed).
pub fn generate(n: usize, seed: u64) -> Vec<String> {
    let mut rng = Rng::new(seed);
    (0..n).map(|i| generate_one(&mut rng, i as u64)).collect()
}

pub fn generate_one(rng: &mut Rng, id: u64) -> String {
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
}
