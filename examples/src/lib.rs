//! Shared helpers of the example workloads.
