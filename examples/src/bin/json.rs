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
use hallows_examples::orders::{count_nodes, generate, Order, Status, Summary};
use serde_json::Value;
use std::fmt::Write as _;
use std::process::ExitCode;

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

fn main() -> ExitCode {
    cli::main(&WORKLOAD, run)
}

fn run(options: &Options) -> Result<Report, String> {
    let documents = generate(options.size, options.seed);
    let ((summary, checksum), kernel) = timed(|| process(&documents));
    Ok(summary
        .report(checksum, documents.len())
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

#[cfg(test)]
mod tests {
    use super::*;

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
