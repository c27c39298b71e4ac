//! `rt_json`: the `json` workload with its documents parsed by tasks spawned on the Hallows
//! runtime.
//!
//! Same generated order documents, same per-document work (typed and `Value` parse with
//! serde_json, summary, re-serialisation) and the same result line as `json`; see its module
//! docs for the document shapes. The documents are cut into chunks of [`DOCS_PER_TASK`]; a
//! driver task spawns one task per chunk from a worker, so they land in that worker's local
//! queue and the other workers steal them (the cellular search of
//! `hallows-runtime/src/scheduler/README.md`). Each chunk task returns its partial totals and
//! its documents' outputs; the driver awaits the chunks in document order and feeds the
//! outputs into the order-sensitive checksum, so the checksum is the one `json` prints whatever
//! the number of workers or the order the chunks finished in. The checksum fold is a few
//! multiply-rotates per 8 bytes of output, small beside the two parses and the serialisation.
//!
//! Without `--workers`, the runtime is the one `#[hallows_runtime::main]` builds (one worker per
//! CPU); that attribute fixes the worker count at compile time, so an explicit `--workers N`
//! builds the runtime with [`hallows_runtime::Builder`] instead and runs the same kernel.

mod rt_support;

use hallows_examples::checksum::Checksum;
use hallows_examples::cli::{Timing, Workload};
use hallows_examples::orders::{count_nodes, generate, Order, Status, Summary};
use hallows_runtime::{spawn, Handle, Runtime, RuntimeStats};
use rt_support::{Outcome, RtOptions, Stopwatch};
use serde_json::Value;
use std::fmt::Write as _;
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};

/// Documents one task parses: about half a millisecond of work in a release build, so a task
/// costs far more than its spawn, and the default 100 000 documents make ~1600 tasks to balance.
const DOCS_PER_TASK: usize = 64;

const WORKLOAD: Workload = Workload {
    name: "rt_json",
    about: "serde_json parse, summarise and re-serialise order documents in tasks on the Hallows runtime",
    size_unit: "documents",
    small_size: 200,
    default_size: || 100_000,
    min_size: 1,
    max_size: 1 << 24,
    size_power_of_two: false,
    has_prefetch_variant: false,
};

/// The documents, for [`on_all_cores`]: a `#[hallows_runtime::main]` function takes no
/// arguments.
static DOCUMENTS: OnceLock<Arc<Vec<String>>> = OnceLock::new();

/// What one chunk task hands back: its totals and, per document in order, what `json` feeds
/// into the checksum.
#[derive(Default)]
struct Chunk {
    summary: Summary,
    /// The documents' outputs (re-serialised order or error position), back to back.
    outputs: String,
    /// Per document: the length of its output in `outputs`, and the length of its `Value`
    /// re-serialisation if the generic parse succeeded.
    documents: Vec<(usize, Option<u64>)>,
}

impl Chunk {
    /// Feeds the chunk's documents into `sum`, in order, exactly as `json` does.
    fn fold_into(&self, summary: &mut Summary, sum: &mut Checksum) {
        summary.add(&self.summary);
        let mut at = 0;
        for &(len, value_len) in &self.documents {
            sum.add_bytes(&self.outputs.as_bytes()[at..at + len]);
            at += len;
            if let Some(value_len) = value_len {
                sum.add_u64(value_len);
            }
        }
    }
}

/// The kernel's result: totals, checksum, timing and the runtime's counters.
struct Kernel {
    summary: Summary,
    checksum: u64,
    timing: Timing,
    stats: RuntimeStats,
}

fn main() -> ExitCode {
    rt_support::main(&WORKLOAD, run)
}

fn run(options: &RtOptions) -> Result<Outcome, String> {
    let documents = Arc::new(generate(options.options.size, options.options.seed));
    let count = documents.len();
    let kernel = match options.workers {
        None => {
            DOCUMENTS
                .set(documents)
                .map_err(|_| "the documents were generated twice".to_owned())?;
            on_all_cores()?
        }
        Some(workers) => {
            let runtime = Runtime::builder()
                .workers(workers)
                .build()
                .map_err(|e| format!("failed to start the Hallows runtime: {e}"))?;
            runtime.block_on(kernel(documents))?
        }
    };
    let summary = kernel.summary;
    Ok(Outcome {
        report: summary.report(kernel.checksum, count),
        kernel: kernel.timing,
        stats: kernel.stats,
    })
}

/// The kernel on a runtime with one worker per CPU.
#[hallows_runtime::main]
async fn on_all_cores() -> Result<Kernel, String> {
    let documents = DOCUMENTS
        .get()
        .cloned()
        .ok_or_else(|| "no documents were generated".to_owned())?;
    kernel(documents).await
}

