//! Loom models of the bounded MPSC queue (run by scripts/checks/loom.sh).
#![cfg(loom)]

use hallows_runtime::queue::mpsc::{self, PushError};
use loom::thread;

#[test]
fn two_producers_each_value_received_once() {
    loom::model(|| {
        let (tx, mut rx) = mpsc::bounded::<u32>(2).unwrap();
        let tx2 = tx.clone();
        let a = thread::spawn(move || tx.try_push(1).unwrap());
        let b = thread::spawn(move || tx2.try_push(2).unwrap());
        let mut got = Vec::new();
        while got.len() < 2 {
            match rx.pop() {
                Some(v) => got.push(v),
                None => thread::yield_now(),
            }
        }
        a.join().unwrap();
        b.join().unwrap();
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
        assert_eq!(rx.pop(), None);
    });
}

#[test]
fn blocking_push_is_woken_by_pop() {
    loom::model(|| {
        let (tx, mut rx) = mpsc::bounded::<u32>(2).unwrap();
        // Two slots: the third push must wait for a pop.
        let producer = thread::spawn(move || {
            for v in 1..=3 {
                tx.push(v).unwrap();
            }
        });
        let mut got = Vec::new();
        while got.len() < 3 {
            match rx.pop() {
                Some(v) => got.push(v),
                None => thread::yield_now(),
            }
        }
        producer.join().unwrap();
        assert_eq!(got, [1, 2, 3]);
    });
}

#[test]
fn dropping_the_consumer_releases_a_blocked_producer() {
    loom::model(|| {
        let (tx, rx) = mpsc::bounded::<u32>(2).unwrap();
        tx.try_push(1).unwrap();
        tx.try_push(2).unwrap();
        let producer = thread::spawn(move || tx.push(3));
        drop(rx);
        let result = producer.join().unwrap();
        assert!(matches!(result, Err(PushError::Disconnected(3))));
    });
}

#[test]
fn blocking_pop_sees_every_value_then_disconnection() {
    loom::model(|| {
        let (tx, mut rx) = mpsc::bounded::<u32>(2).unwrap();
        let producer = thread::spawn(move || {
            for v in 1..=3 {
                tx.push(v).unwrap();
            }
        });
        let mut got = Vec::new();
        while let Some(v) = rx.pop_blocking() {
            got.push(v);
        }
        producer.join().unwrap();
        assert_eq!(got, [1, 2, 3]);
    });
}

/// Two producers with the blocking `push`, the consumer with `pop_blocking`: the consumer
/// parks, and exactly one producer's `swap` of `consumer_parked` must wake it; the budget code
/// runs with loom's tick clock (module docs, "Waiting").
#[test]
fn two_producers_wake_a_parked_consumer() {
    loom::model(|| {
        let (tx, mut rx) = mpsc::bounded::<u32>(2).unwrap();
        let tx2 = tx.clone();
        let a = thread::spawn(move || tx.push(1).unwrap());
        let b = thread::spawn(move || tx2.push(2).unwrap());
        let mut got = Vec::new();
        while let Some(v) = rx.pop_blocking() {
            got.push(v);
        }
        a.join().unwrap();
        b.join().unwrap();
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
    });
}

/// A full queue with two parked producers: one batch pop frees both slots and must wake both
/// (`notify_all`, issued after releasing the parking mutex).
#[test]
fn batch_pop_wakes_every_parked_producer() {
    loom::model(|| {
        let (tx, mut rx) = mpsc::bounded::<u32>(2).unwrap();
        tx.try_push(1).unwrap();
        tx.try_push(2).unwrap();
        let tx2 = tx.clone();
        let a = thread::spawn(move || tx.push(3).unwrap());
        let b = thread::spawn(move || tx2.push(4).unwrap());
        let mut got = Vec::new();
        while got.len() < 4 {
            if rx.pop_batch(2, |v| got.push(v)) == 0 {
                thread::yield_now();
            }
        }
        a.join().unwrap();
        b.join().unwrap();
        assert_eq!(got[..2], [1, 2]);
        got.sort_unstable();
        assert_eq!(got, [1, 2, 3, 4]);
    });
}
