//! keel's integration tests, one module per topic.

mod calls;
mod control;
mod errors;
mod lazy_funcrefs;
mod lazy_tables;
mod memory;
mod memory_images;
mod nan;
mod pooling;
mod profiling;
mod refs;
mod stress;
mod traps;