/// Runs [`process`] on the current runtime, timed, and takes the runtime's counters after it.
async fn kernel(documents: Arc<Vec<String>>) -> Result<Kernel, String> {
    let watch = Stopwatch::start();
    let (summary, checksum) = process(documents).await?;
    let timing = watch.stop();
    let stats = Handle::try_current()
        .ok_or_else(|| "the kernel ran outside a Hallows runtime".to_owned())?
        .stats();
    Ok(Kernel {
        summary,
        checksum,
        timing,
        stats,
    })
}

/// Processes every document in tasks of [`DOCS_PER_TASK`] and folds their results in order.
async fn process(documents: Arc<Vec<String>>) -> Result<(Summary, u64), String> {
    // The driver runs on a worker, so the chunk tasks it spawns go to that worker's local queue
    // (stealable), not through the global injector as spawns from `block_on` would.
    let driver = spawn(async move {
        let handles: Vec<_> = (0..documents.len())
            .step_by(DOCS_PER_TASK)
            .map(|start| {
                let documents = Arc::clone(&documents);
                spawn(async move {
                    let end = (start + DOCS_PER_TASK).min(documents.len());
                    process_chunk(&documents[start..end])
                })
            })
            .collect();
        let mut summary = Summary::default();
        let mut sum = Checksum::new();
        for handle in handles {
            let chunk = handle
                .into_result()
                .await
                .map_err(|e| format!("a document task failed: {e}"))?;
            chunk.fold_into(&mut summary, &mut sum);
        }
        Ok::<_, String>((summary, sum.finish()))
    });
    driver
        .into_result()
        .await
        .map_err(|e| format!("the driver task failed: {e}"))?
}

/// `json`'s per-document work for a run of documents.
fn process_chunk(documents: &[String]) -> Chunk {
    let mut chunk = Chunk {
        documents: Vec::with_capacity(documents.len()),
        ..Chunk::default()
    };
    let summary = &mut chunk.summary;
    for doc in documents {
        summary.bytes_in += doc.len() as u64;
        let start = chunk.outputs.len();
        match serde_json::from_str::<Order>(doc) {
            Ok(order) => {
                summary.items += order.items.len() as u64;
                for item in &order.items {
                    summary.revenue_cents +=
                        (item.price * 100.0).round() as u64 * u64::from(item.qty);
                }
                summary.vip_orders += u64::from(order.customer.vip);
                summary.refunded += u64::from(order.status == Status::Refunded);
                // Serialising plain structs into a String cannot fail (`json` prints an empty
                // output if it did, and so does this).
                if let Ok(text) = serde_json::to_string(&order) {
                    chunk.outputs.push_str(&text);
                }
            }
            Err(error) => {
                summary.errors += 1;
                let _ = write!(chunk.outputs, "{}:{}", error.line(), error.column());
            }
        }
        let len = chunk.outputs.len() - start;
        summary.bytes_out += len as u64;
        let value_len = serde_json::from_str::<Value>(doc).ok().map(|value| {
            summary.value_nodes += count_nodes(&value);
            value.to_string().len() as u64
        });
        chunk.documents.push((len, value_len));
    }
    chunk
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `json`'s sequential loop, kept here as the reference the tasks must reproduce.
    fn sequential(documents: &[String]) -> (Summary, u64) {
        let mut summary = Summary::default();
        let mut sum = Checksum::new();
        process_chunk(documents).fold_into(&mut summary, &mut sum);
        (summary, sum.finish())
    }

    #[test]
    fn tasks_fold_to_the_single_chunk_result_for_any_worker_count() {
        let documents = generate(3 * DOCS_PER_TASK + 5, 7);
        let expected = sequential(&documents);
        assert!(expected.0.errors + expected.0.items > 0);
        let documents = Arc::new(documents);
        for workers in [1, 2, 3] {
            let runtime = Runtime::builder()
                .workers(workers)
                .pin(false)
                .report(false)
                .build()
                .unwrap();
            let got = runtime.block_on(process(Arc::clone(&documents))).unwrap();
            assert_eq!(got, expected, "{workers} workers");
        }
    }

    #[test]
    fn chunk_boundaries_do_not_change_the_checksum() {
        let documents = generate(50, 3);
        let whole = sequential(&documents);
        let mut summary = Summary::default();
        let mut sum = Checksum::new();
        for part in documents.chunks(7) {
            process_chunk(part).fold_into(&mut summary, &mut sum);
        }
        assert_eq!((summary, sum.finish()), whole);
    }

    #[test]
    fn malformed_documents_count_as_errors() {
        let documents = vec![r#"{"id":1,"#.to_owned(), "[1,2]".to_owned()];
        let (summary, _) = sequential(&documents);
        assert_eq!((summary.errors, summary.value_nodes), (2, 3));
    }
}
