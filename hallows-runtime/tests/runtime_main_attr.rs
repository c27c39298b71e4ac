//! `#[hallows_runtime::main]` turns an `async fn` into a blocking one running on the runtime.

#[hallows_runtime::main(workers = 2, pin = false)]
async fn compute() -> u64 {
    let handles: Vec<_> = (1..=10_u64)
        .map(|i| hallows_runtime::spawn(async move { i * i }))
        .collect();
    let mut sum = 0;
    for h in handles {
        sum += h.await;
    }
    // Fork-join works inside it too.
    let (a, b) = hallows_runtime::join(|| 1, || 2);
    sum + a + b
}

#[hallows_runtime::main]
async fn defaults() -> Result<usize, String> {
    Ok(hallows_runtime::Handle::try_current()
        .ok_or("no runtime context")?
        .stats()
        .workers
        .len())
}

#[test]
fn the_attribute_runs_the_body_on_a_runtime() {
    assert_eq!(compute(), 385 + 3);
    assert!(defaults().unwrap() >= 1);
}
