//! Queues: the bounded MPSC queue ([`mpsc`]) used for cross-core messages, and the scheduler's
//! work-stealing deque and global injector (added by the scheduler modules).

pub mod injector;
pub mod local;
pub mod mpsc;
